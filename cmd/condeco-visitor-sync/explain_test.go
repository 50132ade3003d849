package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/runner"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// explainFixture has synced the sample once, then Condeco moved on: day
// two (a new starter, a new Manchester location, …), a Global admin
// demoted (user 3), user 2 protected since and renamed, and the new
// starter given a Visitor account by hand (an unmanaged look-alike).
func explainFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, simulator.Options{}, "")
	ctx := context.Background()
	f.mustRun(service.ExitOK, "--run-now")
	appendCfg(t, f, "protected_users: [taro.sato@example.jp]\n")
	if err := condeco.ExecFile(ctx, f.db, filepath.Join("..", "..", "testdata", "condeco", "day2.sql")); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UPDATE tblUsers SET AccessLevel = 0 WHERE UserID = 3", "UPDATE tblUsers SET LastName = 'Sato-Kim' WHERE UserID = 2"} {
		if _, err := f.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	f.sim.AddHandmadeUser(simulator.User{UserName: "ingrid.solberg@example.co.uk", GivenName: "Ingrid", FamilyName: "Solberg",
		Emails: []simulator.Email{{Value: "ingrid.solberg@example.co.uk", Type: "work", Primary: true}}, Active: true})
	return f
}

// --explain for one person at a time: every step, the rule or option
// that decided it, read-only, at most a few filtered requests.
func TestExplain(t *testing.T) {
	t.Parallel()
	f := explainFixture(t)
	cases := []struct {
		name, who string
		action    string
		ownership string
		source    string   // in the Condeco step
		decided   []string // each in one of the decided lines
		access    []string // each in one access line's why
	}{
		{"held row by email", "anne.dupont@example.co.uk", "held", "not in Visitor",
			"users row 901: field first_name: contains '_'", []string{"a held source row is never created, updated or deleted"}, nil},
		{"held row by Condeco id", "901", "held", "not in Visitor",
			"users row 901: field first_name", []string{"correct the row in Condeco"}, nil},
		{"unmanaged look-alike", "ingrid.solberg@example.co.uk", "create", "not managed: no externalId",
			"users row 231: Ingrid Solberg", []string{"Visitor will refuse the create (409)", "adopt_existing_users is off", "an invitation email is sent: invitations is send"},
			[]string{"every other location (14):  → user new user: user on every Visitor location"}},
		{"protected user", "condeco:2", "skipped", "protected (protected_users)",
			"users row 2:", []string{"protected user; never changed"}, nil},
		{"existing user missing a new location", "amelia.jones@example.co.uk", "update", "managed (externalId condeco:3)",
			"users row 3:", []string{"existing user not given Manchester Piccadilly (created by the same run): grant_new_locations_to_existing_users is off"},
			[]string{"not a Global admin in Condeco"}},
		{"demoted Global admin", "3", "update", "managed (externalId condeco:3)",
			"access level 0", []string{"admin role revoke: counts against max_admin_changes"},
			[]string{"not a Global admin in Condeco (access level not in global_admin_levels): admin on the default location becomes user"}},
		{"leaver", "condeco:21", "delete", "managed (externalId condeco:21)",
			"no exported Condeco row matches", []string{"left Condeco", "deprovision: delete"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, reqs := f.state(), f.sim.Stats().Total
			code, out, errs := f.run(context.Background(), "--explain", tc.who, "--json")
			if code != service.ExitOK {
				t.Fatalf("exit %d\n%s\n%s", code, out, errs)
			}
			var ex runner.Explanation
			if err := json.Unmarshal([]byte(out), &ex); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			if f.state() != before {
				t.Fatal("--explain changed Visitor")
			}
			// The locations listing and a lookup by externalId and by userName.
			if sent := f.sim.Stats().Total - reqs; sent > 3 || ex.Requests != int64(sent) {
				t.Errorf("--explain sent %d requests (reported %d), want at most 3", sent, ex.Requests)
			}
			if len(ex.People) != 1 {
				t.Fatalf("%d people explained", len(ex.People))
			}
			p := ex.People[0]
			if p.Action != tc.action || !strings.HasPrefix(p.Ownership, tc.ownership) || !strings.Contains(p.Source.Detail, tc.source) {
				t.Errorf("action %q ownership %q source %q; want %q, %q, %q", p.Action, p.Ownership, p.Source.Detail, tc.action, tc.ownership, tc.source)
			}
			decided := strings.Join(p.Decided, "\n")
			for _, d := range tc.decided {
				if !strings.Contains(decided, d) {
					t.Errorf("decided lacks %q:\n%s", d, decided)
				}
			}
			var whys []string
			for _, a := range p.Access {
				whys = append(whys, a.Location+": "+string(a.Old)+" → "+string(a.New)+" "+a.Why)
			}
			for _, a := range tc.access {
				if !strings.Contains(strings.Join(whys, "\n"), a) {
					t.Errorf("access lacks %q:\n%s", a, strings.Join(whys, "\n"))
				}
			}
		})
	}
}

// The table form names each step; several people at once; a person no
// one knows is an error naming them.
func TestExplainTableAndUnknownPerson(t *testing.T) {
	t.Parallel()
	f := explainFixture(t)
	code, out, errs := f.run(context.Background(), "--explain", "amelia.jones@example.co.uk", "--explain", "anne.dupont@example.co.uk")
	if code != service.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	mustContain(t, "explain table", out, "amelia.jones@example.co.uk\n", "1 Condeco row   users row 3:", "2 mapped user", "3 Visitor user",
		"4 planned       update", "access Default location", "admin → user", "5 decided by", "anne.dupont@example.co.uk\n",
		"4 planned       held", "requests to Visitor:")
	code, out, _ = f.run(context.Background(), "--explain", "nobody@example.com")
	if code != service.ExitConfig || !strings.Contains(out, "nobody@example.com matches no Condeco row and no Visitor user") {
		t.Errorf("unknown person: exit %d, want %d\n%s", code, service.ExitConfig, out)
	}
}
