package runner

import (
	"testing"

	"condeco-visitor-sync/condeco"

	. "condeco-visitor-sync/sync/internal/synctest"
)

// TestFindPersonPrefersTheActiveRow: a rehire shares the email of the
// deactivated row it replaces; by email, --explain and --only mean the
// active row, by id either row.
func TestFindPersonPrefersTheActiveRow(t *testing.T) {
	exp := &condeco.Export{Users: []condeco.User{
		{ID: "10", UserName: "ana@example.com", Email: "ana@example.com", Inactive: true},
		{ID: "20", UserName: "ana@example.com", Email: "ana@example.com"},
		{ID: "30", UserName: "bo@example.com", Email: "bo@example.com", Inactive: true},
	}}
	for _, c := range []struct{ who, want string }{
		{"ANA@example.com", "condeco:20"},
		{"10", "condeco:10"},
		{"condeco:10", "condeco:10"},
		{"bo@example.com", "condeco:30"}, // deactivated, and no one else
	} {
		if p := findPerson(exp, "condeco:", c.who); p.Row == nil || p.ExternalID != c.want {
			t.Errorf("findPerson(%q) = %+v, want %s", c.who, p, c.want)
		}
	}
}

// TestOnlyRehireDeletesTheOldAccount: --only for a rehire (by the shared
// email) carries the deletion of the inactive old account that frees the
// userName, so the create is not refused; no one else is touched.
func TestOnlyRehireDeletesTheOldAccount(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1"), VU("2", Inactive(5)), VU("3"))
	old := CU("2")
	old.Inactive = true
	r, _ := newRunner(export(CU("1"), old, CU("10", Email("user2@example.com"))), f, nil)
	rep := run(t, r, Flags{Only: []string{"user2@example.com"}})
	if c := rep.Counts; c.Deleted != 1 || c.Created != 1 {
		t.Fatalf("counts %+v, want the old account deleted and the new one created", c)
	}
	if _, ok := f.ByExt("condeco:2"); ok {
		t.Error("the old account is still there")
	}
	if _, ok := f.ByExt("condeco:3"); !ok {
		t.Error("condeco:3, a leaver not named by --only, was deleted")
	}
	if u, ok := f.ByExt("condeco:10"); !ok || u.UserName != "user2@example.com" {
		t.Errorf("the rehire: %+v, %v", u, ok)
	}
}
