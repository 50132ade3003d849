package conformance

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// A tenant people also edit, on a server we did not write: between day
// one and day two a superuser sets reception on the default location for
// user 20 (whom day two renames) and admin there for user 25 (an ordinary
// user), and makes a location by hand with the name Condeco gives its new
// office on day two. The sync keeps both roles, each alone on its
// location, adopts the location instead of creating a second one, and
// converges.
func TestHandEditedTenant(t *testing.T) {
	e := newEnv(t, "")
	e.want(e.run("initial sync", "--run-now"), exitOK)
	cs := e.census()
	def := cs.defaultLocation().ID
	for ext, role := range map[string]string{"condeco:20": "reception", "condeco:25": "admin"} {
		u := cs.byExternalID()[ext]
		locs := []map[string]string{}
		for _, l := range u.Visitor.Locations {
			if l.Value != def {
				locs = append(locs, map[string]string{"value": l.Value, "role": l.Role})
			}
		}
		locs = append(locs, map[string]string{"value": def, "role": role})
		e.send(http.MethodPatch, "/Users/"+u.ID, map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []map[string]any{{"op": "replace", "path": visitorUserURN + ":locations", "value": locs}},
		}, http.StatusOK)
	}
	e.send(http.MethodPost, "/Locations", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:extension:eptura:visitor:2.0:Location"},
		"name":    "Manchester Piccadilly",
	}, http.StatusCreated)

	e.execFile("day2.sql")
	e.want(e.run("day two after hand edits", "--run-now"), exitOK)
	cs = e.census()
	e.intact(cs, e.exported())
	for ext, role := range map[string]string{"condeco:20": "reception", "condeco:25": "admin"} {
		var got []string
		for _, l := range cs.byExternalID()[ext].Visitor.Locations {
			if l.Value == def {
				got = append(got, l.Role)
			}
		}
		if !slices.Equal(got, []string{role}) {
			t.Errorf("%s holds %v on the default location, want the hand-set %s alone", ext, got, role)
		}
	}
	var named []serverLocation
	for _, l := range cs.locations {
		if strings.EqualFold(l.Name, "Manchester Piccadilly") {
			named = append(named, l)
		}
	}
	if len(named) != 1 || named[0].ExternalID != "condeco-location:106" {
		t.Errorf("locations named Manchester Piccadilly: %+v; want the hand-made one, adopted (externalId condeco-location:106)", named)
	}
	e.converged("dry run after day two")
}

// Deactivation is reversible on a server we did not write: a row
// deactivated in Condeco deactivates the same account with its access;
// reactivated, the same account is active again.
func TestDeactivationReversible(t *testing.T) {
	e := newEnv(t, "")
	e.want(e.run("initial sync", "--run-now"), exitOK)
	before := e.census().byExternalID()["condeco:26"]
	for _, step := range []struct {
		sql    string
		active bool
	}{
		{"UPDATE tblUsers SET Active = 0 WHERE UserID = 26", false},
		{"UPDATE tblUsers SET Active = 1 WHERE UserID = 26", true},
	} {
		if _, err := e.db.Exec(step.sql); err != nil {
			t.Fatal(err)
		}
		e.want(e.run(step.sql, "--run-now"), exitOK)
		u, ok := e.census().byExternalID()["condeco:26"]
		if !ok || u.ID != before.ID || u.Active != step.active || len(u.Visitor.Locations) != len(before.Visitor.Locations) {
			t.Errorf("after %q: condeco:26 present %v, id %s (was %s), active %v, %d locations (had %d); want the same account, active %v, access kept",
				step.sql, ok, u.ID, before.ID, u.Active, len(u.Visitor.Locations), len(before.Visitor.Locations), step.active)
		}
		e.converged("dry run after " + step.sql)
	}
}
