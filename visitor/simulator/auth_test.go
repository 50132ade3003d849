package simulator

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func (h *harness) getToken(form url.Values) answer {
	h.t.Helper()
	return h.doWith("POST", h.root+"/oauth/token", form.Encode(),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}

func creds(extra ...string) url.Values {
	v := url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"csecret"}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func TestTokenEndpoint(t *testing.T) {
	cases := []struct {
		name    string
		form    url.Values
		status  int
		expires int
	}{
		{"default 24h", creds(), 200, 86400},
		{"one minute", creds("tokenexpiry", "60"), 200, 60},
		{"ten years", creds("tokenexpiry", "315360000"), 200, 315360000},
		{"59 seconds", creds("tokenexpiry", "59"), 400, 0},
		{"over ten years", creds("tokenexpiry", "315360001"), 400, 0},
		{"not a number", creds("tokenexpiry", "1h"), 400, 0},
		{"wrong secret", creds("client_secret", "nope"), 401, 0},
		{"wrong client", creds("client_id", "nope"), 401, 0},
		{"wrong grant", creds("grant_type", "password"), 400, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{ClientID: "cid", ClientSecret: "csecret"})
			a := h.getToken(tc.form)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.raw)
			}
			if tc.status != 200 {
				if a.str("error") == "" || strings.Contains(string(a.raw), "csecret") {
					t.Fatalf("error answer %s", a.raw)
				}
				return
			}
			if a.str("token_type") != "Bearer" || a.num("expires_in") != tc.expires || a.str("access_token") == "" {
				t.Fatalf("answer %s", a.raw)
			}
		})
	}
}

func TestTokenEndpointDisabled(t *testing.T) {
	h := newHarness(t, Options{})
	if a := h.getToken(creds()); a.status != 404 {
		t.Fatalf("status %d", a.status)
	}
}

func TestIssuedTokenExpires(t *testing.T) {
	h := newHarness(t, Options{ClientID: "cid", ClientSecret: "csecret"})
	a := h.getToken(creds("tokenexpiry", "120"))
	h.token = a.str("access_token")
	h.expect(h.do("GET", "/Users", nil), 200, "")
	h.clock.Advance(119 * time.Second)
	h.expect(h.do("GET", "/Users", nil), 200, "")
	h.clock.Advance(time.Second)
	a = h.do("GET", "/Users", nil)
	h.expect(a, 401, "")
	if a.header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	// a new token works again
	h.token = h.getToken(creds()).str("access_token")
	h.expect(h.do("GET", "/Users", nil), 200, "")
	h.srv.ExpireTokens()
	h.expect(h.do("GET", "/Users", nil), 401, "")
}

func TestAuth(t *testing.T) {
	cases := []struct {
		name   string
		header string
		status int
	}{
		{"static token", "Bearer " + testToken, 200},
		{"scheme ignores case", "bearer " + testToken, 200},
		{"wrong token", "Bearer nope", 401},
		{"no header", "", 401},
		{"basic scheme", "Basic " + testToken, 401},
		{"empty bearer", "Bearer ", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			hdr := map[string]string{}
			if tc.header != "" {
				hdr["Authorization"] = tc.header
			}
			a := h.doWith("GET", h.url+"/Users", nil, hdr)
			h.expect(a, tc.status, "")
		})
	}
}

func TestExpireTokensRetiresStaticToken(t *testing.T) {
	h := newHarness(t, Options{})
	h.expect(h.do("GET", "/Locations", nil), 200, "")
	h.srv.ExpireTokens()
	h.expect(h.do("GET", "/Locations", nil), 401, "")
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, Options{RateLimit: 3, ClientID: "cid", ClientSecret: "csecret", Token: testToken})
	for i := range 3 {
		if a := h.do("GET", "/Users", nil); a.status != 200 {
			t.Fatalf("call %d: %d", i, a.status)
		}
	}
	a := h.do("GET", "/Users", nil)
	h.expect(a, 429, "")
	if ra := a.header.Get("Retry-After"); ra != "20" {
		t.Fatalf("Retry-After %q, want 20 (one call every 20s)", ra)
	}
	// another token has its own budget
	other := h.getToken(creds()).str("access_token")
	h.expect(h.doWith("GET", h.url+"/Users", nil, map[string]string{"Authorization": "Bearer " + other}), 200, "")
	h.clock.Advance(20 * time.Second)
	h.expect(h.do("GET", "/Users", nil), 200, "")
	h.expect(h.do("GET", "/Users", nil), 429, "")
	h.clock.Advance(time.Minute)
	for range 3 {
		h.expect(h.do("GET", "/Users", nil), 200, "")
	}
	if n := h.srv.Stats().ByRouteStatus["GET /Users 429"]; n != 2 {
		t.Fatalf("stats count %d 429s, want 2", n)
	}
}

func TestBodyLimit(t *testing.T) {
	h := newHarness(t, Options{MaxBody: 1000})
	big := user("ana@example.com", "condeco:1", set("title", strings.Repeat("x", 2000)))
	h.expect(h.do("POST", "/Users", big), http.StatusRequestEntityTooLarge, "")

	// chunked body without Content-Length is cut by the reader
	req, _ := http.NewRequest("POST", h.url+"/Users", strings.NewReader(`{"schemas":["`+strings.Repeat("x", 2000)+`"]}`))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: status %d", resp.StatusCode)
	}
	h.expect(h.do("POST", "/Users", user("ana@example.com", "condeco:1")), 201, "")
}

func TestContentTypeAndMethods(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.doWith("POST", h.url+"/Users", user("ana@example.com", "condeco:1"),
		map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "text/plain"})
	h.expect(a, http.StatusUnsupportedMediaType, "")
	a = h.doWith("PATCH", h.url+"/Users/x", patch(op("replace", "active", true)),
		map[string]string{"Authorization": "Bearer " + testToken})
	h.expect(a, http.StatusUnsupportedMediaType, "")
	a = h.doWith("POST", h.url+"/Users", user("ana@example.com", "condeco:1"),
		map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "application/json; charset=utf-8"})
	h.expect(a, 201, "")
	a = h.do("DELETE", "/Users", nil)
	h.expect(a, http.StatusMethodNotAllowed, "")
	if a.header.Get("Allow") == "" {
		t.Fatal("405 without Allow")
	}
	h.expect(h.do("GET", "/Groups", nil), 404, "")
	h.expect(h.do("POST", "/Bulk", nil), 404, "")
}
