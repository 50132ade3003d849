package conformance

import (
	"slices"
	"strings"
	"testing"
)

// TestWholeSync is the demo's sequence against SCIMMY: the initial sync,
// a second run with nothing to do, day two, and a final dry run. Each
// step's exit code, plan and writes are checked against the server's own
// state, so what the simulator proved is proved again against someone
// else's SCIM.
func TestWholeSync(t *testing.T) {
	e := newEnv(t, "")
	want := e.exported()

	// (a) The initial sync creates every exported user, once.
	r := e.run("initial sync", "--run-now")
	e.want(r, exitOK)
	c := e.census()
	e.intact(c, want)
	if inv := e.server.invitations(); len(inv) == 0 {
		t.Errorf("invitations: send, and the server sent no invitation on the initial sync")
	}
	def := c.defaultLocation()
	if def.ID == "" {
		t.Fatal("the server has no default location")
	}
	// A Global admin is admin on the integration's default location, and
	// everyone's default location is that one (docs/sync-rules.md).
	admin := c.byExternalID()["condeco:1"]
	if admin.Visitor.DefaultLocation != def.ID || !hasRole(admin, def.ID, "admin") {
		t.Errorf("Global admin condeco:1 on the server: default %q, locations %v; want default %s with role admin",
			admin.Visitor.DefaultLocation, admin.Visitor.Locations, def.ID)
	}
	t.Logf("RESULT initial sync: server holds %d users for %d exported, %d locations, %d invitations",
		len(c.users), len(want), len(c.locations), len(e.server.invitations()))

	// --check talks to the server as a run would and says it is fine.
	r = e.run("check", "--check")
	e.want(r, exitOK)
	t.Logf("--check says:\n%s", r.stdout)
	if r.writes != 0 {
		t.Errorf("--check wrote to the server:\n%s", r)
	}

	// (b) A second run finds nothing to do and writes nothing.
	r = e.run("second run", "--run-now")
	e.want(r, exitOK)
	if r.planned != 0 || r.writes != 0 {
		t.Errorf("second run: want 0 planned changes and 0 writes:\n%s", r)
	}

	// (c) Day two: a new user, a renamed user, a departed user, a new
	// location and a promotion, applied in one run.
	invited := len(e.server.invitations())
	e.execFile("day2.sql")
	want = e.exported()
	r = e.run("day two", "--run-now")
	e.want(r, exitOK)
	if r.planned != 5 {
		t.Errorf("day two: want the 5 changes of day2.sql planned:\n%s", r)
	}
	c = e.census()
	e.intact(c, want)
	byExt := c.byExternalID()
	if u, ok := byExt["condeco:231"]; !ok || !strings.EqualFold(u.UserName, "ingrid.solberg@example.co.uk") {
		t.Errorf("new starter condeco:231 not on the server as ingrid.solberg@example.co.uk: %+v", u)
	}
	if got := e.server.invitations()[invited:]; !slices.Equal(got, []string{"ingrid.solberg@example.co.uk"}) {
		t.Errorf("day two invitations: %v, want only the new starter's", got)
	}
	if u := byExt["condeco:20"]; u.Name.FamilyName != "Sato-Hart" {
		t.Errorf("renamed user condeco:20 has familyName %q, want Sato-Hart", u.Name.FamilyName)
	}
	if _, ok := byExt["condeco:21"]; ok {
		t.Errorf("departed user condeco:21 is still on the server")
	}
	if _, ok := c.location("condeco-location:106"); !ok {
		t.Errorf("new location condeco-location:106 (Manchester Piccadilly) is not on the server")
	}
	if u := byExt["condeco:22"]; !hasRole(u, def.ID, "admin") {
		t.Errorf("promoted user condeco:22 is not admin on the default location: %v", u.Visitor.Locations)
	}
	t.Logf("RESULT day two: server holds %d users for %d exported, %d locations", len(c.users), len(want), len(c.locations))

	// (d) The final dry run plans nothing.
	e.converged("final dry run")
}

func hasRole(u serverUser, location, role string) bool {
	for _, l := range u.Visitor.Locations {
		if l.Value == location && l.Role == role {
			return true
		}
	}
	return false
}
