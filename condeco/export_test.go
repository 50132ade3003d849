package condeco

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"condeco-visitor-sync/visitor"
)

func sampleOptions() Options {
	return Options{PhoneRegion: "GB"}
}

func TestExportGolden(t *testing.T) {
	s := openSQLite(t, sampleOptions(), "schema.sql", "sample.sql")
	e, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	checkGolden(t, "export.golden.json", got)
	// The same problems as the operator reads them: one line per skipped
	// row, then the warnings.
	var lines bytes.Buffer
	for _, p := range e.Problems {
		lines.WriteString("error: " + p.Error() + "\n")
	}
	for _, w := range e.Warnings {
		lines.WriteString("warning: " + w.Error() + "\n")
	}
	checkGolden(t, "export.problems.golden", lines.Bytes())
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := fixture(name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("export differs from %s (run with -update after checking the change):\n%s", path, firstDiff(string(got), string(want)))
	}
}

// exportSQLite exports the fixtures through a fresh SQLite database and
// indexes the users by id.
func exportSQLite(t *testing.T, files ...string) (*Export, map[string]User) {
	t.Helper()
	return exportIndexed(t, openSQLite(t, sampleOptions(), files...))
}

// exportIndexed exports s and indexes the users by id.
func exportIndexed(t *testing.T, s *Store) (*Export, map[string]User) {
	t.Helper()
	e, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]User{}
	for _, u := range e.Users {
		byID[u.ID] = u
	}
	return e, byID
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + la[i] + "\nwant: " + lb[i]
		}
	}
	return "lengths differ"
}

// TestExportFacts states, independently of the golden file, what the sample
// must produce.
func TestExportFacts(t *testing.T) {
	e, byID := exportSQLite(t, "schema.sql", "sample.sql")
	if len(e.Users) < 190 {
		t.Errorf("exported %d users, want at least 190", len(e.Users))
	}
	// 12 open and 105, read as closed (the default query's active column).
	if len(e.Locations) != 13 {
		t.Errorf("exported %d locations, want 13", len(e.Locations))
	}
	for _, l := range e.Locations {
		if l.Closed != (l.ID == "105") {
			t.Errorf("location %s closed = %v", l.ID, l.Closed)
		}
	}
	wantHeld := []string{"901", "902", "903", "904", "905", "906", "908"}
	if !slices.Equal(e.Held, wantHeld) {
		t.Errorf("held = %v, want %v", e.Held, wantHeld)
	}
	if !slices.Equal(e.HeldLocations, []string{"199"}) {
		t.Errorf("held locations = %v, want [199]", e.HeldLocations)
	}
	// one problem per planted bad user row, plus the bad location
	perRow := map[string]int{}
	for _, p := range e.Problems {
		perRow[p.Table+"/"+p.RowID]++
	}
	for _, id := range wantHeld {
		if perRow["users/"+id] != 1 {
			t.Errorf("user %s has %d problems, want 1 (%v)", id, perRow["users/"+id], e.Problems)
		}
	}
	if len(e.Problems) != len(wantHeld)+1 {
		t.Errorf("problems = %d, want %d: %v", len(e.Problems), len(wantHeld)+1, e.Problems)
	}

	cases := []struct {
		name  string
		check func() bool
	}{
		{"phone dropped with a warning, user exported", func() bool {
			u, ok := byID["907"]
			return ok && u.Phone == "" && u.Mobile == "+447911123907" && len(e.Warnings) == 1 && e.Warnings[0].Field == "phone"
		}},
		{"global admins from level 1", func() bool {
			for _, id := range []string{"1", "2", "3", "150"} {
				if !byID[id].GlobalAdmin {
					return false
				}
			}
			return !byID["4"].GlobalAdmin && byID["4"].AccessLevel == LevelCountryAdmin && byID["13"].AccessLevel == LevelVideoAdmin
		}},
		{"every admin type read", func() bool {
			seen := map[AccessLevel]bool{}
			for _, u := range e.Users {
				seen[u.AccessLevel] = true
			}
			return len(seen) == 6 && byID["7"].AccessLevel == LevelLocationAdmin && byID["11"].AccessLevel == LevelGroupAdmin
		}},
		{"visitors never exported", func() bool {
			for _, id := range []string{"29", "58", "87", "116", "145", "174", "203"} {
				if _, ok := byID[id]; ok {
					return false
				}
			}
			return true
		}},
		{"deactivated users are exported as deactivated", func() bool {
			for _, id := range []string{"31", "62", "93", "124", "155", "186", "217"} {
				if u, ok := byID[id]; !ok || !u.Inactive || slices.Contains(e.Held, id) {
					return false
				}
			}
			return !byID["1"].Inactive && !byID["30"].Inactive
		}},
		{"deleted users are gone", func() bool {
			for _, id := range []string{"37", "74", "111", "148", "185", "222"} {
				if _, ok := byID[id]; ok || slices.Contains(e.Held, id) {
					return false
				}
			}
			return true
		}},
		{"vendors included and flagged", func() bool {
			n := 0
			for _, u := range e.Users {
				if u.Vendor {
					n++
				}
			}
			return byID["23"].Vendor && byID["230"].Vendor && !byID["1"].Vendor && n >= 8
		}},
		{"non-email username uses lower-cased email", func() bool { return byID["42"].UserName == "jose.garcia@example.co.uk" }},
		{"NFC", func() bool { return byID["42"].FirstName == "José" && byID["42"].LastName == "García" }},
		{"trimmed", func() bool { return byID["17"].FirstName == "娜" }},
		{"lower-cased identity", func() bool {
			return byID["5"].UserName == "hanako.suzuki@example.jp" && byID["5"].Email == byID["5"].UserName
		}},
		{"national GB number to E.164", func() bool { return byID["42"].Phone == "+442079461042" }},
		{"language normalised", func() bool { return byID["44"].Language == "ja-JP" }},
		{"arabic name kept", func() bool { return byID["1"].FirstName == "محمد" && byID["1"].LastName == "العلي" }},
		{"chinese name kept", func() bool { return byID["7"].FirstName == "静" && byID["7"].LastName == "王" }},
		{"japanese name kept", func() bool { return byID["2"].FirstName == "太郎" && byID["2"].LastName == "佐藤" }},
		{"duplicates by case: neither sent, both held with their names", func() bool {
			_, a := byID["905"]
			_, b := byID["906"]
			return !a && !b && slices.Contains(e.Held, "905") && slices.Contains(e.Held, "906") &&
				slices.Contains(e.HeldUserNames, "sam.taylor@example.co.uk")
		}},
		{"empty email with a plain login is held, not gone", func() bool {
			_, ok := byID["904"]
			return !ok && slices.Contains(e.Held, "904")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.check() {
				t.Error("failed")
			}
		})
	}
}

// TestPlantedBadRowsOneErrorEach reads the "-- BAD:" comments planted in
// sample.sql and checks the export has exactly one problem per planted
// row, naming that row, and no other problem.
func TestPlantedBadRowsOneErrorEach(t *testing.T) {
	text, err := os.ReadFile(fixture("sample.sql"))
	if err != nil {
		t.Fatal(err)
	}
	idRe := regexp.MustCompile(`^INSERT INTO (tbl\w+) \([A-Za-z]+ID,.*VALUES \((\d+),`)
	planted := map[string]bool{}
	lines := strings.Split(string(text), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "-- BAD:") {
			continue
		}
		m := idRe.FindStringSubmatch(lines[i+1])
		if m == nil {
			t.Fatalf("line %d: no INSERT after the BAD comment", i+2)
		}
		table := map[string]string{"tblUsers": "users", "tblLocations": "locations"}[m[1]]
		planted[table+"/"+m[2]] = true
	}
	if len(planted) < 8 {
		t.Fatalf("found %d planted rows, want at least 8", len(planted))
	}
	s := openSQLite(t, sampleOptions(), "schema.sql", "sample.sql")
	e, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, p := range e.Problems {
		got[p.Table+"/"+p.RowID]++
	}
	for row := range planted {
		if got[row] != 1 {
			t.Errorf("planted row %s has %d error lines, want 1", row, got[row])
		}
	}
	for row, n := range got {
		if !planted[row] {
			t.Errorf("row %s has %d error lines but was not planted", row, n)
		}
	}
}

// TestDay2 applies the demo's day-two script and checks each change shows.
func TestDay2(t *testing.T) {
	e, byID := exportSQLite(t, "schema.sql", "sample.sql", "day2.sql")
	if u, ok := byID["231"]; !ok || u.UserName != "ingrid.solberg@example.co.uk" {
		t.Errorf("new user 231 missing or wrong: %+v", u)
	}
	if byID["20"].LastName != "Sato-Hart" {
		t.Errorf("user 20 last name = %q, want Sato-Hart", byID["20"].LastName)
	}
	if _, ok := byID["21"]; ok {
		t.Error("departed user 21 still exported")
	}
	if !byID["22"].GlobalAdmin {
		t.Error("user 22 not promoted to global admin")
	}
	if !slices.ContainsFunc(e.Locations, func(l Location) bool { return l.ID == "106" && l.Name == "Manchester Piccadilly" }) {
		t.Error("new location 106 missing")
	}
}

func TestMissingColumn(t *testing.T) {
	noEmail := strings.Replace(DefaultUsersQuery, "u.Email             AS email,", "", 1)
	if noEmail == DefaultUsersQuery {
		t.Fatal("test did not remove the email column")
	}
	dsn := loadSQLite(t, "schema.sql", "sample.sql")
	_, err := Open(context.Background(), Options{Driver: "sqlite", DSN: dsn, UsersQuery: noEmail}, nil)
	if !errors.Is(err, ErrMissingColumn) || !strings.Contains(err.Error(), `"email"`) {
		t.Fatalf("Open error = %v, want ErrMissingColumn naming email", err)
	}

	s := openSQLite(t, sampleOptions(), "schema.sql", "sample.sql")
	s.o.UsersQuery = noEmail
	if err := s.Check(context.Background()); !errors.Is(err, ErrMissingColumn) || !strings.Contains(err.Error(), `"email"`) {
		t.Fatalf("Check error = %v, want ErrMissingColumn naming email", err)
	}
	e, err := s.Export(context.Background())
	if !errors.Is(err, ErrMissingColumn) || !strings.Contains(err.Error(), `"email"`) || e != nil {
		t.Fatalf("Export = %v, %v; want nil and ErrMissingColumn naming email", e, err)
	}
}

// TestEmptyExportIsHandedOn: an empty users result is not the reader's
// error to raise: it reaches the sync, whose source guard stops the run
// with its own exit code and lets an operator approve it with a flag.
func TestEmptyExportIsHandedOn(t *testing.T) {
	s := openSQLite(t, sampleOptions(), "schema.sql", "sample.sql")
	s.o.UsersQuery = strings.Replace(DefaultUsersQuery, "WHERE u.Deleted = 0", "WHERE u.Deleted = 0 AND 1 = 0", 1)
	core, logs := observer.New(zap.WarnLevel)
	s.log = zap.New(core)
	e, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Users) != 0 || len(e.Held) != 0 || len(e.Locations) != 13 {
		t.Fatalf("users %d, held %d, locations %d; want 0, 0, 13", len(e.Users), len(e.Held), len(e.Locations))
	}
	if logs.FilterMessage("condeco users query returned no rows").Len() != 1 {
		t.Fatalf("no warning about the empty result: %v", logs.All())
	}
}

// TestReadOnlyTransaction proves the SQLite read transaction cannot write,
// by handing it a "query" that deletes.
func TestReadOnlyTransaction(t *testing.T) {
	s := openSQLite(t, sampleOptions(), "schema.sql", "sample.sql")
	s.o.UsersQuery = "DELETE FROM tblUsers RETURNING UserID AS id, UserName AS username, Email AS email, " +
		"FirstName AS first_name, LastName AS last_name, Telephone AS phone, Mobile AS mobile, " +
		"LanguageCode AS language, AccessLevel AS access_level, UserType AS user_type, " +
		"DefaultLocationID AS location_id, ADUserGuid AS sso_id"
	if _, err := s.Export(context.Background()); err == nil {
		t.Fatal("a deleting query ran inside the read transaction")
	}
	var n int
	if err := s.DB().Get(&n, "SELECT COUNT(*) FROM tblUsers"); err != nil || n < 230 {
		t.Fatalf("rows after attempted delete = %d, %v", n, err)
	}
	// the connection went back to the pool writable again
	if _, err := s.DB().Exec("UPDATE tblUsers SET LastName = LastName WHERE UserID = 1"); err != nil {
		t.Fatalf("pool connection left read-only: %v", err)
	}
}

// TestReplacementQuery maps another schema by replacing the query, with
// extra columns and named parameters.
func TestReplacementQuery(t *testing.T) {
	o := sampleOptions()
	o.UsersQuery = `SELECT UserID AS id, UserName AS username, Email AS email, FirstName AS first_name,
  LastName AS last_name, NULL AS phone, NULL AS mobile, NULL AS language, AccessLevel AS access_level,
  UserType AS user_type, NULL AS location_id, NULL AS sso_id, 'extra' AS unused_column
FROM tblUsers WHERE Active = @active AND Deleted = 0 AND UserType <> @visitor_type AND UserID <= 10`
	o.GlobalAdminLevels = []int{1, 2}
	s := openSQLite(t, o, "schema.sql", "sample.sql")
	e, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Users) != 10 {
		t.Fatalf("users = %d, want 10", len(e.Users))
	}
	for _, u := range e.Users {
		want := u.AccessLevel == LevelGlobalAdmin || u.AccessLevel == LevelCountryAdmin
		if u.GlobalAdmin != want {
			t.Errorf("user %s level %d: globalAdmin = %v", u.ID, u.AccessLevel, u.GlobalAdmin)
		}
	}
}

// TestHeldRowClaimsItsName: a good row whose userName equals that of a
// rejected row is not exported either, and a duplicated id holds both rows.
func TestHeldRowClaimsItsName(t *testing.T) {
	s := openSQLite(t, sampleOptions(), "schema.sql", "sample.sql")
	for _, q := range []string{
		// same name as rejected row 901 (anne.dupont@…, '_' in first name)
		`INSERT INTO tblUsers (UserID, UserName, Email, FirstName, LastName, AccessLevel, UserType, Active, Deleted)
		 VALUES (950, 'ANNE.DUPONT@example.co.uk', NULL, 'Anne', 'Dupont', 0, 1, 1, 0)`,
	} {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	e, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(e.Held, "950") || slices.ContainsFunc(e.Users, func(u User) bool { return u.ID == "950" }) {
		t.Fatalf("user 950 should be held, not exported: held=%v", e.Held)
	}
	if !slices.ContainsFunc(e.Problems, func(p RowError) bool { return p.RowID == "950" && p.Rule == RuleDuplicateName }) {
		t.Fatalf("user 950 not reported: %v", e.Problems)
	}

	// duplicated id through a replacement query that joins badly
	s.o.UsersQuery = strings.Replace(DefaultUsersQuery, "FROM tblUsers u",
		"FROM tblUsers u JOIN (SELECT 1 AS k UNION ALL SELECT 2) d ON d.k = 1 OR u.UserID = 7", 1)
	e, err = s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(e.Held, "7") || slices.ContainsFunc(e.Users, func(u User) bool { return u.ID == "7" }) {
		t.Fatalf("duplicated id 7 should be held: held=%v", e.Held)
	}
}

// TestExportEdgeCases loads edge.sql over the sample: one row per edge
// case, each commented there with what must happen to it.
func TestExportEdgeCases(t *testing.T) {
	e, byID := exportSQLite(t, "schema.sql", "sample.sql", "edge.sql")
	problem := func(id string) []string {
		var rules []string
		for _, p := range e.Problems {
			if p.Table == "users" && p.RowID == id {
				rules = append(rules, p.Field+": "+p.Rule)
			}
		}
		return rules
	}
	exported := func(id string) bool { _, ok := byID[id]; return ok }
	held := func(id string) bool { return slices.Contains(e.Held, id) && !exported(id) && len(problem(id)) == 1 }
	cases := []struct {
		name string
		ok   func() bool
	}{
		{"empty email, username is an address: exported", func() bool {
			return byID["960"].UserName == "kofi.mensah@example.co.uk"
		}},
		{"username with @ but no address: email used", func() bool { return byID["961"].UserName == "jane.doe@example.com" }},
		{"vendor with Chinese name exported", func() bool { return byID["962"].Vendor && byID["962"].FirstName == "伟" }},
		{"visitor with bad data neither exported nor reported", func() bool {
			return !exported("963") && !slices.Contains(e.Held, "963") && problem("963") == nil
		}},
		{"deactivated twin does not collide", func() bool {
			return exported("3") && !byID["3"].Inactive && byID["964"].Inactive && problem("3") == nil && problem("964") == nil
		}},
		{"deleted twin does not collide", func() bool { return exported("5") && !exported("965") && problem("5") == nil }},
		{"64 Japanese characters (192 bytes) exported", func() bool { return len(byID["966"].FirstName) == 192 }},
		{"63 letters and an emoji held as too long", func() bool {
			return held("967") && problem("967")[0] == "first_name: "+visitor.RuleTooLong
		}},
		{"NBSP and ideographic space trimmed", func() bool {
			return byID["968"].FirstName == "ليلى" && byID["968"].LastName == "حسن"
		}},
		{"active twin by case: neither sent, both held", func() bool {
			return held("9") && held("969") && problem("969")[0] == "userName: "+RuleDuplicateName &&
				slices.Contains(e.HeldUserNames, "isla.muller@example.co.uk")
		}},
		{"blank email with a plain login held", func() bool {
			return held("970") && problem("970")[0] == "email: "+RuleNoEmail
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok() {
				t.Errorf("failed; problems: %v", e.Problems)
			}
		})
	}
}

// TestLocationsActiveColumn: the locations query's optional active column
// through the real reader on SQLite. NULL or no column is open, 0/false
// closed, anything else holds the row with the rule named (guessing
// would close a building, or give a closed one to new users).
func TestLocationsActiveColumn(t *testing.T) {
	const from = ` FROM tblLocations WHERE LocationID <> 199 ORDER BY LocationID` // 199: a planted bad row
	cols := `SELECT LocationID AS id, LocationName AS name, NULL AS country, NULL AS region`
	cases := []struct {
		name   string
		active string // the active column's expression; "" leaves it out
		closed []string
		held   []string
	}{
		{name: "no active column: every row open", active: ""},
		{name: "NULL is open", active: "NULL"},
		{name: "integer 0 is closed, 1 open", active: "Active", closed: []string{"105"}},
		{name: "text false is closed, TRUE open", active: "CASE Active WHEN 0 THEN 'false' ELSE 'TRUE' END", closed: []string{"105"}},
		{name: "another value holds the row", active: "CASE LocationID WHEN 104 THEN 'yes' WHEN 201 THEN 2 ELSE Active END",
			closed: []string{"105"}, held: []string{"104", "201"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := sampleOptions()
			o.LocationsQuery = cols + from
			if c.active != "" {
				o.LocationsQuery = cols + ", " + c.active + " AS active" + from
			}
			e, err := openSQLite(t, o, "schema.sql", "sample.sql").Export(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var closed []string
			for _, l := range e.Locations {
				if l.Closed {
					closed = append(closed, l.ID)
				}
			}
			if !slices.Equal(closed, c.closed) {
				t.Errorf("closed = %v, want %v", closed, c.closed)
			}
			if len(e.HeldLocations)+len(c.held) > 0 && !slices.Equal(e.HeldLocations, c.held) {
				t.Errorf("held = %v, want %v", e.HeldLocations, c.held)
			}
			for _, id := range c.held {
				if !slices.ContainsFunc(e.Problems, func(p RowError) bool {
					return p.Table == "locations" && p.RowID == id && p.Field == "active" && p.Rule == RuleLocationActive
				}) {
					t.Errorf("problems = %v, want locations row %s field active: %s", e.Problems, id, RuleLocationActive)
				}
			}
			if want := 13 - len(c.held); len(e.Locations) != want {
				t.Errorf("locations = %d, want %d (every row but the held)", len(e.Locations), want)
			}
		})
	}
}
