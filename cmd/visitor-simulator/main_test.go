package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
)

func TestRunRejects(t *testing.T) {
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"non-loopback listen", []string{"--token", "t", "--listen", "0.0.0.0:0"}, "not loopback"},
		{"all interfaces", []string{"--token", "t", "--listen", ":8080"}, "not loopback"},
		{"no token", []string{}, "need --token"},
		{"client id without secret", []string{"--client-id", "c"}, "need --token"},
		{"bad error rate", []string{"--token", "t", "--error-rate", "500:0.2"}, "--error-rate"},
		{"error rate over 1", []string{"--token", "t", "--error-rate", "500=2"}, "--error-rate"},
		{"drop rate over 1", []string{"--token", "t", "--drop-rate", "1.5"}, "--drop-rate"},
		{"unknown flag", []string{"--nope"}, "nope"},
		{"stray argument", []string{"--token", "t", "extra"}, "unexpected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SIM_TOKEN", "")
			var out, errb bytes.Buffer
			if code := run(tc.args, &out, &errb); code != 2 {
				t.Fatalf("exit %d, want 2; stderr %s", code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.msg) {
				t.Fatalf("stderr %q does not say %q", errb.String(), tc.msg)
			}
			if out.Len() != 0 {
				t.Fatalf("stdout %q", out.String())
			}
		})
	}
}

func TestParseErrorRate(t *testing.T) {
	got, err := parseErrorRate("500=0.2, 503=0.1")
	if err != nil || len(got) != 2 || got[500] != 0.2 || got[503] != 0.1 {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"500", "abc=0.1", "200=0.1", "500=x", "500=-0.1"} {
		if _, err := parseErrorRate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRunServesUntilSignal(t *testing.T) {
	t.Setenv("SIM_TOKEN", "env-token")
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"--default-location", "Lisbon", "--max-results", "10"}, pw, &errb)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/scim/v2") {
		t.Fatalf("first line %q", line)
	}
	for _, tc := range []struct {
		token string
		want  int
	}{{"env-token", 200}, {"wrong", 401}} {
		req, _ := http.NewRequest("GET", url+"/Locations", nil)
		req.Header.Set("Authorization", "Bearer "+tc.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("token %s: status %d", tc.token, resp.StatusCode)
		}
		if tc.want == 200 && !strings.Contains(string(body), `"name":"Lisbon"`) {
			t.Fatalf("body %s", body)
		}
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Contains(errb.String(), "env-token") {
		t.Fatal("token in stderr")
	}
}
