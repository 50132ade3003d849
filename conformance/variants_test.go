package conformance

import "testing"

// TestDayTwoVariants runs day two under configurations and changes that
// send the server other requests than the default: PATCH of active, of
// every user's location list, of userName and emails together, of
// phoneNumbers to an empty list, and re-reads with or batches. Each must
// apply and then converge.
func TestDayTwoVariants(t *testing.T) {
	cases := []struct {
		name  string
		cfg   string
		sql   string // run after day2.sql
		check func(t *testing.T, c census)
	}{
		{name: "deprovision by deactivation", cfg: "deprovision: deactivate\n",
			check: func(t *testing.T, c census) {
				if u, ok := c.byExternalID()["condeco:21"]; !ok || u.Active {
					t.Errorf("departed user condeco:21: want kept and inactive, got %+v (present %v)", u, ok)
				}
			}},
		{name: "new location granted to everyone", cfg: "grant_new_locations_to_existing_users: true\n",
			check: func(t *testing.T, c census) {
				loc, _ := c.location("condeco-location:106")
				without := 0
				for _, u := range c.users {
					if u.Active && !hasLocation(u, loc.ID) {
						without++
					}
				}
				if loc.ID == "" || without > 0 {
					t.Errorf("new location %q: %d active users lack it", loc.ID, without)
				}
			}},
		{name: "email change", sql: "UPDATE tblUsers SET UserName = 'amelia.jones-hart@example.co.uk', Email = 'amelia.jones-hart@example.co.uk' WHERE UserID = 3",
			check: func(t *testing.T, c census) {
				if u := c.byExternalID()["condeco:3"]; u.UserName != "amelia.jones-hart@example.co.uk" {
					t.Errorf("condeco:3 has userName %q after the email change", u.UserName)
				}
			}},
		{name: "phones removed", sql: "UPDATE tblUsers SET Telephone = NULL, Mobile = NULL WHERE UserID = 9",
			check: func(t *testing.T, c census) {
				if u := c.byExternalID()["condeco:9"]; len(u.PhoneNumbers) > 0 {
					t.Errorf("condeco:9 still has phone numbers %v after both were removed", u.PhoneNumbers)
				}
			}},
		{name: "writes verified by re-reading", cfg: "scim_verify_writes: reread\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.cfg)
			e.want(e.run("initial sync", "--run-now"), exitOK)
			e.execFile("day2.sql")
			if c.sql != "" {
				if _, err := e.db.Exec(c.sql); err != nil {
					t.Fatal(err)
				}
			}
			r := e.run("day two, "+c.name, "--run-now")
			e.want(r, exitOK)
			cs := e.census()
			e.intact(cs, e.exported())
			if c.check != nil {
				c.check(t, cs)
			}
			e.converged("final dry run, " + c.name)
		})
	}
}

// TestAdoptHandMadeUser: with adopt_existing_users, a Visitor user made by
// hand with the userName of a Condeco user is claimed. The create is
// refused 409 uniqueness (RFC 7644 §3.3), the sync finds the holder with
// a userName eq filter and PATCHes its externalId and attributes.
func TestAdoptHandMadeUser(t *testing.T) {
	cases := []struct {
		name     string
		userName string // as typed by hand; the export has zoe.patel@example.co.uk
		known    string
	}{
		{name: "same userName", userName: "zoe.patel@example.co.uk"},
		// userName is caseExact false (RFC 7643 §4.1.1), and string
		// comparisons in filters follow caseExact (RFC 7644 §3.4.2.2):
		// the lookup must find Zoe.Patel@Example.co.uk. SCIMMY 1.3.5's
		// Filter.match compares strings case-sensitively whatever the
		// schema says, so the lookup finds nobody.
		{name: "userName differing in case", userName: "Zoe.Patel@Example.co.uk",
			known: "SCIMMY 1.3.5 filters ignore caseExact: userName eq is case-sensitive (RFC 7644 §3.4.2.2, RFC 7643 §4.1.1)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			known(t, c.known)
			e := newEnv(t, "adopt_existing_users: true\n")
			e.handMade(c.userName, "Zoë", "Patel")
			r := e.run("initial sync, hand-made "+c.userName, "--run-now")
			e.want(r, exitOK)
			if rep, _ := e.report(); rep.Counts.Adopted != 1 {
				t.Errorf("want 1 adopted user, report says %d", rep.Counts.Adopted)
			}
			cs := e.census()
			e.intact(cs, e.exported())
			e.converged("dry run after adoption")
		})
	}
}

func hasLocation(u serverUser, id string) bool {
	for _, l := range u.Visitor.Locations {
		if l.Value == id {
			return true
		}
	}
	return false
}
