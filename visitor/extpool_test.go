package visitor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"condeco-visitor-sync/visitor/simulator"
)

// Users with the same locations share one list after decoding, and the
// list is clipped so that an append by a caller copies rather than writes
// into another user's access. Equal given names, surnames and languages
// are one string too (each user's are decoded into their own
// allocations), and so are a user's email and userName. Each user comes
// on a page of its own with a garbage collection before each page: the
// unique package forgets a value whose handles are gone.
func TestListedUsersShareLocationLists(t *testing.T) {
	simURL, _ := startSim(t, simulator.Options{Token: testToken})
	target, err := url.Parse(simURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	collecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(collecting.Close)
	o := testOptions(collecting.URL + target.Path)
	o.PageSize = 1
	c, _ := newClient(t, o)
	ctx := context.Background()
	locs, err := c.ListLocations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	annex, err := c.CreateLocation(ctx, Location{ExternalID: "condeco-location:2", Name: "Annex"})
	if err != nil {
		t.Fatal(err)
	}
	every := []Access{{LocationID: locs[0].ID, Role: RoleUser}, {LocationID: annex.ID, Role: RoleUser}}
	for i := 1; i <= 3; i++ {
		u := sampleUser(i)
		u.GivenName, u.FamilyName, u.Language = "Siobhán", "Smith", "en-GB"
		u.DefaultLocation, u.Access = locs[0].ID, every
		if i == 3 {
			u.Access = []Access{{LocationID: locs[0].ID, Role: RoleAdmin}, {LocationID: annex.ID, Role: RoleUser}}
		}
		if _, err := c.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	us, err := c.ListManagedUsers(ctx, "condeco:")
	if err != nil || len(us) != 3 {
		t.Fatalf("%d users, %v", len(us), err)
	}
	byExt := map[string]User{}
	for _, u := range us {
		byExt[u.ExternalID] = u
	}
	a, b, admin := byExt[sampleUser(1).ExternalID], byExt[sampleUser(2).ExternalID], byExt[sampleUser(3).ExternalID]
	if !slices.Equal(a.Access, every) || !slices.Equal(b.Access, every) || admin.Access[0].Role != RoleAdmin {
		t.Fatalf("access %v / %v / %v", a.Access, b.Access, admin.Access)
	}
	if &a.Access[0] != &b.Access[0] {
		t.Error("two users with the same locations hold two copies of the list")
	}
	if &a.Access[0] == &admin.Access[0] {
		t.Error("users with different roles share a list")
	}
	if cap(a.Access) != len(a.Access) {
		t.Errorf("shared list has room to grow (len %d, cap %d): an append would write into another user", len(a.Access), cap(a.Access))
	}
	grown := append(a.Access, Access{LocationID: "x", Role: RoleUser})
	if &grown[0] == &b.Access[0] || len(b.Access) != 2 {
		t.Error("appending to one user's list changed another's")
	}
	same := func(x, y string) bool { return x == y && unsafe.StringData(x) == unsafe.StringData(y) }
	for _, u := range []User{b, admin} {
		if !same(u.GivenName, a.GivenName) || !same(u.FamilyName, a.FamilyName) || !same(u.Language, a.Language) {
			t.Errorf("%s does not share its names with %s", u.UserName, a.UserName)
		}
	}
	for _, u := range us {
		if !same(u.Email, u.UserName) {
			t.Errorf("%s: email and userName are two strings", u.UserName)
		}
	}
}
