package condeco

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

func TestReadWriteIntent(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"url form", "sqlserver://u:p@db:1433?ApplicationIntent=ReadOnly&database=Condeco&encrypt=true",
			"sqlserver://u:p@db:1433?database=Condeco&encrypt=true"},
		{"url form, other case", "sqlserver://db?applicationintent=ReadOnly&database=C", "sqlserver://db?database=C"},
		{"ado form", "server=db;user id=u;password=p;database=Condeco;encrypt=true;ApplicationIntent=ReadOnly",
			"server=db;user id=u;password=p;database=Condeco;encrypt=true"},
		{"ado form with spaces", "server=db; Application Intent = ReadOnly ;database=C", "server=db;database=C"},
		{"odbc is left alone", "odbc:server=db;ApplicationIntent=ReadOnly", "odbc:server=db;ApplicationIntent=ReadOnly"},
		{"nothing to remove", "server=db;database=C", "server=db;database=C"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := readWriteIntent(tc.in); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// The discrete settings always ask for read-only intent; the lock's
// connection string must not.
func TestAppLockerDropsReadOnlyIntent(t *testing.T) {
	o := Options{Driver: "sqlserver", Host: "db", Database: "Condeco", User: "u", Password: "p", Encrypt: true}
	_, dsn, err := o.withDefaults().connString(zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(dsn), "applicationintent=readonly") {
		t.Fatalf("store DSN lost read-only intent; this test's premise is stale: %s", dsn)
	}
	if rw := readWriteIntent(dsn); strings.Contains(strings.ToLower(rw), "applicationintent") || !strings.Contains(rw, "database=Condeco") {
		t.Fatalf("lock DSN %q", rw)
	}
}

func TestAppLockerRefusesSQLite(t *testing.T) {
	_, err := NewAppLocker(Options{Driver: "sqlite", DSN: "x.db"}, "cvs", nil)
	if !errors.Is(err, ErrBadOptions) {
		t.Fatalf("err = %v, want ErrBadOptions", err)
	}
}

// TestSQLServerAppLock needs CONDECO_TEST_DSN: two lockers stand for two
// hosts.
func TestSQLServerAppLock(t *testing.T) {
	dsn := sqlServerDSN(t)
	o := Options{Driver: "sqlserver", DSN: dsn}
	a, err := NewAppLocker(o, "cvs-test-lock", zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewAppLocker(o, "cvs-test-lock", zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	release, err := a.Acquire(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(ctx, 0); !errors.Is(err, ErrAppLockBusy) {
		t.Fatalf("second host: err = %v, want ErrAppLockBusy", err)
	}
	go func() {
		time.Sleep(500 * time.Millisecond)
		release()
	}()
	rb, err := b.Acquire(ctx, 10*time.Second)
	if err != nil {
		t.Fatalf("second host waiting for the release: %v", err)
	}
	rb()
}
