package simulator

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGenericAuth checks the static bearer token guards every generic-v1
// route, /Groups included, with a 1.1 error body.
func TestGenericAuth(t *testing.T) {
	h := newGeneric(t, Options{})
	cases := []struct {
		name, auth, path string
		status           int
	}{
		{"right token", "Bearer " + testToken, "/Users", 200},
		{"scheme in any case", "bearer " + testToken, "/Users", 200},
		{"no header", "", "/Users", 401},
		{"wrong token", "Bearer nope", "/Users", 401},
		{"basic auth", "Basic dTpw", "/Users", 401},
		{"groups need the token too", "", "/Groups", 401},
		{"service provider config too", "", "/ServiceProviderConfigs", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			a := h.doWith("GET", h.url+tc.path, nil, hdr)
			h.expectGeneric(a, tc.status)
			if tc.status == 401 && a.header.Get("WWW-Authenticate") == "" {
				t.Fatal("no WWW-Authenticate")
			}
		})
	}
	h.srv.ExpireTokens()
	h.expectGeneric(h.do("GET", "/Users", nil), http.StatusUnauthorized)
}

// TestGenericRateLimit checks the per-token budget answers 429 with
// Retry-After and the 1.1 error body, and refills with time.
func TestGenericRateLimit(t *testing.T) {
	h := newGeneric(t, Options{RateLimit: 3})
	for range 3 {
		h.expectGeneric(h.do("GET", "/Users", nil), http.StatusOK)
	}
	a := h.do("POST", "/Users", genericUser("ana@x.org"))
	h.expectGeneric(a, http.StatusTooManyRequests)
	if ra := a.header.Get("Retry-After"); ra != "20" {
		t.Fatalf("Retry-After %q, want 20 (one call every 20s)", ra)
	}
	if len(h.srv.Users()) != 0 {
		t.Fatal("a refused create was applied")
	}
	h.clock.Advance(20 * time.Second)
	h.createGeneric(genericUser("ana@x.org"))
	if n := h.srv.Stats().ByRouteStatus["POST /Users 429"]; n != 1 {
		t.Fatalf("stats count %d 429s, want 1", n)
	}
}

// TestGenericFaults checks injected faults reach generic-v1 routes in the
// 1.1 error shape, that Faults.Paths is relative to GenericBasePath, and
// that stats count by route and status.
func TestGenericFaults(t *testing.T) {
	cases := []struct {
		name   string
		faults Faults
		path   string
		status int
	}{
		{"503 with Retry-After", Faults{ErrorRate: map[int]float64{503: 1}}, "/Users", 503},
		{"500", Faults{ErrorRate: map[int]float64{500: 1}}, "/Users", 500},
		{"path limited, hit", Faults{ErrorRate: map[int]float64{500: 1}, Paths: []string{"/Users"}}, "/Users", 500},
		{"path limited, missed", Faults{ErrorRate: map[int]float64{500: 1}, Paths: []string{"/Users"}}, "/ServiceProviderConfigs", 200},
		{"method limited, missed", Faults{ErrorRate: map[int]float64{500: 1}, Methods: []string{"POST"}}, "/Users", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newGeneric(t, Options{})
			h.srv.SetFaults(tc.faults)
			a := h.do("GET", tc.path, nil)
			h.expectGeneric(a, tc.status)
			if tc.status == 503 && a.header.Get("Retry-After") == "" {
				t.Fatal("no Retry-After")
			}
			st := h.srv.Stats()
			if st.ByRouteStatus[fmt.Sprintf("GET %s %d", tc.path, tc.status)] != 1 {
				t.Fatalf("stats %v", st.ByRouteStatus)
			}
			if (tc.status >= 500) != (st.Faults["error"] == 1) {
				t.Fatalf("fault stats %v", st.Faults)
			}
		})
	}
	t.Run("drop after write applies the create", func(t *testing.T) {
		h := newGeneric(t, Options{Faults: Faults{DropAfterWriteRate: 1}})
		if _, _, err := h.try("POST", "/Users", genericUser("ana@x.org")); err == nil {
			t.Fatal("connection not dropped")
		}
		if _, ok := h.srv.UserByName("ana@x.org"); !ok {
			t.Fatal("create not applied")
		}
	})
	t.Run("stats by route", func(t *testing.T) {
		h := newGeneric(t, Options{})
		id := h.createGeneric(genericUser("ana@x.org"))
		h.do("GET", "/Users/"+id, nil)
		h.do("GET", "/Groups/x", nil)
		h.do("GET", "/Schemas", nil)
		st := h.srv.Stats()
		for _, k := range []string{"POST /Users 201", "GET /Users/{id} 200", "GET /Groups 501", "GET unknown 404"} {
			if st.ByRouteStatus[k] != 1 {
				t.Fatalf("%s: stats %v", k, st.ByRouteStatus)
			}
		}
	})
}

// TestGenericBodyAndMediaType checks the body limit and media types:
// application/json and application/scim+json are read, others refused.
func TestGenericBodyAndMediaType(t *testing.T) {
	cases := []struct {
		name, ctype string
		maxBody     int64
		status      int
	}{
		{"application/json", "application/json", 0, 201},
		{"with charset", "application/json; charset=utf-8", 0, 201},
		{"application/scim+json", "application/scim+json", 0, 201},
		{"text/plain", "text/plain", 0, 415},
		{"over the body limit", "application/json", 64, 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newGeneric(t, Options{MaxBody: tc.maxBody})
			h.ctype = tc.ctype
			h.expectGeneric(h.do("POST", "/Users", samplePayload), tc.status)
		})
	}
}

// TestGenericHandmade checks the Go API a test or the demo uses: a user
// made by hand holds nothing a generic user cannot, is read back by id and
// name, is not listed without a filter, and is found with one.
func TestGenericHandmade(t *testing.T) {
	h := newGeneric(t, Options{})
	scim := h.createGeneric(genericUser("ana@x.org"))
	hand := h.srv.AddHandmadeUser(User{UserName: "Hand@x.org", GivenName: "Hand", FamilyName: "Made", Active: true,
		ExternalID: "ui:1", DefaultLocation: "loc-0001", Locations: []LocationRole{{Value: "loc-0001", Role: "admin"}},
		Emails: []Email{{Value: "Hand@x.org", Type: "work", Primary: true}}})
	if hand.ID == "" || hand.ViaSCIM || hand.ExternalID != "" || hand.Locations != nil || hand.DefaultLocation != "" {
		t.Fatalf("hand-made %+v", hand)
	}
	if u, ok := h.srv.User(hand.ID); !ok || u.UserName != "Hand@x.org" {
		t.Fatalf("User(id): %+v %v", u, ok)
	}
	if u, ok := h.srv.UserByName("hand@X.ORG"); !ok || u.ID != hand.ID {
		t.Fatalf("UserByName: %+v %v", u, ok)
	}
	if u, ok := h.srv.UserByName("ana@x.org"); !ok || u.ID != scim || !u.ViaSCIM || u.Locations != nil || u.ExternalID != "" {
		t.Fatalf("UserByName of a SCIM user: %+v %v", u, ok)
	}
	if _, ok := h.srv.UserByName("nobody@x.org"); ok {
		t.Fatal("UserByName found nobody")
	}
	if n := len(h.srv.Users()); n != 2 {
		t.Fatalf("Users() holds %d, want 2", n)
	}
	if h.srv.GrantByHand(hand.ID, "loc-0001", "admin") {
		t.Fatal("GrantByHand on a generic server")
	}
	if _, ok := h.srv.AddHandmadeLocation("Lisbon"); ok || len(h.srv.Locations()) != 0 {
		t.Fatal("a generic server holds locations")
	}
	a := h.do("GET", "/Users", nil)
	if got := sortedNames(a); len(got) != 1 || got[0] != "ana@x.org" {
		t.Fatalf("unfiltered listing %v", got)
	}
	a = h.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "hand@x.org"`), nil)
	if got := sortedNames(a); len(got) != 1 || got[0] != "hand@x.org" {
		t.Fatalf("filtered listing %v", got)
	}
	if st := h.srv.State(); len(st.Users) != 2 || st.Digest == "" {
		t.Fatalf("state %+v", st)
	}
}

// TestGenericStart checks Start serves generic-v1 under GenericBasePath
// and refuses a flavour it does not speak.
func TestGenericStart(t *testing.T) {
	url, _, stop, err := Start(Options{API: APIGenericV1, Token: testToken}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	if !strings.HasSuffix(url, GenericBasePath) {
		t.Fatalf("url %s", url)
	}
	req, _ := http.NewRequest("GET", url+"/ServiceProviderConfigs", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, api := range []string{"", APIScim2} {
		url, _, stop, err := Start(Options{API: api, Token: testToken}, "")
		if err != nil || !strings.HasSuffix(url, BasePath) {
			t.Fatalf("api %q: %s %v", api, url, err)
		}
		stop(context.Background())
	}
	if _, _, _, err := Start(Options{API: "scim1", Token: testToken}, ""); err == nil || !strings.Contains(err.Error(), "scim1") {
		t.Fatalf("unknown api: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("New accepted an unknown api")
		}
	}()
	New(Options{API: "scim1"})
}

// TestGenericConcurrent runs creates, listings, PUTs and PATCHes at once
// (run it with -race): one userName in two cases gives exactly one user,
// and every answer is a valid status.
func TestGenericConcurrent(t *testing.T) {
	h := newGeneric(t, Options{GenericPatch: true})
	const n = 16
	var wg sync.WaitGroup
	statuses := make(chan int, 4*n)
	for i := range n {
		wg.Add(4)
		go func() {
			defer wg.Done()
			email := "ana@x.org"
			if i%2 == 1 {
				email = "ANA@x.org"
			}
			st, _, err := h.try("POST", "/Users", genericUser(email))
			if err != nil {
				t.Error(err)
			}
			statuses <- st
		}()
		go func() {
			defer wg.Done()
			st, _, _ := h.try("POST", "/Users", genericUser(fmt.Sprintf("u%d@x.org", i)))
			statuses <- st
		}()
		go func() {
			defer wg.Done()
			st, _, _ := h.try("GET", "/Users?filter="+url.QueryEscape(`userName sw "u"`), nil)
			statuses <- st
		}()
		go func() {
			defer wg.Done()
			if u, ok := h.srv.UserByName(fmt.Sprintf("u%d@x.org", (i+1)%n)); ok {
				st, _, _ := h.try("PATCH", "/Users/"+u.ID, map[string]any{"schemas": []any{genericSchema}, "title": "T"})
				statuses <- st
				return
			}
			h.handmade(fmt.Sprintf("hand%d@x.org", i))
			statuses <- http.StatusOK
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	if count[http.StatusCreated] != n+1 || count[http.StatusConflict] != n-1 || count[http.StatusOK] != 2*n {
		t.Fatalf("statuses %v", count)
	}
}
