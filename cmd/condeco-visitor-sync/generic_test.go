package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

const genericCfg = "visitor_api: generic-v1\nvisitor_location_name: London Bridge\n"

// newGenericFixture is the fixture against a simulator speaking Eptura's
// documented Generic SCIM integration.
func newGenericFixture(t *testing.T, o simulator.Options, extra string) *fixture {
	t.Helper()
	o.API = simulator.APIGenericV1
	return newFixture(t, o, genericCfg+extra)
}

// scimUsers are the users the generic simulator holds that came through
// SCIM, by userName.
func scimUsers(s *simulator.Server) map[string]simulator.User {
	out := map[string]simulator.User{}
	for _, u := range s.Users() {
		if u.ViaSCIM {
			out[u.UserName] = u
		}
	}
	return out
}

// TestGenericRunNowConverges: under generic-v1 the sync creates every
// active Condeco user with userName = work email, the city of their home
// location and their title, records each as its own, converges, applies
// day two (update, delete, create), and lists in the day-two report the
// work left to a person: admins to make, locations, mapping rules.
func TestGenericRunNowConverges(t *testing.T) {
	t.Parallel()
	f := newGenericFixture(t, simulator.Options{}, "")
	ctx := context.Background()

	code, out, errs := f.run(ctx, "--check")
	if code != service.ExitOK || !strings.Contains(out, "visitor profile: generic-v1 (matches visitor_api)") {
		t.Fatalf("--check exit %d:\n%s\n%s", code, out, errs)
	}
	code, out, errs = f.run(ctx, "--run-now")
	if code != service.ExitOK {
		t.Fatalf("first run exit %d\n%s\n%s", code, out, errs)
	}
	users := scimUsers(f.sim)
	if want := exportCount(t, f); len(users) != want {
		t.Fatalf("simulator holds %d SCIM users, export has %d active", len(users), want)
	}
	for name, u := range users {
		if len(u.Emails) != 1 || u.Emails[0].Value != name || u.Emails[0].Type != "work" || len(u.Locations) != 0 || u.ExternalID != "" {
			t.Fatalf("user %s: emails %+v, locations %v, externalId %q", name, u.Emails, u.Locations, u.ExternalID)
		}
	}
	first := users["mohammed.alali@example.ae"] // Condeco user 1: Dubai Internet City, a title
	if first.Title != "Facilities Manager" || len(first.Addresses) != 1 || first.Addresses[0].Locality != "Dubai" {
		t.Errorf("user 1 title %q addresses %+v; want Facilities Manager in Dubai", first.Title, first.Addresses)
	}
	owned, found := readOwnership(t, f)
	if !found || len(owned) != len(users) {
		t.Fatalf("ownership record: found %v, %d users; want %d", found, len(owned), len(users))
	}
	code, out, _ = f.run(ctx, "--run-now", "--dry-run")
	if code != service.ExitOK || !strings.Contains(out, "planned changes: 0") {
		t.Fatalf("second dry run should plan nothing (exit %d):\n%s", code, out)
	}
	if !strings.Contains(out, "by hand in Visitor (unchanged since the last run") {
		t.Errorf("dry run lacks the unchanged by-hand list:\n%s", out)
	}

	if err := condeco.ExecFile(ctx, f.db, filepath.Join("..", "..", "testdata", "condeco", "day2.sql")); err != nil {
		t.Fatal(err)
	}
	code, out, errs = f.run(ctx, "--run-now")
	if code != service.ExitOK {
		t.Fatalf("day-two run exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "by hand in Visitor:") || !strings.Contains(out, "changed: true") {
		t.Errorf("day-two summary lacks a changed by-hand list:\n%s", out)
	}
	if _, ok := scimUsers(f.sim)["ingrid.solberg@example.co.uk"]; !ok {
		t.Error("day two's new user was not created")
	}
	rep := lastReport(t, f)
	if rep.Plan == nil || rep.Plan.ByHand == nil {
		t.Fatalf("day-two report has no by-hand list")
	}
	h := rep.Plan.ByHand
	if h.Location != "London Bridge" || !h.Changed {
		t.Errorf("by-hand location %q changed %v", h.Location, h.Changed)
	}
	var piccadilly bool
	for _, l := range h.Locations {
		if l.Name == "Manchester Piccadilly" && l.New {
			piccadilly = true
		}
		if l.Name == "London Bridge" {
			t.Error("the integration's own location is listed as one to map")
		}
	}
	if !piccadilly {
		t.Errorf("day two's new location is not on the by-hand list as new: %+v", h.Locations)
	}
	if len(h.MakeAdmin) < 4 || len(h.MappingRules) != len(h.Locations) {
		t.Errorf("by-hand admins %v, %d rules for %d locations", h.MakeAdmin, len(h.MappingRules), len(h.Locations))
	}
	if _, err := os.Stat(filepath.Join(f.dir, "state", "byhand.json")); err != nil {
		t.Errorf("byhand.json: %v", err)
	}
	code, out, _ = f.run(ctx, "--run-now", "--dry-run")
	if code != service.ExitOK || !strings.Contains(out, "planned changes: 0") {
		t.Fatalf("day-two data once more should plan nothing (exit %d):\n%s", code, out)
	}
}

func readOwnership(t *testing.T, f *fixture) ([]state.OwnedUser, bool) {
	t.Helper()
	d, err := state.Open(filepath.Join(f.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	users, found, err := d.ReadOwnership()
	if err != nil {
		t.Fatal(err)
	}
	return users, found
}

// TestGenericLostOwnershipStopsAndRebuilds: without its ownership record
// the sync cannot tell its users from anyone else's, so the run stops
// (exit 12) and says how to rebuild; the rebuild's dry run writes
// nothing, the rebuild itself gives back exactly the record, and the sync
// converges again without deleting or creating anyone.
func TestGenericLostOwnershipStopsAndRebuilds(t *testing.T) {
	t.Parallel()
	f := newGenericFixture(t, simulator.Options{}, "")
	ctx := context.Background()
	if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
		t.Fatalf("first run exit %d\n%s\n%s", code, out, errs)
	}
	before, _ := readOwnership(t, f)
	for _, name := range []string{state.OwnershipFile, state.OwnershipJournal} {
		os.Remove(filepath.Join(f.dir, "state", name))
	}
	// A departure while the record is lost must not become a deletion.
	if _, err := f.db.Exec(`UPDATE tblUsers SET Deleted = 1 WHERE UserID = 4`); err != nil {
		t.Fatal(err)
	}
	held := len(scimUsers(f.sim))

	code, out, errs := f.run(ctx, "--run-now")
	if code != service.ExitTargetGuard || !strings.Contains(out+errs, "--rebuild-ownership") {
		t.Fatalf("run without the record: exit %d, want %d naming --rebuild-ownership\n%s\n%s", code, service.ExitTargetGuard, out, errs)
	}
	if n := len(scimUsers(f.sim)); n != held {
		t.Fatalf("the stopped run changed Visitor: %d users, had %d", n, held)
	}

	code, out, errs = f.run(ctx, "--rebuild-ownership", "--dry-run")
	if code != service.ExitOK || !strings.Contains(out, "dry run: nothing written") {
		t.Fatalf("rebuild dry run exit %d\n%s\n%s", code, out, errs)
	}
	if _, found := readOwnership(t, f); found {
		t.Fatal("the rebuild's dry run wrote the record")
	}
	if !strings.Contains(out, "in Visitor only (never touched): 1") {
		t.Errorf("the departed user should be listed as Visitor-only:\n%s", out)
	}

	code, out, errs = f.run(ctx, "--rebuild-ownership")
	if code != service.ExitOK {
		t.Fatalf("rebuild exit %d\n%s\n%s", code, out, errs)
	}
	after, found := readOwnership(t, f)
	if !found || len(after) != len(before)-1 {
		t.Fatalf("rebuilt record holds %d users (found %v), want %d (all but the departed one)", len(after), found, len(before)-1)
	}
	code, out, _ = f.run(ctx, "--run-now", "--dry-run")
	if code != service.ExitOK || !strings.Contains(out, "planned changes: 0") {
		t.Fatalf("after the rebuild a dry run should plan nothing (exit %d):\n%s", code, out)
	}
}

// TestGenericHandMadeUsers: users made by hand in Visitor are never the
// sync's: one that is not in Condeco is never touched; one with a Condeco
// user's email is a named conflict, or adopted with adopt_existing_users.
func TestGenericHandMadeUsers(t *testing.T) {
	t.Parallel()
	for _, adopt := range []bool{false, true} {
		name := "conflict"
		if adopt {
			name = "adopted"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			extra := ""
			if adopt {
				extra = "adopt_existing_users: true\n"
			}
			f := newGenericFixture(t, simulator.Options{}, extra)
			ctx := context.Background()
			stranger := f.sim.AddHandmadeUser(simulator.User{UserName: "visitor.desk@example.com", GivenName: "Front", FamilyName: "Desk",
				Emails: []simulator.Email{{Value: "visitor.desk@example.com", Type: "work", Primary: true}}, Active: true})
			twin := f.sim.AddHandmadeUser(simulator.User{UserName: "mohammed.alali@example.ae", GivenName: "M", FamilyName: "A",
				Emails: []simulator.Email{{Value: "mohammed.alali@example.ae", Type: "work", Primary: true}}, Active: true})
			code, out, errs := f.run(ctx, "--run-now")
			want := service.ExitPartial // the twin is a conflict
			if adopt {
				want = service.ExitOK
			}
			if code != want {
				t.Fatalf("run exit %d, want %d\n%s\n%s", code, want, out, errs)
			}
			if _, ok := f.sim.User(stranger.ID); !ok {
				t.Fatal("a hand-made user not in Condeco was deleted")
			}
			owned, _ := readOwnership(t, f)
			var twinOwned bool
			for _, o := range owned {
				if o.ID == stranger.ID {
					t.Error("the hand-made stranger is in the ownership record")
				}
				twinOwned = twinOwned || o.ID == twin.ID
			}
			if twinOwned != adopt {
				t.Errorf("hand-made twin owned %v, want %v", twinOwned, adopt)
			}
			if !adopt && !strings.Contains(out+errs, "mohammed.alali@example.ae") {
				t.Errorf("the conflict does not name the user:\n%s", out)
			}
			if adopt {
				u, _ := f.sim.User(twin.ID)
				if u.GivenName != "محمد" || u.Title != "Facilities Manager" {
					t.Errorf("adopted twin not updated from Condeco: %q %q", u.GivenName, u.Title)
				}
				if code, out, _ := f.run(ctx, "--run-now", "--dry-run"); code != service.ExitOK || !strings.Contains(out, "planned changes: 0") {
					t.Fatalf("after adoption a dry run should plan nothing (exit %d):\n%s", code, out)
				}
			}
		})
	}
}

// TestCheckNamesTheProfile: --check asks both discovery paths and names
// the profile that answered; a configuration for the other one is a
// configuration error that says which to set.
func TestCheckNamesTheProfile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		simAPI string
		cfg    string
		want   service.ExitCode
		says   string
	}{
		{"generic server, generic config", simulator.APIGenericV1, genericCfg, service.ExitOK, "visitor profile: generic-v1 (matches visitor_api)"},
		{"generic server, scim2 config", simulator.APIGenericV1, "", service.ExitConfig, "visitor profile: generic-v1 answered, but visitor_api is scim2: set visitor_api: generic-v1"},
		{"scim2 server, scim2 config", simulator.APIScim2, "", service.ExitOK, "visitor profile: scim2 (matches visitor_api)"},
		{"scim2 server, generic config", simulator.APIScim2, genericCfg, service.ExitConfig, "visitor profile: scim2 answered, but visitor_api is generic-v1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, simulator.Options{API: tc.simAPI}, tc.cfg)
			code, out, errs := f.run(context.Background(), "--check")
			if code != tc.want || !strings.Contains(out, tc.says) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s\n%s", code, tc.want, tc.says, out, errs)
			}
			if strings.Contains(out+errs, testToken) {
				t.Error("--check printed the token")
			}
		})
	}
}

// TestGenericUpdatesByPutOrPatch: updates replace the whole user (PUT)
// unless the server's ServiceProviderConfigs says PATCH is supported.
func TestGenericUpdatesByPutOrPatch(t *testing.T) {
	t.Parallel()
	for _, patch := range []bool{false, true} {
		name := "put"
		if patch {
			name = "patch"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newGenericFixture(t, simulator.Options{GenericPatch: patch}, "")
			ctx := context.Background()
			if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
				t.Fatalf("first run exit %d\n%s\n%s", code, out, errs)
			}
			if _, err := f.db.Exec(`UPDATE tblUsers SET FirstName = 'Changed' WHERE UserID IN (5, 6, 7)`); err != nil {
				t.Fatal(err)
			}
			before := f.sim.Stats()
			if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
				t.Fatalf("update run exit %d\n%s\n%s", code, out, errs)
			}
			after := f.sim.Stats()
			puts := after.ByMethod["PUT"] - before.ByMethod["PUT"]
			patches := after.ByMethod["PATCH"] - before.ByMethod["PATCH"]
			if (patch && (patches != 3 || puts != 0)) || (!patch && (puts != 3 || patches != 0)) {
				t.Fatalf("%d PUT, %d PATCH for 3 updates (server patch support %v)", puts, patches, patch)
			}
			if code, out, _ := f.run(ctx, "--run-now", "--dry-run"); code != service.ExitOK || !strings.Contains(out, "planned changes: 0") {
				t.Fatalf("after the updates a dry run should plan nothing (exit %d):\n%s", code, out)
			}
		})
	}
}

// TestGenericIntegrations: with visitor_integrations every user is
// provisioned into each integration's location directly, each keeping its
// own ownership record; the by-hand list needs no mapping rule for a
// location an integration serves; a later run converges everywhere.
func TestGenericIntegrations(t *testing.T) {
	t.Parallel()
	f, sim2, tokenFile := newIntegrationsFixture(t)
	ctx := context.Background()
	code, out, errs := f.run(ctx, "--check")
	if code != service.ExitOK || !strings.Contains(out, "integration Dubai Marina: ok") {
		t.Fatalf("--check exit %d, or the integration not checked:\n%s\n%s", code, out, errs)
	}
	code, out, errs = f.run(ctx, "--run-now")
	if code != service.ExitOK {
		t.Fatalf("run exit %d\n%s\n%s", code, out, errs)
	}
	want := exportCount(t, f)
	if a, b := len(scimUsers(f.sim)), len(scimUsers(sim2)); a != want || b != want {
		t.Fatalf("main integration holds %d users, Dubai Marina %d; export has %d", a, b, want)
	}
	if !strings.Contains(out, "integration Dubai Marina: created "+strconv.Itoa(want)) {
		t.Errorf("summary lacks the integration's line:\n%s", out)
	}
	d, err := state.Open(filepath.Join(f.dir, "state", "integrations", "dubai-marina"))
	if err != nil {
		t.Fatal(err)
	}
	if owned, found, err := d.ReadOwnership(); err != nil || !found || len(owned) != want {
		t.Fatalf("Dubai Marina's ownership record: %d users, found %v, err %v", len(owned), found, err)
	}
	h := lastReport(t, f).Plan.ByHand
	for _, r := range h.MappingRules {
		if r.Into == "Dubai Marina" {
			t.Error("a mapping rule into a location its own integration serves")
		}
	}
	// A departure leaves both locations.
	if _, err := f.db.Exec(`UPDATE tblUsers SET Deleted = 1 WHERE UserID = 4`); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
		t.Fatalf("second run exit %d\n%s\n%s", code, out, errs)
	}
	if a, b := len(scimUsers(f.sim)), len(scimUsers(sim2)); a != want-1 || b != want-1 {
		t.Fatalf("after a departure: %d and %d users, want %d in each", a, b, want-1)
	}
	code, out, _ = f.run(ctx, "--run-now", "--dry-run")
	if code != service.ExitOK || !strings.Contains(out, "planned changes: 0") || !strings.Contains(out, "integration Dubai Marina: would create 0, update 0, delete 0") {
		t.Fatalf("a dry run should plan nothing anywhere (exit %d):\n%s", code, out)
	}
	if strings.Contains(out+errs, secondToken) {
		t.Error("the integration's token was printed")
	}
	// A wrong token on the integration shows in --check, naming it.
	if err := os.WriteFile(tokenFile, []byte("revoked-token-0000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = f.run(ctx, "--check")
	if code != service.ExitAuth || !strings.Contains(out, "integration Dubai Marina: FAILED") || strings.Contains(out+errs, "revoked-token-0000") {
		t.Fatalf("--check with the integration's token refused: exit %d, want %d naming it (token never shown)\n%s\n%s", code, service.ExitAuth, out, errs)
	}
}

const secondToken = "second-token-4b1e"

// newIntegrationsFixture is the generic-v1 fixture with one more
// integration (visitor_integrations: Dubai Marina) on a simulator of its
// own, its token in a file (token_file).
func newIntegrationsFixture(t *testing.T) (f *fixture, second *simulator.Server, tokenFile string) {
	t.Helper()
	url2, sim2, stop2, err := simulator.Start(simulator.Options{API: simulator.APIGenericV1, Token: secondToken}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop2(context.Background()) })
	tokenFile = filepath.Join(t.TempDir(), "dubai-token")
	if err := os.WriteFile(tokenFile, []byte(secondToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f = newGenericFixture(t, simulator.Options{}, "visitor_integrations:\n  - location: Dubai Marina\n    url: "+url2+"\n    token_file: "+tokenFile+"\n")
	return f, sim2, tokenFile
}

// TestLimitersSharedPerToken: integrations on one token share one call
// budget (Visitor counts calls per token), on different tokens not.
func TestLimitersSharedPerToken(t *testing.T) {
	l := newLimiters(600)
	a, b, c := l.forToken("tok-1"), l.forToken("tok-1"), l.forToken("tok-2")
	if a != b || a == c {
		t.Fatalf("same token shares: %v, different tokens share: %v", a == b, a == c)
	}
}

// TestGenericReclaimsAUserMissingFromTheRecord: a user the sync created
// whose record line was lost (a create answered too late, its look-up
// failed too) is claimed on the next run's create (409 from a user
// created through SCIM that no record holds), not re-created or refused
// every run; the run after converges.
func TestGenericReclaimsAUserMissingFromTheRecord(t *testing.T) {
	t.Parallel()
	f := newGenericFixture(t, simulator.Options{}, "")
	ctx := context.Background()
	if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
		t.Fatalf("first run exit %d\n%s\n%s", code, out, errs)
	}
	d, err := state.Open(filepath.Join(f.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	owned, _, err := d.ReadOwnership()
	if err != nil || len(owned) < 10 {
		t.Fatalf("record %d users, err %v", len(owned), err)
	}
	lost := owned[3]
	if err := d.WriteOwnership(time.Now(), append(owned[:3:3], owned[4:]...)); err != nil {
		t.Fatal(err)
	}
	users := len(scimUsers(f.sim))
	code, out, errs := f.run(ctx, "--run-now")
	if code != service.ExitOK {
		t.Fatalf("second run exit %d\n%s\n%s", code, out, errs)
	}
	if n := len(scimUsers(f.sim)); n != users {
		t.Fatalf("Visitor holds %d users after the second run, had %d", n, users)
	}
	again, _, _ := d.ReadOwnership()
	var back bool
	for _, o := range again {
		back = back || (o.ID == lost.ID && o.ExternalID == lost.ExternalID)
	}
	if !back {
		t.Fatalf("user %s (%s) not claimed back into the record", lost.ID, lost.ExternalID)
	}
	if code, out, _ := f.run(ctx, "--run-now", "--dry-run"); code != service.ExitOK || !strings.Contains(out, "planned changes: 0") {
		t.Fatalf("after the claim a dry run should plan nothing (exit %d):\n%s", code, out)
	}
}
