package condeco

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestActiveColumn reads the users query's optional active column on
// SQLite: present (the default query: deactivated rows exported with
// their state), absent (a replacement query without it: every row it
// returns is active, as before the column existed), NULL (active), and a
// value that is none of the known ones (the row held, naming the row and
// the rule, never read as gone or as deactivated).
func TestActiveColumn(t *testing.T) {
	// Rows 10 and 11 are plain employees of the sample; 62 is deactivated
	// there. 12 gets a NULL state, 13 a word the reader does not know.
	prep := []string{
		`UPDATE tblUsers SET Active = 0 WHERE UserID = 11`,
	}
	withCol := func(expr string) string {
		return strings.Replace(DefaultUsersQuery, "u.Active            AS active", expr+" AS active", 1)
	}
	cases := []struct {
		name  string
		query string // "" = the default
		check func(t *testing.T, e *Export, byID map[string]User)
	}{
		{name: "present: deactivated rows exported with their state", check: func(t *testing.T, e *Export, byID map[string]User) {
			for id, inactive := range map[string]bool{"10": false, "11": true, "62": true} {
				if u, ok := byID[id]; !ok || u.Inactive != inactive {
					t.Errorf("user %s: exported %v inactive %v, want exported, inactive %v", id, ok, u.Inactive, inactive)
				}
			}
			if byID["11"].UserName == "" {
				t.Error("a valid deactivated row lost its userName")
			}
		}},
		{name: "absent: a replacement query without the column keeps its own filter", query: strings.Replace(
			strings.Replace(DefaultUsersQuery, ",\n    u.Active            AS active", "", 1),
			"WHERE u.Deleted = 0", "WHERE u.Deleted = 0 AND u.Active = @active", 1),
			check: func(t *testing.T, e *Export, byID map[string]User) {
				if _, ok := byID["11"]; ok {
					t.Error("user 11 exported by a query that filters deactivated rows")
				}
				if u, ok := byID["10"]; !ok || u.Inactive {
					t.Errorf("user 10: exported %v inactive %v, want active", ok, u.Inactive)
				}
				for _, u := range e.Users {
					if u.Inactive {
						t.Fatalf("user %s inactive without an active column", u.ID)
					}
				}
			}},
		{name: "NULL is active", query: withCol("CASE WHEN u.UserID IN (10, 11) THEN NULL ELSE u.Active END"),
			check: func(t *testing.T, e *Export, byID map[string]User) {
				for _, id := range []string{"10", "11"} {
					if u, ok := byID[id]; !ok || u.Inactive {
						t.Errorf("user %s: exported %v inactive %v, want active", id, ok, u.Inactive)
					}
				}
				if !byID["62"].Inactive {
					t.Error("user 62 not deactivated")
				}
			}},
		{name: "true and false as words", query: withCol("CASE u.Active WHEN 1 THEN 'True' ELSE 'false' END"),
			check: func(t *testing.T, e *Export, byID map[string]User) {
				if byID["10"].Inactive || !byID["11"].Inactive {
					t.Errorf("user 10 inactive %v, 11 inactive %v; want false, true", byID["10"].Inactive, byID["11"].Inactive)
				}
			}},
		{name: "bad value: the row is held with the rule", query: withCol("CASE WHEN u.UserID = 10 THEN 'gone' WHEN u.UserID = 12 THEN 2 ELSE u.Active END"),
			check: func(t *testing.T, e *Export, byID map[string]User) {
				for _, id := range []string{"10", "12"} {
					if _, ok := byID[id]; ok || !slices.Contains(e.Held, id) {
						t.Errorf("user %s: exported %v, held %v; want held", id, ok, e.Held)
					}
					want := "users row " + id + ": field active: " + RuleActive
					if !slices.ContainsFunc(e.Problems, func(p RowError) bool { return p.Error() == want }) {
						t.Errorf("no problem %q in %v", want, e.Problems)
					}
				}
				if !byID["11"].Inactive {
					t.Error("user 11 not deactivated")
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := sampleOptions()
			if c.query != "" {
				o.UsersQuery = c.query
			}
			s := openSQLite(t, o, "schema.sql", "sample.sql")
			for _, q := range prep {
				if _, err := s.DB().Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			e, byID := exportIndexed(t, s)
			c.check(t, e, byID)
		})
	}
}

// TestDeactivatedRowClaimsNoUserName: a rehire, a new row with the email
// of a deactivated one, is exported beside it; neither is held. Two
// active rows with one email still hold each other.
func TestDeactivatedRowClaimsNoUserName(t *testing.T) {
	s := openSQLite(t, sampleOptions(), "schema.sql", "sample.sql")
	for _, q := range []string{
		`UPDATE tblUsers SET Active = 0 WHERE UserID = 10`,
		`INSERT INTO tblUsers (UserID, UserName, Email, FirstName, LastName, AccessLevel, UserType, Active, Deleted)
		 SELECT 990, UPPER(UserName), Email, FirstName, LastName, 0, 1, 1, 0 FROM tblUsers WHERE UserID = 10`,
	} {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	e, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var old, rehire *User
	for i := range e.Users {
		switch e.Users[i].ID {
		case "10":
			old = &e.Users[i]
		case "990":
			rehire = &e.Users[i]
		}
	}
	if old == nil || rehire == nil || !old.Inactive || rehire.Inactive || old.UserName != rehire.UserName {
		t.Fatalf("old %+v, rehire %+v: want both exported, the old one deactivated, one userName", old, rehire)
	}
	if slices.Contains(e.Held, "10") || slices.Contains(e.Held, "990") {
		t.Fatalf("held = %v", e.Held)
	}
}

// TestOptionalColumnsNeverHoldARow: a title or a city that breaks a text
// rule is dropped with a warning naming the row; the user and the
// location are exported (only generic-v1 sends either value).
func TestOptionalColumnsNeverHoldARow(t *testing.T) {
	long := strings.Repeat("x", 80)
	u := validateUser(RawUser{ID: ns("1"), UserName: ns("a@example.com"), FirstName: ns("A"), LastName: ns("B"), Title: ns("Head\tof desk")},
		rules, newRowCache())
	if len(u.Problems) != 0 || u.User.Title != "" || len(u.Warnings) != 1 || u.Warnings[0].Field != "title" {
		t.Errorf("user: problems %v, title %q, warnings %v", u.Problems, u.User.Title, u.Warnings)
	}
	l, probs := ValidateLocation(RawLocation{ID: ns("7"), Name: ns("Leeds"), City: ns(long)})
	if len(probs) != 0 || l.City != "" || l.cityDropped == "" {
		t.Errorf("location: problems %v, city %q, dropped %q", probs, l.City, l.cityDropped)
	}
}
