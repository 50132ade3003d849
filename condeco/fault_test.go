package condeco

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"modernc.org/sqlite"
)

const testPassword = "Sup3r-Secret-Pa55w0rd"

// listen starts a loopback listener that handles each connection with fn
// and counts connections; it is closed when the test ends.
func listen(t *testing.T, fn func(net.Conn)) (port int, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = new(atomic.Int32)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); fn(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().(*net.TCPAddr).Port, accepted
}

// TestOpenWireFaults points the real sqlserver driver at servers that
// misbehave and checks Open fails cleanly, in bounded time, without
// leaking the password.
func TestOpenWireFaults(t *testing.T) {
	cases := []struct {
		name   string
		handle func(net.Conn)
	}{
		{"accept then drop", func(c net.Conn) { c.Close() }},
		{"accept then garbage", func(c net.Conn) { c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n")); c.Close() }},
		{"accept then silence", func(c net.Conn) { io.Copy(io.Discard, c) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			port, accepted := listen(t, c.handle)
			o := Options{Driver: "sqlserver", Host: "127.0.0.1", Port: port, Database: "condeco",
				User: "sync", Password: testPassword, Encrypt: true, ConnectTimeout: 2 * time.Second}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := Open(ctx, o, zaptest.NewLogger(t))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded against a broken server")
			}
			if s != nil {
				t.Fatal("Open returned a store with its error")
			}
			if accepted.Load() == 0 {
				t.Fatal("the driver never reached the listener")
			}
			msg := err.Error()
			if !strings.Contains(msg, "connecting to condeco database") {
				t.Errorf("error does not say what failed: %v", err)
			}
			if strings.Contains(msg, testPassword) {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

// failAfter makes every result set fail after this many rows; < 0 is off.
var failAfter atomic.Int64

var registerFaulty sync.Once

// errInjected stands in for a connection reset in the middle of a result.
var errInjected = errors.New("injected: connection reset by peer")

// TestExportFailsMidResult runs the real SQLite driver under a wrapper
// that breaks the result stream after k rows: the export must fail, never
// return the rows it got so far.
func TestExportFailsMidResult(t *testing.T) {
	registerFaulty.Do(func() { sql.Register("sqlite-faulty", faultyDriver{}) })
	failAfter.Store(-1)
	t.Cleanup(func() { failAfter.Store(-1) })
	o := sampleOptions()
	o.Driver = "sqlite"
	o.DSN = loadSQLite(t, "schema.sql", "sample.sql")
	o.sqlDriver = "sqlite-faulty"
	s, err := Open(context.Background(), o, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Export(context.Background()); err != nil {
		t.Fatalf("export without fault: %v", err)
	}
	cases := []struct {
		name  string
		k     int64
		where string
	}{
		{"first location row", 0, "reading locations"},
		{"mid locations", 5, "reading locations"},
		{"early users", 20, "reading users"},
		{"mid users", 120, "reading users"},
		{"last user row", 217, "reading users"}, // the users query returns 218 rows
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			failAfter.Store(c.k)
			defer failAfter.Store(-1)
			e, err := s.Export(context.Background())
			if err == nil || e != nil {
				t.Fatalf("Export = %v rows, err %v; want failure and no data", e != nil, err)
			}
			if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), c.where) {
				t.Fatalf("error = %v, want %q wrapping the injected fault", err, c.where)
			}
		})
	}
	// the store recovers once the fault is gone
	if _, err := s.Export(context.Background()); err != nil {
		t.Fatalf("export after faults: %v", err)
	}
}

type faultyDriver struct{}

func (faultyDriver) Open(name string) (driver.Conn, error) {
	c, err := (&sqlite.Driver{}).Open(name)
	if err != nil {
		return nil, err
	}
	return faultyConn{c}, nil
}

type faultyConn struct{ driver.Conn }

func (c faultyConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c faultyConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c faultyConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
	if err != nil {
		return nil, err
	}
	return &faultyRows{Rows: r}, nil
}

func (c faultyConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

type faultyRows struct {
	driver.Rows
	n int64
}

func (r *faultyRows) Next(dest []driver.Value) error {
	if k := failAfter.Load(); k >= 0 && r.n >= k {
		return errInjected
	}
	r.n++
	return r.Rows.Next(dest)
}
