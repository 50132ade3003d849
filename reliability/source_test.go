package reliability

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor/simulator"
)

// sourceUsers is the size of the installation each source fault hits.
const sourceUsers = 150

// usersQuery is the default users query rewritten for a test: cols are
// the select list with one column replaced, where the extra condition.
func usersQuery(lastName, where string) string {
	return `SELECT u.UserID AS id, u.UserName AS username, u.Email AS email, u.FirstName AS first_name, ` +
		lastName + ` AS last_name, u.Telephone AS phone, u.Mobile AS mobile, u.LanguageCode AS language,
		u.AccessLevel AS access_level, u.UserType AS user_type, u.DefaultLocationID AS location_id,
		u.ADUserGuid AS sso_id FROM tblUsers u WHERE u.Active = 1 AND u.Deleted = 0 AND ` + where + ` ORDER BY u.UserID`
}

// A broken source stops the run before any write, so nothing in Visitor
// changes and, above all, nobody is deleted.
func TestSourceFaults(t *testing.T) {
	const sqlPassword = "pw-7c1e0b9a44d2-SECRET"
	cases := []struct {
		name string
		// config returns the config keys of the fault (replacing the
		// source keys) and the environment variables it needs.
		config func(t *testing.T, e *env) (string, map[string]string)
		want   []int
		// inText must appear on stderr: the error says what broke.
		inText string
	}{
		{
			name: "database file missing",
			config: func(t *testing.T, e *env) (string, map[string]string) {
				return fmt.Sprintf("condeco_driver: sqlite\ncondeco_dsn: %q\n", "file:"+filepath.Join(e.dir, "gone", "condeco.db")+"?mode=ro"), nil
			},
			want: []int{exitSource}, inText: "unable to open",
		},
		{
			name: "database file unreadable",
			config: func(t *testing.T, e *env) (string, map[string]string) {
				p := filepath.Join(e.dir, "garbage.db")
				if err := os.WriteFile(p, []byte(strings.Repeat("this is not a database\n", 400)), 0o600); err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("condeco_driver: sqlite\ncondeco_dsn: %q\n", p), nil
			},
			want: []int{exitSource}, inText: "not a database",
		},
		{
			name: "query error",
			config: func(t *testing.T, e *env) (string, map[string]string) {
				return e.sqliteConfig() + "condeco_users_query: SELECT * FROM tblUserz\n", nil
			},
			want: []int{exitSource}, inText: "no such table",
		},
		{
			name: "read error mid-export",
			// The first rows stream out, then the database fails: the
			// start-up check passes and the export breaks half-way.
			config: func(t *testing.T, e *env) (string, map[string]string) {
				q := usersQuery("CASE WHEN u.UserID > 50 THEN abs(-9223372036854775807 - 1) ELSE u.LastName END", "1 = 1")
				return e.sqliteConfig() + fmt.Sprintf("condeco_users_query: %q\n", q), nil
			},
			want: []int{exitSource}, inText: "integer overflow",
		},
		{
			name: "query timeout",
			// Each row costs more than the one before; the whole export
			// cannot finish inside condeco_query_timeout.
			config: func(t *testing.T, e *env) (string, map[string]string) {
				// The first rows cost nothing, so opening the store (its check reads
				// the first row) is quick however loaded the machine; from the sixth
				// each row costs 20 000 more steps than the last, so the export
				// cannot finish inside its timeout.
				q := usersQuery("u.LastName", "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < max(0, u.UserID - 5) * 20000) SELECT count(*) FROM c) > 0")
				return e.sqliteConfig() + fmt.Sprintf("condeco_query_timeout: 1s\ncondeco_users_query: %q\n", q), nil
			},
			want: []int{exitSource}, inText: "condeco_query_timeout",
		},
		{
			name: "export empty",
			config: func(t *testing.T, e *env) (string, map[string]string) {
				return e.sqliteConfig() + fmt.Sprintf("condeco_users_query: %q\n", usersQuery("u.LastName", "1 = 0")), nil
			},
			want: []int{exitSourceGuard}, inText: "export has 0 users",
		},
		{
			name: "export shrinks",
			config: func(t *testing.T, e *env) (string, map[string]string) {
				return e.sqliteConfig() + fmt.Sprintf("condeco_users_query: %q\n", usersQuery("u.LastName", "u.UserID <= 10")), nil
			},
			want: []int{exitSourceGuard, exitSafetyLimit}, inText: "source guard",
		},
		{
			name: "sql server drops the connection",
			config: func(t *testing.T, e *env) (string, map[string]string) {
				addr, _ := fakeSQLServer(t, false)
				return sqlServerConfig(addr, "5s"), map[string]string{"CVS_CONDECO_PASSWORD": sqlPassword}
			},
			want: []int{exitSource}, inText: "connecting to condeco database",
		},
		{
			name: "sql server never answers",
			config: func(t *testing.T, e *env) (string, map[string]string) {
				addr, _ := fakeSQLServer(t, true)
				return sqlServerConfig(addr, "1s"), map[string]string{"CVS_CONDECO_PASSWORD": sqlPassword}
			},
			want: []int{exitSource}, inText: "connecting to condeco database",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sourceUsers, simOptions(), "")
			if r := e.run(time.Minute, "--run-now"); r.code != exitOK {
				t.Fatalf("initial sync: %s", r)
			}
			before, digest := e.sim.Stats(), e.sim.State().Digest
			cfg, vars := tc.config(t, e)
			e.writeConfig(cfg)
			for k, v := range vars {
				e.vars[k] = v
			}
			r := e.run(time.Minute, "--run-now")
			if !slices.Contains(tc.want, r.code) {
				t.Fatalf("exit %d, want one of %v\n%s", r.code, tc.want, r)
			}
			if testing.Verbose() {
				t.Logf("stdout: %s\nstderr: %s", tail(r.stdout, 600), tail(r.stderr, 1500))
			}
			if !strings.Contains(r.stderr+r.stdout, tc.inText) {
				t.Errorf("output does not say %q:\n%s", tc.inText, r)
			}
			for _, secret := range []string{sqlPassword, testToken} {
				if strings.Contains(r.stderr+r.stdout, secret) {
					t.Errorf("output leaks a secret")
				}
			}
			after := e.sim.Stats()
			writes := 0
			for _, m := range []string{"POST", "PATCH", "PUT", "DELETE"} {
				writes += after.ByMethod[m] - before.ByMethod[m]
			}
			if writes != 0 || e.sim.State().Digest != digest {
				t.Fatalf("the broken source led to %d writes: %v", writes, after.ByMethodRoute)
			}
			c := e.checkIntact(sourceUsers)
			t.Logf("RESULT fault=%q exit=%d writes=%d deletes=%d lost=%d duplicates=%d elapsed=%s", tc.name, r.code, writes,
				after.ByMethod["DELETE"]-before.ByMethod["DELETE"], sourceUsers-c.managed, len(c.dupNames)+len(c.dupExternalID), r.elapsed.Round(10*time.Millisecond))
		})
	}
}

func simOptions() simulator.Options { return simulator.Options{} }

func sqlServerConfig(addr, timeout string) string {
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf("condeco_driver: sqlserver\ncondeco_host: %q\ncondeco_port: %s\ncondeco_database: Condeco\ncondeco_user: cvs_reader\ncondeco_connect_timeout: %s\n",
		host, port, timeout)
}

// fakeSQLServer listens on loopback like a SQL Server that fails: it
// reads the client's first TDS packet (PRELOGIN), records the encryption
// option the client asked for, then drops the connection (or, with hang,
// holds it open without a word). The returned func gives the recorded
// options, one per connection.
func fakeSQLServer(t *testing.T, hang bool) (string, func() []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []byte
	var conns []net.Conn
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				if enc, ok := preloginEncryption(c); ok {
					mu.Lock()
					seen = append(seen, enc)
					mu.Unlock()
				}
				if hang {
					<-done
				}
				c.Close()
			}()
		}
	}()
	return ln.Addr().String(), func() []byte {
		mu.Lock()
		defer mu.Unlock()
		return append([]byte(nil), seen...)
	}
}

// preloginEncryption reads one TDS PRELOGIN packet (MS-TDS 2.2.6.5) and
// returns its ENCRYPTION option: 0 off, 1 on, 2 not supported, 3 required.
func preloginEncryption(c net.Conn) (byte, bool) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	hdr := make([]byte, 8)
	if _, err := io.ReadFull(c, hdr); err != nil || hdr[0] != 0x12 {
		return 0, false
	}
	n := int(binary.BigEndian.Uint16(hdr[2:4])) - 8
	if n <= 0 || n > 4096 {
		return 0, false
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil {
		return 0, false
	}
	for i := 0; i+5 <= len(body) && body[i] != 0xff; i += 5 {
		if body[i] == 0x01 { // ENCRYPTION
			off := int(binary.BigEndian.Uint16(body[i+1 : i+3]))
			if off < len(body) {
				return body[off], true
			}
		}
	}
	return 0, false
}

// A users query that outlives condeco_query_timeout fails with an error
// that says so (the driver alone says "Rows are closed"), every time.
func TestQueryTimeoutErrorNamesTheTimeout(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "condeco.db")
	fillDB(t, openDB(t, dbPath), 100)
	// The first rows cost nothing, so opening the store (its check reads
	// the first row) is quick however loaded the machine; from the sixth
	// each row costs 20 000 more steps than the last, so the export
	// cannot finish inside its timeout.
	q := usersQuery("u.LastName", "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < max(0, u.UserID - 5) * 20000) SELECT count(*) FROM c) > 0")
	st, err := condeco.Open(context.Background(), condeco.Options{Driver: "sqlite", DSN: dbPath, UsersQuery: q, QueryTimeout: 500 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 3 {
		exp, err := st.Export(context.Background())
		if err == nil || exp != nil {
			t.Fatal("the slow export finished inside its timeout, or returned rows with its error")
		}
		if !errors.Is(err, condeco.ErrQueryTimeout) || !strings.Contains(err.Error(), "condeco_query_timeout") {
			t.Fatalf("export %d: the error does not say the query timed out: %v", i+1, err)
		}
	}
}
