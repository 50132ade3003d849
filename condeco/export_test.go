package condeco

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
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
	path := fixture("export.golden.json")
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
	s := openSQLite(t, sampleOptions(), "schema.sql", "sample.sql")
	e, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]User{}
	for _, u := range e.Users {
		byID[u.ID] = u
	}
	if len(e.Users) < 190 {
		t.Errorf("exported %d users, want at least 190", len(e.Users))
	}
	if len(e.Locations) != 12 {
		t.Errorf("exported %d locations, want 12", len(e.Locations))
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
		{"visitors never exported", func() bool { _, ok := byID["29"]; _, ok2 := byID["58"]; return !ok && !ok2 }},
		{"deactivated and deleted not exported", func() bool { _, ok := byID["31"]; _, ok2 := byID["37"]; return !ok && !ok2 }},
		{"vendor flagged", func() bool { return byID["23"].Vendor && !byID["1"].Vendor }},
		{"non-email username uses lower-cased email", func() bool { return byID["42"].UserName == "jose.garcia@example.co.uk" }},
		{"NFC", func() bool { return byID["42"].FirstName == "José" && byID["42"].LastName == "García" }},
		{"trimmed", func() bool {
			return byID["17"].FirstName == strings.TrimSpace(byID["17"].FirstName) && byID["17"].FirstName != ""
		}},
		{"lower-cased identity", func() bool {
			return byID["5"].UserName == strings.ToLower(byID["5"].UserName) && byID["5"].Email == byID["5"].UserName
		}},
		{"national GB number to E.164", func() bool { return byID["42"].Phone == "+442079461042" }},
		{"language normalised", func() bool { return byID["44"].Language == "ja-JP" }},
		{"arabic name kept", func() bool { return byID["1"].FirstName == "محمد" }},
	}
	for _, c := range cases {
		if !c.check() {
			t.Errorf("%s: failed", c.name)
		}
	}
}

// TestDay2 applies the demo's day-two script and checks each change shows.
func TestDay2(t *testing.T) {
	s := openSQLite(t, sampleOptions(), "schema.sql", "sample.sql", "day2.sql")
	e, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]User{}
	for _, u := range e.Users {
		byID[u.ID] = u
	}
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

func TestEmptyExportRefused(t *testing.T) {
	s := openSQLite(t, sampleOptions(), "schema.sql", "sample.sql")
	s.o.UsersQuery = strings.Replace(DefaultUsersQuery, "WHERE u.Active = @active", "WHERE u.Active = @active AND 1 = 0", 1)
	e, err := s.Export(context.Background())
	if !errors.Is(err, ErrEmptyExport) || e != nil {
		t.Fatalf("Export = %v, %v; want ErrEmptyExport", e, err)
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
