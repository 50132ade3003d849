package condeco

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/microsoft/go-mssqldb/msdsn"
	"go.uber.org/zap/zaptest"
)

// sqlServerDSN returns CONDECO_TEST_DSN or skips. The tests DROP and
// re-create the tbl* tables of schema.sql in that database.
func sqlServerDSN(t *testing.T) string {
	dsn := os.Getenv("CONDECO_TEST_DSN")
	if dsn == "" {
		t.Skip("CONDECO_TEST_DSN is not set: no SQL Server to test against (point it at a scratch database; " +
			"the test drops and re-creates the tbl* tables of testdata/condeco/schema.sql)")
	}
	return dsn
}

func loadSQLServer(t *testing.T, dsn string, files ...string) {
	t.Helper()
	db, err := sqlx.Open("sqlserver", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, f := range files {
		if err := ExecFile(context.Background(), db, fixture(f)); err != nil {
			t.Fatalf("loading %s: %v", f, err)
		}
	}
}

// TestSQLServerExport loads the fixtures into a real SQL Server and checks
// the export is byte-for-byte the one SQLite gives (the golden file).
func TestSQLServerExport(t *testing.T) {
	dsn := sqlServerDSN(t)
	loadSQLServer(t, dsn, "schema.sql", "sample.sql")
	s, err := Open(context.Background(), Options{Driver: "sqlserver", DSN: dsn, PhoneRegion: "GB"}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(e, "", "  ")
	want, err := os.ReadFile(fixture("export.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got)+"\n" != string(want) {
		t.Fatalf("SQL Server export differs from the golden file:\n%s", firstDiff(string(got)+"\n", string(want)))
	}
}

// TestSQLServerDroppedMidResult relays the real server through a loopback
// proxy that cuts the connection a few kilobytes into the export.
func TestSQLServerDroppedMidResult(t *testing.T) {
	dsn := sqlServerDSN(t)
	loadSQLServer(t, dsn, "schema.sql", "sample.sql")
	cfg, err := msdsn.Parse(dsn)
	if err != nil {
		t.Fatal("CONDECO_TEST_DSN cannot be parsed")
	}
	target := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	if cfg.Port == 0 {
		target = net.JoinHostPort(cfg.Host, "1433")
	}
	var armed atomic.Bool
	const cutAfter = 4096
	port, _ := listen(t, func(c net.Conn) {
		defer c.Close()
		up, err := net.DialTimeout("tcp", target, 10*time.Second)
		if err != nil {
			return
		}
		defer up.Close()
		go io.Copy(up, c)
		buf := make([]byte, 1024)
		sent := 0
		for {
			n, err := up.Read(buf)
			if n > 0 {
				if armed.Load() {
					sent += n
					if sent > cutAfter {
						return // drop both sides mid-stream
					}
				}
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	q := url.Values{}
	q.Set("database", cfg.Database)
	q.Set("encrypt", "true")
	if cfg.Encryption != msdsn.EncryptionRequired && cfg.Encryption != msdsn.EncryptionStrict {
		q.Set("encrypt", "disable")
	}
	if cfg.TLSConfig != nil && cfg.TLSConfig.InsecureSkipVerify {
		q.Set("TrustServerCertificate", "true")
	}
	q.Set("hostNameInCertificate", cfg.Host)
	proxied := (&url.URL{Scheme: "sqlserver", User: url.UserPassword(cfg.User, cfg.Password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), RawQuery: q.Encode()}).String()
	s, err := Open(context.Background(), Options{Driver: "sqlserver", DSN: proxied, PhoneRegion: "GB"}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.db.SetMaxIdleConns(1)
	armed.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, err := s.Export(ctx)
	if err == nil || e != nil {
		t.Fatalf("Export through a dropping proxy = %v, %v; want an error and no data", e != nil, err)
	}
	if strings.Contains(err.Error(), cfg.Password) && cfg.Password != "" {
		t.Fatal("error leaks the password")
	}
}
