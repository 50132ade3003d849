// Package synctest holds what the tests of the sync packages share: short
// builders of Condeco and Visitor users, plan assertions, and Fake, an
// in-memory Visitor for tests that need no HTTP.
package synctest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/visitor"
)

var T0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// BaseLocs: two Condeco-made locations (loc-1 the default) and one a
// superuser made by hand.
func BaseLocs() []visitor.Location {
	return []visitor.Location{
		{ID: "loc-1", ExternalID: "condeco-location:1", Name: "London", Default: true},
		{ID: "loc-2", ExternalID: "condeco-location:2", Name: "Paris"},
		{ID: "loc-h", Name: "Hand-made lobby"},
	}
}

func CLocs(ids ...string) []condeco.Location {
	names := map[string]string{"1": "London", "2": "Paris", "3": "Berlin", "4": "Madrid"}
	out := make([]condeco.Location, 0, len(ids))
	for _, id := range ids {
		out = append(out, condeco.Location{ID: id, Name: names[id]})
	}
	return out
}

type UMod func(*condeco.User)

func CU(id string, mods ...UMod) condeco.User {
	u := condeco.User{ID: id, UserName: "user" + id + "@example.com", Email: "user" + id + "@example.com",
		FirstName: "First" + id, LastName: "Last" + id, LocationID: "1", Language: "en-GB"}
	for _, m := range mods {
		m(&u)
	}
	return u
}

func Global(u *condeco.User) { u.GlobalAdmin, u.AccessLevel = true, condeco.LevelGlobalAdmin }
func Level(l condeco.AccessLevel) UMod {
	return func(u *condeco.User) { u.AccessLevel = l }
}
func Email(e string) UMod { return func(u *condeco.User) { u.UserName, u.Email = e, e } }
func AtLoc(l string) UMod { return func(u *condeco.User) { u.LocationID = l } }
func Phone(p string) UMod { return func(u *condeco.User) { u.Phone = p } }

// Acc parses "loc-1:admin,loc-2:user".
func Acc(s string) []visitor.Access {
	var out []visitor.Access
	for _, p := range strings.Split(s, ",") {
		if p == "" {
			continue
		}
		l, r, _ := strings.Cut(p, ":")
		if strings.HasPrefix(p, plan.PendingLocationPrefix) { // pending:condeco-location:3:user
			i := strings.LastIndex(p, ":")
			l, r = p[:i], p[i+1:]
		}
		out = append(out, visitor.Access{LocationID: l, Role: visitor.Role(r)})
	}
	return out
}

const AllUser = "loc-1:user,loc-2:user,loc-h:user"

type VMod func(*visitor.User)

// VU is the Visitor user that is exactly in sync with CU(id) as an
// ordinary user, unless changed by mods.
func VU(id string, mods ...VMod) visitor.User {
	c := CU(id)
	u := visitor.User{ID: "v-" + id, ExternalID: "condeco:" + id, UserName: c.UserName, Email: c.Email,
		GivenName: c.FirstName, FamilyName: c.LastName, Language: c.Language, Active: true,
		DefaultLocation: "loc-1", Access: Acc(AllUser), LastModified: T0.AddDate(0, 0, -1)}
	for _, m := range mods {
		m(&u)
	}
	return u
}

func VAcc(s string) VMod { return func(u *visitor.User) { u.Access = Acc(s) } }
func Inactive(days int) VMod {
	return func(u *visitor.User) { u.Active, u.LastModified = false, T0.AddDate(0, 0, -days) }
}

// InactiveFor: deactivated exactly d before T0.
func InactiveFor(d time.Duration) VMod {
	return func(u *visitor.User) { u.Active, u.LastModified = false, T0.Add(-d) }
}
func VLastModifiedZero(u *visitor.User) { u.LastModified = time.Time{} }
func VExt(e string) VMod                { return func(u *visitor.User) { u.ExternalID = e } }
func VName(n string) VMod               { return func(u *visitor.User) { u.UserName, u.Email = n, n } }
func VDefault(l string) VMod            { return func(u *visitor.User) { u.DefaultLocation = l } }
func VGiven(n string) VMod              { return func(u *visitor.User) { u.GivenName = n } }
func VPhone(p string) VMod              { return func(u *visitor.User) { u.Phone = p } }
func VLastModified(d int) VMod {
	return func(u *visitor.User) { u.LastModified = T0.AddDate(0, 0, -d) }
}
func Users(us ...condeco.User) []condeco.User { return us }

func FindChange(t *testing.T, cs []plan.UserChange, ext string) plan.UserChange {
	t.Helper()
	for _, c := range cs {
		if c.ExternalID == ext {
			return c
		}
	}
	t.Fatalf("no change for %s in %d changes", ext, len(cs))
	return plan.UserChange{}
}

func WantAccess(t *testing.T, got []visitor.Access, want string) {
	t.Helper()
	if g, w := visitor.AccessString(got), visitor.AccessString(Acc(want)); g != w {
		t.Errorf("access = %s, want %s", g, w)
	}
}

// WantCounts checks creates, updates, deletes, deactivates, unchanged.
func WantCounts(t *testing.T, p *plan.Plan, c, u, d, x, n int) {
	t.Helper()
	s := p.Summary
	if s.Creates != c || s.Updates != u || s.Deletes != d || s.Deactivates != x || s.Unchanged != n {
		t.Errorf("creates/updates/deletes/deactivates/unchanged = %d/%d/%d/%d/%d, want %d/%d/%d/%d/%d",
			s.Creates, s.Updates, s.Deletes, s.Deactivates, s.Unchanged, c, u, d, x, n)
	}
}

func WantIssue(t *testing.T, is []plan.Issue, ext, reasonPart string) {
	t.Helper()
	for _, i := range is {
		if i.ExternalID == ext {
			if !strings.Contains(i.Reason, reasonPart) {
				t.Errorf("issue for %s: reason %q lacks %q", ext, i.Reason, reasonPart)
			}
			return
		}
	}
	t.Errorf("no issue for %s in %+v", ext, is)
}

// MustJSON is v as compact JSON, for comparing plans.
func MustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
