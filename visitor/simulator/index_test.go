package simulator

import (
	"net/http"
	"net/url"
	"testing"
)

// The index must answer exactly what a scan of the store would: these
// cases change names and ids and check that uniqueness and lookups follow.
func TestIndexFollowsRenamesAndDeletes(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.create(user("a@example.com", "condeco:1"))
	h.create(user("b@example.com", "condeco:2"))

	// A rename frees the old userName and takes the new one.
	h.expect(h.do("PATCH", "/Users/"+a, patch(
		op("replace", "userName", "c@example.com"),
		op("replace", "emails", []any{map[string]any{"value": "c@example.com", "type": "work", "primary": true}}))), http.StatusOK, "")
	h.create(user("A@example.com", "condeco:3"))
	h.expect(h.do("POST", "/Users", user("C@EXAMPLE.com", "condeco:4")), http.StatusConflict, "uniqueness")

	// A delete frees both the userName and the externalId.
	h.expect(h.do("POST", "/Users", user("d@example.com", "condeco:2")), http.StatusConflict, "uniqueness")
	b := findOne(h, `externalId eq "condeco:2"`)
	h.expect(h.do("DELETE", "/Users/"+b, nil), http.StatusNoContent, "")
	h.create(user("b@example.com", "condeco:2"))

	// Hand-made users count too.
	h.srv.AddHandmadeUser(User{UserName: "hand@example.com", Emails: []Email{{Value: "hand@example.com", Type: "work", Primary: true}}, Active: true})
	h.expect(h.do("POST", "/Users", user("Hand@example.com", "condeco:9")), http.StatusConflict, "uniqueness")
}

func findOne(h *harness, filter string) string {
	h.t.Helper()
	a := h.do("GET", "/Users?filter="+url.QueryEscape(filter), nil)
	h.expect(a, http.StatusOK, "")
	res, _ := a.body["Resources"].([]any)
	if len(res) != 1 {
		h.t.Fatalf("%s: %d users, want 1: %s", filter, len(res), a.raw)
	}
	return res[0].(map[string]any)["id"].(string)
}

// Batched lookups answer in creation order, and a listing kept between
// pages is dropped the moment a user changes.
func TestIndexLookupOrderAndListingAfterWrite(t *testing.T) {
	h := newHarness(t, Options{})
	for _, ext := range []string{"condeco:5", "condeco:3", "condeco:4"} {
		h.create(user(ext[len("condeco:"):]+"@example.com", ext))
	}
	a := h.do("GET", "/Users?filter="+url.QueryEscape(`externalId eq "condeco:4" or externalId eq "condeco:5" or externalId eq "condeco:3"`), nil)
	h.expect(a, http.StatusOK, "")
	var got []string
	for _, r := range a.body["Resources"].([]any) {
		got = append(got, r.(map[string]any)["externalId"].(string))
	}
	if len(got) != 3 || got[0] != "condeco:5" || got[1] != "condeco:3" || got[2] != "condeco:4" {
		t.Fatalf("order %v, want creation order [condeco:5 condeco:3 condeco:4]", got)
	}

	page := func() answer {
		a := h.do("GET", "/Users?count=2&filter="+url.QueryEscape(`externalId sw "condeco:"`), nil)
		h.expect(a, http.StatusOK, "")
		return a
	}
	if n := page().num("totalResults"); n != 3 {
		t.Fatalf("totalResults %d, want 3", n)
	}
	h.create(user("6@example.com", "condeco:6"))
	if n := page().num("totalResults"); n != 4 {
		t.Fatalf("after a create totalResults %d, want 4", n)
	}
	active := func() int {
		a := h.do("GET", "/Users?count=1", nil) // unfiltered: active users only
		h.expect(a, http.StatusOK, "")
		return a.num("totalResults")
	}
	if n := active(); n != 4 {
		t.Fatalf("unfiltered listing has %d users, want 4", n)
	}
	id := findOne(h, `externalId eq "condeco:6"`)
	h.expect(h.do("PATCH", "/Users/"+id, patch(op("replace", "active", false))), http.StatusOK, "")
	if n := active(); n != 3 {
		t.Fatalf("after a deactivation the unfiltered listing has %d users, want 3", n)
	}
}
