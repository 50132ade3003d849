package visitor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A POST answered 5xx without being stored, for a userName a person made
// by hand in Visitor: the unknown-outcome lookup by userName finds the
// hand-made user and records it as the sync's own (bypassing
// adopt_existing_users); later runs PUT over it and delete it on
// departure. scim2 looks up by externalId, which a hand-made user lacks.
func TestGenericUnknownCreateNeverTakesAHandMadeUser(t *testing.T) {
	f := newFakeV1(t)
	hand := f.seed("ana@example.com", false)
	posts := 0
	f.fault = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost && posts == 0 {
			posts++
			v1Error(w, 502, "bad gateway") // never reached the application
			return true
		}
		return false
	}
	book := newBook()
	g := newGeneric(t, f, book)
	_, err := g.CreateUser(context.Background(), User{ExternalID: "condeco:1", UserName: "ana@example.com", GivenName: "Ana", FamilyName: "Silva", Active: true})
	if o, ok := book.get(hand); ok {
		t.Fatalf("hand-made user %s recorded as the sync's own: %+v (err %v)", hand, o, err)
	}
	if err == nil {
		t.Fatal("create of a userName held by a hand-made user succeeded")
	}
}

// A server that refuses "or" filters (--check's probe then says "written
// users are re-read one at a time"): two recorded users outside the SCIM
// listing (adopted hand-made users never appear in it) make every run's
// ListManagedUsers fail, as usersByID has no one-at-a-time fallback.
func TestGenericListManagedWithoutOrFilters(t *testing.T) {
	f := newFakeV1(t)
	a := f.seed("a@example.com", false) // adopted: made by hand
	b := f.seed("b@example.com", false)
	f.fault = func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Query().Get("filter"), " or ") {
			v1Error(w, 400, "or is not supported")
			return true
		}
		return false
	}
	book := newBook(Owned{ID: a, UserName: "a@example.com", ExternalID: "condeco:1"}, Owned{ID: b, UserName: "b@example.com", ExternalID: "condeco:2"})
	g := newGeneric(t, f, book)
	us, err := g.ListManagedUsers(context.Background(), "condeco:")
	if err != nil {
		t.Fatalf("listing managed users fails where the probe promises one-at-a-time reads: %v", err)
	}
	if len(us) != 2 {
		t.Fatalf("%d managed users, want 2", len(us))
	}
}

// A generic-v1 server (or its gateway) that answers the SCIM 2.0 path it
// does not serve with 401/403, as API gateways often do for unknown routes,
// while the token works on ServiceProviderConfigs: DetectProfile stops at
// the first 401 and never asks the generic-v1 path, so --check prints
// "neither discovery path answered" for a working generic-v1 tenant.
func TestDetectProfileAsksBothPathsBeforeARefusal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/scim/ServiceProviderConfigs" {
			v1JSON(w, 200, map[string]any{"patch": map[string]any{"supported": false}})
			return
		}
		v1Error(w, 403, "Missing Authentication Token")
	}))
	defer srv.Close()
	got, tried, err := DetectProfile(context.Background(), testOptions(srv.URL+"/scim"), nil)
	if err != nil || got != ProfileGeneric {
		t.Fatalf("profile %q, err %v, tried %+v; want generic-v1 (its path answers)", got, err, tried)
	}
}
