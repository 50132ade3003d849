package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"condeco-visitor-sync/visitor/simulator"
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
		{"malformed rate below 0", []string{"--token", "t", "--malformed-rate", "-0.1"}, "--malformed-rate"},
		{"error rates add up over 1", []string{"--token", "t", "--error-rate", "500=0.6,503=0.6"}, "add up"},
		{"unknown fault method", []string{"--token", "t", "--fault-methods", "POST,GRAB"}, "GRAB"},
		{"negative latency", []string{"--token", "t", "--latency", "-1s"}, "negative"},
		{"negative rate burst", []string{"--token", "t", "--rate-burst", "-1"}, "negative"},
		{"unknown flag", []string{"--nope"}, "nope"},
		{"stray argument", []string{"--token", "t", "extra"}, "unexpected"},
		{"unknown api", []string{"--token", "t", "--api", "scim1"}, `--api "scim1"`},
		{"generic patch on scim2", []string{"--token", "t", "--generic-patch"}, "--generic-patch needs --api generic-v1"},
		{"generic without a token", []string{"--api", "generic-v1"}, "needs --token"},
		{"generic with the token endpoint", []string{"--api", "generic-v1", "--token", "t", "--client-id", "c", "--client-secret", "s"}, "no token endpoint"},
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
	url, api, ok := startLine(line)
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/scim/v2") || api != "scim2" {
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

// TestParseFlags checks that every fault-injection flag reaches the
// simulator options it names.
func TestParseFlags(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		check func(simulator.Options, string) bool
	}{
		{"defaults", []string{"--token", "t"}, func(o simulator.Options, l string) bool {
			return l == "127.0.0.1:0" && o.Token == "t" && o.API == simulator.APIScim2 && !o.GenericPatch && o.MaxResults == 200 && o.MaxBody == 2<<20 &&
				o.RateLimit == 500 && o.RateBurst == 0 && o.Faults.Sequence == 1 && len(o.Faults.ErrorRate) == 0 && len(o.Faults.Methods) == 0
		}},
		{"latency", []string{"--token", "t", "--latency", "150ms"}, func(o simulator.Options, _ string) bool {
			return o.Faults.Latency == 150*time.Millisecond
		}},
		{"slow page", []string{"--token", "t", "--slow-page", "2s"}, func(o simulator.Options, _ string) bool {
			return o.Faults.SlowPage == 2*time.Second
		}},
		{"error rate per status", []string{"--token", "t", "--error-rate", "500=0.1,503=0.1,429=0.05"}, func(o simulator.Options, _ string) bool {
			r := o.Faults.ErrorRate
			return len(r) == 3 && r[500] == 0.1 && r[503] == 0.1 && r[429] == 0.05
		}},
		{"drops", []string{"--token", "t", "--drop-rate", "0.1", "--drop-after-write-rate", "0.2"}, func(o simulator.Options, _ string) bool {
			return o.Faults.DropRate == 0.1 && o.Faults.DropAfterWriteRate == 0.2
		}},
		{"malformed JSON", []string{"--token", "t", "--malformed-rate", "0.3"}, func(o simulator.Options, _ string) bool {
			return o.Faults.MalformedRate == 0.3
		}},
		{"fault methods", []string{"--token", "t", "--fault-methods", "post, patch"}, func(o simulator.Options, _ string) bool {
			return strings.Join(o.Faults.Methods, ",") == "POST,PATCH"
		}},
		{"rate limit off", []string{"--token", "t", "--rate-limit", "0"}, func(o simulator.Options, _ string) bool {
			return o.RateLimit == 0
		}},
		{"budget and limits", []string{"--token", "t", "--rate-limit", "500", "--rate-burst", "5", "--max-results", "50", "--max-body", "4096", "--fault-sequence", "9"},
			func(o simulator.Options, _ string) bool {
				return o.RateLimit == 500 && o.RateBurst == 5 && o.MaxResults == 50 && o.MaxBody == 4096 && o.Faults.Sequence == 9
			}},
		{"generic-v1", []string{"--token", "t", "--api", "generic-v1"}, func(o simulator.Options, _ string) bool {
			return o.API == simulator.APIGenericV1 && !o.GenericPatch
		}},
		{"generic-v1 with PATCH", []string{"--token", "t", "--api", "generic-v1", "--generic-patch"}, func(o simulator.Options, _ string) bool {
			return o.API == simulator.APIGenericV1 && o.GenericPatch
		}},
		{"token endpoint", []string{"--client-id", "c", "--client-secret", "s", "--listen", "[::1]:0"}, func(o simulator.Options, l string) bool {
			return o.ClientID == "c" && o.ClientSecret == "s" && o.Token == "" && l == "[::1]:0"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SIM_TOKEN", "")
			t.Setenv("SIM_CLIENT_SECRET", "")
			var errb bytes.Buffer
			o, listen, err := parseFlags(tc.args, &errb)
			if err != nil {
				t.Fatalf("parseFlags: %v (%s)", err, errb.String())
			}
			if !tc.check(o, listen) {
				t.Fatalf("options %+v, listen %q", o, listen)
			}
		})
	}
}

// TestRunInjectsFaultsAndServesStats starts the command with fault flags
// and checks the faults reach the wire and /stats counts them by method,
// route and status.
func TestRunInjectsFaultsAndServesStats(t *testing.T) {
	t.Setenv("SIM_TOKEN", "env-token")
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"--error-rate", "503=1", "--fault-methods", "POST"}, pw, &errb)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	base, _, _ := startLine(line)
	call := func(method, path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer env-token")
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := call("GET", "/Locations", ""); r.StatusCode != 200 {
		t.Fatalf("GET is not a fault method but got %d", r.StatusCode)
	}
	r := call("POST", "/Users", `{}`)
	if r.StatusCode != 503 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("POST: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	resp, err := http.Get(strings.TrimSuffix(base, simulator.BasePath) + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st simulator.Stats
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.ByRouteStatus["GET /Locations 200"] != 1 || st.ByRouteStatus["POST /Users 503"] != 1 ||
		st.ByMethod["POST"] != 1 || st.ByStatus["503"] != 1 || st.Faults["error"] != 1 {
		t.Fatalf("stats %+v", st)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

// startLine splits "listening on URL (api FLAVOUR)".
func startLine(line string) (url, api string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		return "", "", false
	}
	url, api, ok = strings.Cut(rest, " (api ")
	api, ok2 := strings.CutSuffix(api, ")")
	return url, api, ok && ok2
}

// TestRunServesGeneric starts the command as generic-v1 with PATCH and
// checks the start line names the /scim/v1 base and the flavour, and that
// the server answers as generic-v1 does.
func TestRunServesGeneric(t *testing.T) {
	t.Setenv("SIM_TOKEN", "env-token")
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"--api", "generic-v1", "--generic-patch"}, pw, &errb)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	base, api, ok := startLine(line)
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, simulator.GenericBasePath) || api != "generic-v1" {
		t.Fatalf("first line %q", line)
	}
	cases := []struct {
		path   string
		status int
		says   string
	}{
		{"/ServiceProviderConfigs", 200, `"patch":{"supported":true}`},
		{"/ServiceProviderConfig", 404, `"Errors"`},
		{"/Groups", 501, `"code":"501"`},
		{"/Users", 200, `"schemas":["urn:scim:schemas:core:1.0"]`},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", base+tc.path, nil)
		req.Header.Set("Authorization", "Bearer env-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.says) {
			t.Fatalf("%s: %d %s", tc.path, resp.StatusCode, body)
		}
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}
