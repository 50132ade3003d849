package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// try sends a request and returns the transport error instead of failing,
// for faults that close the connection.
func (h *harness) try(method, path string, body any) (int, []byte, error) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.Header.Set("Content-Type", "application/scim+json")
	// a fresh transport: no retry of a dropped idempotent request on a
	// reused connection, so each try is exactly one request
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

func TestFaults(t *testing.T) {
	cases := []struct {
		name       string
		faults     Faults
		method     string
		wantErr    bool // transport error (dropped connection)
		wantStatus int
		wantJSON   bool
		applied    bool // the user was created
		fault      string
	}{
		{"error 503", Faults{ErrorRate: map[int]float64{503: 1}}, "POST", false, 503, true, false, "error"},
		{"error 500", Faults{ErrorRate: map[int]float64{500: 1}}, "POST", false, 500, true, false, "error"},
		{"drop before handling", Faults{DropRate: 1}, "POST", true, 0, false, false, "drop"},
		{"drop after write", Faults{DropAfterWriteRate: 1}, "POST", true, 0, false, true, "dropAfterWrite"},
		{"drop after write spares reads", Faults{DropAfterWriteRate: 1}, "GET", false, 200, true, false, ""},
		{"malformed answer", Faults{MalformedRate: 1}, "POST", false, 201, false, true, "malformed"},
		{"latency and slow page", Faults{Latency: time.Millisecond, SlowPage: time.Millisecond}, "GET", false, 200, true, false, ""},
		{"zero rates", Faults{ErrorRate: map[int]float64{500: 0}}, "POST", false, 201, true, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{Faults: tc.faults})
			var body any
			path := "/Users"
			if tc.method == "POST" {
				body = user("ana@example.com", "condeco:1")
			}
			st, raw, err := h.try(tc.method, path, body)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if st != tc.wantStatus {
				t.Fatalf("status %d, want %d", st, tc.wantStatus)
			}
			if !tc.wantErr && json.Valid(raw) != tc.wantJSON {
				t.Fatalf("JSON valid %v, want %v: %s", json.Valid(raw), tc.wantJSON, raw)
			}
			if n := len(h.srv.Users()); (n == 1) != tc.applied {
				t.Fatalf("%d users stored, applied should be %v", n, tc.applied)
			}
			if tc.fault != "" && h.srv.Stats().Faults[tc.fault] != 1 {
				t.Fatalf("fault stats %v", h.srv.Stats().Faults)
			}
			// /stats and /state never fail
			for _, p := range []string{"/stats", "/state"} {
				resp, err := http.Get(h.root + p)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("%s: %v %v", p, err, resp)
				}
				resp.Body.Close()
			}
			// faults off: normal service
			h.srv.SetFaults(Faults{})
			if st, _, err := h.try("GET", "/Users", nil); err != nil || st != 200 {
				t.Fatalf("after SetFaults: %d %v", st, err)
			}
		})
	}
}

func TestInjected429HasRetryAfter(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{ErrorRate: map[int]float64{429: 1}}})
	a := h.do("GET", "/Users", nil)
	h.expect(a, 429, "")
	if a.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}

func TestFaultSequenceReplays(t *testing.T) {
	run := func() string {
		h := newHarness(t, Options{Faults: Faults{ErrorRate: map[int]float64{500: 0.3, 503: 0.3}, Sequence: 42}})
		var out []int
		for range 30 {
			out = append(out, h.do("GET", "/Locations", nil).status)
		}
		return fmt.Sprint(out)
	}
	a, b := run(), run()
	if a != b {
		t.Fatalf("same sequence, different faults:\n%s\n%s", a, b)
	}
	for _, s := range []string{"200", "500", "503"} {
		if !bytes.Contains([]byte(a), []byte(s)) {
			t.Fatalf("30 calls at 30%%/30%% never gave %s: %s", s, a)
		}
	}
}

func TestLatencyStopsWhenClientGoes(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{Latency: time.Hour}})
	c := &http.Client{Timeout: 100 * time.Millisecond}
	req, _ := http.NewRequest("GET", h.url+"/Users", nil)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("request during an hour of latency answered")
	}
	// The test server's Close (in Cleanup) waits for running handlers, so
	// a handler that ignored the client leaving would hang the test.
}

func TestStatsAndState(t *testing.T) {
	h := newHarness(t, Options{})
	st0 := h.srv.State()
	id := h.create(user("ana@example.com", "condeco:1"))
	h.do("GET", "/Users/"+id, nil)
	h.do("GET", "/Users/nope", nil)
	h.do("PATCH", "/Users/"+id, patch(op("replace", "active", false)))
	st1 := h.srv.State()
	if st0.Digest == st1.Digest {
		t.Fatal("digest did not change after writes")
	}
	h.do("GET", "/Users?filter=userName%20eq%20%22x%22", nil)
	h.doWith("GET", h.url+"/Users", nil, nil) // 401
	if st2 := h.srv.State(); st2.Digest != st1.Digest {
		t.Fatal("digest changed after reads")
	}
	s := h.srv.Stats()
	want := map[string]int{
		"POST /Users 201": 1, "GET /Users/{id} 200": 1, "GET /Users/{id} 404": 1,
		"PATCH /Users/{id} 200": 1, "GET /Users 200": 1, "GET /Users 401": 1,
	}
	for k, v := range want {
		if s.ByRouteStatus[k] != v {
			t.Errorf("%s: %d, want %d (%v)", k, s.ByRouteStatus[k], v, s.ByRouteStatus)
		}
	}
	if s.Total != 6 || s.ByMethod["GET"] != 4 || s.ByStatus["200"] != 3 || s.ByRoute["/Users/{id}"] != 3 ||
		s.ByMethodRoute["GET /Users"] != 2 {
		t.Errorf("stats %+v", s)
	}
	resp, err := http.Get(h.root + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var served State
	if err := json.NewDecoder(resp.Body).Decode(&served); err != nil {
		t.Fatal(err)
	}
	if served.Digest != st1.Digest || len(served.Users) != 1 || len(served.Locations) != 1 {
		t.Fatalf("served state %+v", served)
	}
}

func TestStart(t *testing.T) {
	for _, bad := range []string{"0.0.0.0:0", "192.0.2.1:80", ":0", "example.com:80"} {
		if _, _, _, err := Start(Options{}, bad); err == nil {
			t.Errorf("Start(%q) listened on a non-loopback address", bad)
		}
	}
	url, srv, stop, err := Start(Options{Token: testToken}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	req, _ := http.NewRequest("GET", url+"/Locations", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || srv.Stats().Total != 1 {
		t.Fatalf("status %d stats %+v", resp.StatusCode, srv.Stats())
	}
}
