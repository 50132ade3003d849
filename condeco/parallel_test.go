package condeco

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"
)

// manyUsers writes n valid users (ids 1..n) into a fresh database, with
// edit changing a row's values before it is inserted.
func manyUsers(tb testing.TB, n int, edit func(id int, v []any)) string {
	tb.Helper()
	dsn := filepath.Join(tb.TempDir(), "many.db")
	db, err := sqlx.Open("sqlite", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := ExecFile(ctx, db, fixture("schema.sql")); err != nil {
		tb.Fatal(err)
	}
	tx := db.MustBegin()
	tx.MustExec(`INSERT INTO tblCountries VALUES (1, 'GB', 'United Kingdom')`)
	tx.MustExec(`INSERT INTO tblRegions VALUES (1, 1, 'London')`)
	tx.MustExec(`INSERT INTO tblLocations (LocationID, RegionID, CountryID, LocationName, Active) VALUES (1, 1, 1, 'London Bridge', 1)`)
	for id := 1; id <= n; id++ {
		v := []any{id, fmt.Sprintf("user%d@example.com", id), nil, "Ana", "Silva", fmt.Sprintf("020 3%03d %04d", id/10000, id%10000),
			fmt.Sprintf("07400 %06d", id), "en-GB", 0, 1, 1, nil, 1, 0}
		if edit != nil {
			edit(id, v)
		}
		tx.MustExec(`INSERT INTO tblUsers (UserID, UserName, Email, FirstName, LastName, Telephone, Mobile, LanguageCode, AccessLevel, UserType, DefaultLocationID, ADUserGuid, Active, Deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, v...)
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	return dsn
}

// Rows are validated in batches on several goroutines; every row must
// still be seen once, and rules that span rows (collisions) must hold
// across batch boundaries.
func TestExportValidatesEveryRowAcrossBatches(t *testing.T) {
	const n = 5*validateBatch + 17
	dsn := manyUsers(t, n, func(id int, v []any) {
		switch id {
		case 300, 1100: // the same userName in two batches: both held
			v[1] = "twin@example.com"
		case 520:
			v[3] = "Ana_Maria" // '_' in a name
		case n: // a visitor: filtered by the query, never read
			v[9] = int(TypeVisitor)
		}
	})
	o := sampleOptions()
	o.Driver, o.DSN = "sqlite", dsn
	s, err := Open(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// n-1 user rows and one location row read; three users held.
	if e.RowsRead != n || len(e.Users) != n-4 || len(e.Problems) != 3 {
		t.Fatalf("rows %d, users %d, problems %v", e.RowsRead, len(e.Users), e.Problems)
	}
	for i, u := range e.Users {
		if i > 0 && compareIDs(e.Users[i-1].ID, u.ID) >= 0 {
			t.Fatalf("users out of order at %d: %s after %s", i, u.ID, e.Users[i-1].ID)
		}
	}
	if fmt.Sprint(e.Held) != "[300 520 1100]" {
		t.Fatalf("held %v", e.Held)
	}
}

// BenchmarkExport10k reads and validates 10 000 users with a direct line
// and a mobile each (the mapping from a Condeco row to a user).
func BenchmarkExport10k(b *testing.B) {
	o := sampleOptions()
	o.Driver, o.DSN = "sqlite", manyUsers(b, 10_000, nil)
	s, err := Open(context.Background(), o, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		if e, err := s.Export(context.Background()); err != nil || len(e.Users) != 10_000 {
			b.Fatal(err)
		}
	}
}
