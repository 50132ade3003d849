package simulator

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEmailForbiddenCharacters: every character Eptura forbids in an
// email (docs/visitor-scim.md), in userName (which must equal the email) and via PATCH, is 400
// invalidValue and nothing is stored.
func TestEmailForbiddenCharacters(t *testing.T) {
	for _, c := range strings.Split(emailForbidden, "") {
		t.Run("char "+c, func(t *testing.T) {
			h := newHarness(t, Options{})
			email := "an" + c + "a@example.com"
			h.expect(h.do("POST", "/Users", user(email, "condeco:1")), 400, "invalidValue")
			if n := len(h.srv.Users()); n != 0 {
				t.Fatalf("%d users stored", n)
			}
			id := h.create(user("ana@example.com", "condeco:1"))
			h.expect(h.do("PATCH", "/Users/"+id, patch(op("replace", "userName", email))), 400, "invalidValue")
			if u := h.srv.Users()[0]; u.UserName != "ana@example.com" {
				t.Fatalf("userName changed to %q", u.UserName)
			}
		})
	}
}

// TestLengthRule: 64 characters pass and 65 fail on every string the
// 64-character rule covers.
func TestLengthRule(t *testing.T) {
	at64 := strings.Repeat("a", 64-len("@example.com")) + "@example.com"
	at65 := "a" + at64
	cases := []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"userName and email of 64", user(at64, "condeco:1"), 201},
		{"userName and email of 65", user(at65, "condeco:1"), 400},
		{"externalId of 64", user("ana@example.com", strings.Repeat("x", 64)), 201},
		{"externalId of 65", user("ana@example.com", strings.Repeat("x", 65)), 400},
		{"familyName of 65", user("ana@example.com", "condeco:1", set("name", map[string]any{"givenName": "Ana", "familyName": strings.Repeat("s", 65)})), 400},
		{"title of 65", user("ana@example.com", "condeco:1", set("title", strings.Repeat("t", 65))), 400},
		{"role of 65", user("ana@example.com", "condeco:1", setExt("locations", []any{map[string]any{"value": "loc-0001", "role": strings.Repeat("r", 65)}})), 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			scimType := ""
			if tc.status == 400 {
				scimType = "invalidValue"
			}
			h.expect(h.do("POST", "/Users", tc.body), tc.status, scimType)
		})
	}
}

// TestDefaultBodyLimit: the 2 MB limit applies without configuration.
func TestDefaultBodyLimit(t *testing.T) {
	cases := []struct {
		name   string
		size   int
		status int
	}{
		{"one byte over 2 MiB", DefaultMaxBody + 1, http.StatusRequestEntityTooLarge},
		{"exactly 2 MiB", DefaultMaxBody, http.StatusBadRequest}, // read, then refused as not JSON
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			a := h.do("POST", "/Users", strings.Repeat(" ", tc.size-1)+"x")
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %.200s", a.status, tc.status, a.raw)
			}
		})
	}
}

// TestErrorRatesAddUp: rates per status share one draw, so each status gets
// exactly its rate and the total is their sum.
func TestErrorRatesAddUp(t *testing.T) {
	cases := []struct {
		name  string
		rates map[int]float64
	}{
		{"two 5xx at 10 % each", map[int]float64{500: 0.1, 503: 0.1}},
		{"three statuses", map[int]float64{429: 0.05, 500: 0.15, 502: 0.3}},
		{"one at 100 %", map[int]float64{503: 1}},
		{"zero rate never fires", map[int]float64{500: 0, 503: 0.2}},
	}
	const n = 20000
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{Faults: Faults{ErrorRate: tc.rates, Sequence: 3}})
			got := map[int]int{}
			for range n {
				got[s.rollError(tc.rates)]++
			}
			var total float64
			for code, p := range tc.rates {
				total += p
				// 4 standard deviations of a binomial draw.
				tol := 4 * math.Sqrt(p*(1-p)/n)
				if f := float64(got[code]) / n; f < p-tol || f > p+tol {
					t.Errorf("status %d answered %.4f of requests, want %.2f±%.4f", code, f, p, tol)
				}
			}
			if f := float64(got[0]) / n; f < 1-total-0.02 || f > 1-total+0.02 {
				t.Errorf("%.4f handled normally, want %.2f", f, 1-total)
			}
		})
	}
}

func TestFaultsValidate(t *testing.T) {
	cases := []struct {
		name string
		f    Faults
		ok   bool
	}{
		{"none", Faults{}, true},
		{"rates adding to 1", Faults{ErrorRate: map[int]float64{500: 0.5, 503: 0.5}}, true},
		{"rates adding over 1", Faults{ErrorRate: map[int]float64{500: 0.6, 503: 0.6}}, false},
		{"status not an error", Faults{ErrorRate: map[int]float64{200: 0.1}}, false},
		{"negative rate", Faults{ErrorRate: map[int]float64{500: -0.1}}, false},
		{"drop rate over 1", Faults{DropRate: 1.1}, false},
		{"malformed below 0", Faults{MalformedRate: -1}, false},
		{"negative latency", Faults{Latency: -time.Second}, false},
		{"methods", Faults{Methods: []string{"post", "PATCH"}}, true},
		{"unknown method", Faults{Methods: []string{"BREW"}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
	if _, _, _, err := Start(Options{Token: "t", Faults: Faults{DropRate: 2}}, ""); err == nil {
		t.Fatal("Start accepted a drop rate of 2")
	}
}

// TestFaultMethods: faults limited to some methods (or paths) leave the
// others alone, so a test can break creates while lookups still answer.
func TestFaultMethods(t *testing.T) {
	cases := []struct {
		name            string
		faults          Faults
		getErr, postErr bool
		getSt, postSt   int
	}{
		{"drop only POST", Faults{DropRate: 1, Methods: []string{"POST"}}, false, true, 200, 0},
		{"503 only GET", Faults{ErrorRate: map[int]float64{503: 1}, Methods: []string{"get"}}, false, false, 503, 201},
		{"malformed only POST", Faults{MalformedRate: 1, Methods: []string{"POST"}}, false, false, 200, 201},
		{"all methods", Faults{ErrorRate: map[int]float64{500: 1}}, false, false, 500, 500},
		{"500 only on /Locations", Faults{ErrorRate: map[int]float64{500: 1}, Paths: []string{"/Locations"}}, false, false, 200, 201},
		{"500 only on /Users", Faults{ErrorRate: map[int]float64{500: 1}, Paths: []string{"/Users"}}, false, false, 500, 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{Faults: tc.faults})
			st, _, err := h.try("GET", "/Users", nil)
			if (err != nil) != tc.getErr || st != tc.getSt {
				t.Fatalf("GET: %d %v", st, err)
			}
			st, _, err = h.try("POST", "/Users", user("ana@example.com", "condeco:1"))
			if (err != nil) != tc.postErr || st != tc.postSt {
				t.Fatalf("POST: %d %v", st, err)
			}
		})
	}
}

// TestStatsCountClientGone: a request the client abandons during injected
// latency is still counted, so /stats shows every request.
func TestStatsCountClientGone(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{Latency: time.Hour}})
	c := &http.Client{Timeout: 50 * time.Millisecond}
	req, _ := http.NewRequest("GET", h.url+"/Users", nil)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("answered during an hour of latency")
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.srv.Stats().ByRouteStatus["GET /Users clientGone"] != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", h.srv.Stats().ByRouteStatus)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
