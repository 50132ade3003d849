package visitor

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A user listed with externalId twice (the last one would win in
// encoding/json, and it could be another prefix's) fails the listing,
// naming the member: the run stops before planning, so the user is neither
// created, updated nor deleted.
func TestListingRefusesAUserWithAMemberTwice(t *testing.T) {
	for name, user := range map[string]string{
		"externalId twice":        `{"id":"u1","externalId":"condeco:1","userName":"a@b.c","externalId":"other:1"}`,
		"externalId in two cases": `{"id":"u1","externalId":"condeco:1","userName":"a@b.c","externalID":"other:1"}`,
		"nested, in name":         `{"id":"u1","externalId":"condeco:1","userName":"a@b.c","name":{"givenName":"A","givenName":"B"}}`,
		"in the extension":        `{"id":"u1","externalId":"condeco:1","userName":"a@b.c","` + DefaultUserSchema + `":{"defaultLocation":"l1","defaultLocation":"l2"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/scim+json")
				w.Write([]byte(`{"schemas":["` + ListResponseSchema + `"],"totalResults":1,"startIndex":1,"Resources":[` + user + `]}`))
			}))
			defer srv.Close()
			c, _ := newClient(t, testOptions(srv.URL))
			us, err := c.ListManagedUsers(context.Background(), "condeco:")
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "appears twice") || !strings.Contains(err.Error(), "page 1") {
				t.Fatalf("got %d users, %v; want %v naming the member and the page", len(us), err, ErrMalformed)
			}
		})
	}
}

// A member name given once in another case is the attribute (RFC 7643
// §2.1: names are case-insensitive).
func TestOneMemberInAnotherCaseIsAccepted(t *testing.T) {
	c, _ := newClient(t, testOptions("http://127.0.0.1:1"))
	u, err := c.decodeUser(json.RawMessage(`{"id":"u1","ExternalId":"condeco:1","USERNAME":"a@b.c"}`))
	if err != nil || u.ExternalID != "condeco:1" || u.UserName != "a@b.c" {
		t.Fatalf("got %+v, %v", u, err)
	}
}

// FuzzStrictMembers: on any valid JSON, strictMembers refuses exactly the
// inputs with an object naming a member twice (ignoring case), as an
// independent reading with encoding/json's tokens finds them.
func FuzzStrictMembers(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"A":2}`, `{"a":{"b":1,"b":2}}`, `[{"x":1},{"x":1}]`, `{"a":[{"k":1,"K":1}]}`,
		`{"a\u0062":1,"ab":2}`, `"x"`, `null`, `{"externalId":"condeco:1","userName":"a@b.c"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		err := strictMembers(raw, "x")
		if dup := refDuplicates(raw, true); dup != errors.Is(err, ErrMalformed) {
			t.Fatalf("%q: strictMembers %v, a member named twice %v", raw, err, dup)
		}
	})
}
