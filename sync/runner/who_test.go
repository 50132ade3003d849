package runner

import (
	"testing"

	"condeco-visitor-sync/condeco"
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
