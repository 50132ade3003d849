package simulator

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// genericListFixture stores ana and bob (through SCIM; bob inactive, no
// title, changed an hour later) and carol (by hand).
func genericListFixture(t *testing.T) (h *harness, ana string) {
	h = newGeneric(t, Options{})
	ana = h.createGeneric(genericUser("ana@x.org"))
	h.clock.Advance(time.Hour)
	h.createGeneric(genericUser("bob@y.org", func(u map[string]any) {
		u["name"] = map[string]any{"givenName": "Bob", "familyName": "Stone"}
		u["active"] = false
		delete(u, "title")
	}))
	h.handmade("Carol@x.org")
	return h, ana
}

// TestGenericListing checks the unfiltered listing holds only users
// created through SCIM, inactive ones too, while a filter finds a user
// made by hand.
func TestGenericListing(t *testing.T) {
	h, _ := genericListFixture(t)
	cases := []struct {
		name, filter string
		want         []string
	}{
		{"no filter: SCIM users only", "", []string{"ana@x.org", "bob@y.org"}},
		{"userName eq finds the hand-made user", `userName eq "carol@X.org"`, []string{"carol@x.org"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := h.do("GET", "/Users?filter="+url.QueryEscape(tc.filter), nil)
			h.expectGeneric(a, http.StatusOK)
			if got := sortedNames(a); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if s, _ := a.body["schemas"].([]any); len(s) != 1 || s[0] != genericSchema {
				t.Fatalf("schemas %v", a.body["schemas"])
			}
			if a.num("totalResults") != len(tc.want) || a.num("itemsPerPage") != len(tc.want) || a.num("startIndex") != 1 {
				t.Fatalf("list header: %s", a.raw)
			}
		})
	}
}

// TestGenericFilters checks SCIM 1.1's operators and attributes are
// served and what 1.1 lacks, or an attribute not filterable, is a 400.
func TestGenericFilters(t *testing.T) {
	h, ana := genericListFixture(t)
	cases := []struct {
		name, filter string
		status       int
		want         []string
	}{
		{"eq ignores case", `userName eq "ANA@x.org"`, 200, []string{"ana@x.org"}},
		{"attribute name ignores case", `USERNAME eq "ana@x.org"`, 200, []string{"ana@x.org"}},
		{"core schema URN prefix", `urn:scim:schemas:core:1.0:userName eq "ana@x.org"`, 200, []string{"ana@x.org"}},
		{"id", `id eq "` + ana + `"`, 200, []string{"ana@x.org"}},
		{"emails co", `emails co "@X.ORG"`, 200, []string{"ana@x.org", "carol@x.org"}},
		{"emails.value sw", `emails.value sw "bob"`, 200, []string{"bob@y.org"}},
		{"name.familyName eq", `name.familyName eq "stone"`, 200, []string{"bob@y.org"}},
		{"name.givenName sw", `name.givenName sw "a"`, 200, []string{"ana@x.org"}},
		{"title pr", `title pr`, 200, []string{"ana@x.org"}},
		{"active eq false", `active eq false`, 200, []string{"bob@y.org"}},
		{"userName gt", `userName gt "b"`, 200, []string{"bob@y.org", "carol@x.org"}},
		{"userName le", `userName le "bob@y.org"`, 200, []string{"ana@x.org", "bob@y.org"}},
		{"userName lt, ge", `userName lt "c" and userName ge "b"`, 200, []string{"bob@y.org"}},
		{"meta.lastModified gt", `meta.lastModified gt "2026-01-02T03:30:00Z"`, 200, []string{"bob@y.org", "carol@x.org"}},
		{"meta.lastModified eq", `meta.lastModified eq "2026-01-02T03:04:05Z"`, 200, []string{"ana@x.org"}},
		{"or and parentheses", `(userName eq "ana@x.org" or userName eq "bob@y.org") and active eq true`, 200, []string{"ana@x.org"}},
		{"ne is not SCIM 1.1", `userName ne "ana@x.org"`, 400, nil},
		{"ew is not SCIM 1.1", `userName ew "x.org"`, 400, nil},
		{"not is not SCIM 1.1", `not (userName eq "ana@x.org")`, 400, nil},
		{"value path is not SCIM 1.1", `emails[type eq "work"]`, 400, nil},
		{"externalId is not filterable", `externalId eq "condeco:1"`, 400, nil},
		{"unknown attribute", `nickName eq "a"`, 400, nil},
		{"SCIM 2.0 URN prefix", `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"`, 400, nil},
		{"active compares a boolean", `active eq "true"`, 400, nil},
		{"active gt", `active gt false`, 400, nil},
		{"lastModified not a time", `meta.lastModified gt "yesterday"`, 400, nil},
		{"lastModified co", `meta.lastModified co "2026"`, 400, nil},
		{"does not parse", `userName eq`, 400, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := h.do("GET", "/Users?filter="+url.QueryEscape(tc.filter), nil)
			h.expectGeneric(a, tc.status)
			if tc.status != http.StatusOK {
				return
			}
			if got := sortedNames(a); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestGenericPaging checks startIndex is 1-based, below 1 means 1, a page
// past the end is empty, and count is clamped to maxResults (200).
func TestGenericPaging(t *testing.T) {
	h := newGeneric(t, Options{})
	for i := range 203 {
		h.createGeneric(genericUser(fmt.Sprintf("u%03d@x.org", i)))
	}
	cases := []struct {
		name                string
		query               string
		total, items, start int
		first               string
	}{
		{"default page is maxResults", "", 203, 200, 1, "u000@x.org"},
		{"count clamped to 200", "?count=1000", 203, 200, 1, "u000@x.org"},
		{"startIndex is 1-based", "?startIndex=2&count=2", 203, 2, 2, "u001@x.org"},
		{"startIndex below 1 is 1", "?startIndex=0&count=1", 203, 1, 1, "u000@x.org"},
		{"last page", "?startIndex=201&count=100", 203, 3, 201, "u200@x.org"},
		{"past the end", "?startIndex=300", 203, 0, 300, ""},
		{"count 0", "?count=0", 203, 0, 1, ""},
		{"filtered page", "?filter=" + url.QueryEscape(`userName sw "u01"`) + "&startIndex=3&count=4", 10, 4, 3, "u012@x.org"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := h.do("GET", "/Users"+tc.query, nil)
			h.expectGeneric(a, http.StatusOK)
			res, ok := a.body["Resources"].([]any)
			if !ok || a.num("totalResults") != tc.total || a.num("itemsPerPage") != tc.items ||
				len(res) != tc.items || a.num("startIndex") != tc.start {
				t.Fatalf("total %d items %d start %d (%d resources)", a.num("totalResults"), a.num("itemsPerPage"), a.num("startIndex"), len(res))
			}
			if tc.items > 0 && res[0].(map[string]any)["userName"] != tc.first {
				t.Fatalf("first %v, want %s", res[0].(map[string]any)["userName"], tc.first)
			}
		})
	}
	h.expectGeneric(h.do("GET", "/Users?count=ten", nil), http.StatusBadRequest)
}
