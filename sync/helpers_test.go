package sync

import (
	"strings"
	"testing"
	"time"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// baseLocs: two Condeco-made locations (loc-1 the default) and one a
// superuser made by hand.
func baseLocs() []visitor.Location {
	return []visitor.Location{
		{ID: "loc-1", ExternalID: "condeco-location:1", Name: "London", Default: true},
		{ID: "loc-2", ExternalID: "condeco-location:2", Name: "Paris"},
		{ID: "loc-h", Name: "Hand-made lobby"},
	}
}

func clocs(ids ...string) []condeco.Location {
	names := map[string]string{"1": "London", "2": "Paris", "3": "Berlin", "4": "Madrid"}
	out := make([]condeco.Location, 0, len(ids))
	for _, id := range ids {
		out = append(out, condeco.Location{ID: id, Name: names[id]})
	}
	return out
}

type umod func(*condeco.User)

func cu(id string, mods ...umod) condeco.User {
	u := condeco.User{ID: id, UserName: "user" + id + "@example.com", Email: "user" + id + "@example.com",
		FirstName: "First" + id, LastName: "Last" + id, LocationID: "1", Language: "en-GB"}
	for _, m := range mods {
		m(&u)
	}
	return u
}

func global(u *condeco.User) { u.GlobalAdmin, u.AccessLevel = true, condeco.LevelGlobalAdmin }
func level(l condeco.AccessLevel) umod {
	return func(u *condeco.User) { u.AccessLevel = l }
}
func email(e string) umod { return func(u *condeco.User) { u.UserName, u.Email = e, e } }
func atLoc(l string) umod { return func(u *condeco.User) { u.LocationID = l } }
func phone(p string) umod { return func(u *condeco.User) { u.Phone = p } }

// acc parses "loc-1:admin,loc-2:user".
func acc(s string) []visitor.Access {
	var out []visitor.Access
	for _, p := range strings.Split(s, ",") {
		if p == "" {
			continue
		}
		l, r, _ := strings.Cut(p, ":")
		if strings.HasPrefix(p, PendingLocationPrefix) { // pending:condeco-location:3:user
			i := strings.LastIndex(p, ":")
			l, r = p[:i], p[i+1:]
		}
		out = append(out, visitor.Access{LocationID: l, Role: visitor.Role(r)})
	}
	return out
}

const allUser = "loc-1:user,loc-2:user,loc-h:user"

type vmod func(*visitor.User)

// vu is the Visitor user that is exactly in sync with cu(id) as an
// ordinary user, unless changed by mods.
func vu(id string, mods ...vmod) visitor.User {
	c := cu(id)
	u := visitor.User{ID: "v-" + id, ExternalID: "condeco:" + id, UserName: c.UserName, Email: c.Email,
		GivenName: c.FirstName, FamilyName: c.LastName, Language: c.Language, Active: true,
		DefaultLocation: "loc-1", Access: acc(allUser), LastModified: t0.AddDate(0, 0, -1)}
	for _, m := range mods {
		m(&u)
	}
	return u
}

func vacc(s string) vmod { return func(u *visitor.User) { u.Access = acc(s) } }
func inactive(days int) vmod {
	return func(u *visitor.User) { u.Active, u.LastModified = false, t0.AddDate(0, 0, -days) }
}

// inactiveFor: deactivated exactly d before t0.
func inactiveFor(d time.Duration) vmod {
	return func(u *visitor.User) { u.Active, u.LastModified = false, t0.Add(-d) }
}
func vlastModifiedZero(u *visitor.User) { u.LastModified = time.Time{} }
func vext(e string) vmod                { return func(u *visitor.User) { u.ExternalID = e } }
func vname(n string) vmod               { return func(u *visitor.User) { u.UserName, u.Email = n, n } }
func vdefault(l string) vmod            { return func(u *visitor.User) { u.DefaultLocation = l } }
func vgiven(n string) vmod              { return func(u *visitor.User) { u.GivenName = n } }
func vphone(p string) vmod              { return func(u *visitor.User) { u.Phone = p } }
func vlastModified(d int) vmod {
	return func(u *visitor.User) { u.LastModified = t0.AddDate(0, 0, -d) }
}
func users(us ...condeco.User) []condeco.User { return us }

func findChange(t *testing.T, cs []UserChange, ext string) UserChange {
	t.Helper()
	for _, c := range cs {
		if c.ExternalID == ext {
			return c
		}
	}
	t.Fatalf("no change for %s in %d changes", ext, len(cs))
	return UserChange{}
}

func wantAccess(t *testing.T, got []visitor.Access, want string) {
	t.Helper()
	if g, w := accessString(got), accessString(acc(want)); g != w {
		t.Errorf("access = %s, want %s", g, w)
	}
}

// wantCounts checks creates, updates, deletes, deactivates, unchanged.
func wantCounts(t *testing.T, p *Plan, c, u, d, x, n int) {
	t.Helper()
	s := p.Summary
	if s.Creates != c || s.Updates != u || s.Deletes != d || s.Deactivates != x || s.Unchanged != n {
		t.Errorf("creates/updates/deletes/deactivates/unchanged = %d/%d/%d/%d/%d, want %d/%d/%d/%d/%d",
			s.Creates, s.Updates, s.Deletes, s.Deactivates, s.Unchanged, c, u, d, x, n)
	}
}

func wantIssue(t *testing.T, is []Issue, ext, reasonPart string) {
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
