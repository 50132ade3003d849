package condeco

import (
	"context"
	"flag"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/jmoiron/sqlx"
	"go.uber.org/zap/zaptest"
)

var update = flag.Bool("update", false, "rewrite golden files and generated fixtures")

// fixture returns the path of a file in testdata/condeco.
func fixture(name string) string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "testdata", "condeco", name)
}

// loadSQLite creates a fresh SQLite database file and runs the named
// fixtures in it, returning its DSN.
func loadSQLite(t testing.TB, files ...string) string {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "condeco.db")
	db, err := sqlx.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, f := range files {
		if err := ExecFile(context.Background(), db, fixture(f)); err != nil {
			t.Fatalf("loading %s: %v", f, err)
		}
	}
	return dsn
}

func openSQLite(t *testing.T, o Options, files ...string) *Store {
	t.Helper()
	o.Driver = "sqlite"
	o.DSN = loadSQLite(t, files...)
	s, err := Open(context.Background(), o, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func loadSQLiteB(b *testing.B) string { return loadSQLite(b, "schema.sql", "sample.sql") }
