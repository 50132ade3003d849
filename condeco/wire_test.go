package condeco

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// wireOptions points the real sqlserver driver, through the production
// DSN builder, at a fake server on loopback. The fake speaks no TLS, so
// encryption is turned off here (which logs a warning, as it should).
func wireOptions(port int) Options {
	return Options{Driver: "sqlserver", Host: "127.0.0.1", Port: port, Database: "condeco",
		User: "sync", Password: testPassword, Encrypt: false, ConnectTimeout: 2 * time.Second,
		QueryTimeout: 5 * time.Second, PhoneRegion: "GB"}
}

func startTDS(t *testing.T, srv *tdsServer) int {
	t.Helper()
	srv.stall = make(chan struct{})
	port, _ := listen(t, srv.handle)
	t.Cleanup(func() { close(srv.stall) }) // runs before the listener's cleanup
	return port
}

// TestWireExportComplete proves the fake server is a faithful enough SQL
// Server: without a fault the export has every row it served. Without
// this, the fault cases below could pass for the wrong reason.
func TestWireExportComplete(t *testing.T) {
	srv := &tdsServer{users: 300, locations: 5}
	port := startTDS(t, srv)
	s, err := Open(context.Background(), wireOptions(port), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Users) != 300 || len(e.Locations) != 5 || len(e.Problems) != 0 || e.RowsRead != 305 {
		t.Fatalf("users %d, locations %d, problems %v, rows %d; want 300, 5, none, 305",
			len(e.Users), len(e.Locations), e.Problems, e.RowsRead)
	}
	if u := e.Users[299]; u.ID != "300" || u.UserName != "user0300@example.jp" || u.LastName != "山田300" || u.Phone != "+81332101001" {
		t.Fatalf("last user read wrongly: %+v", u)
	}
	if !srv.readOnly.Load() {
		t.Error("login did not ask for read-only application intent")
	}
	if got, _ := srv.appName.Load().(string); got != appName {
		t.Errorf("login application name = %q, want %q", got, appName)
	}
}

// TestWireExportFaults breaks the connection at chosen points of a real
// TDS exchange. Every case must fail the export and return no data: a
// half-read table must never look like people leaving.
func TestWireExportFaults(t *testing.T) {
	cases := []struct {
		name    string
		fault   tdsFault
		on      string
		at      int // bytes into the result (rows for faultError)
		wantErr string
	}{
		{"drop before the users metadata ends", faultDrop, "users", 100, "users"},
		{"drop mid users, first packet", faultDrop, "users", 3000, "users"},
		{"drop mid users, many packets in", faultDrop, "users", 40000, "reading users"},
		{"drop one byte before the users result ends", faultDrop, "users", -1, "reading users"},
		{"drop mid locations", faultDrop, "locations", 200, "locations"},
		{"server error after 150 user rows", faultError, "users", 150, "Snapshot isolation transaction aborted"},
		{"silence mid users until the query timeout", faultStall, "users", 20000, "reading users"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := &tdsServer{users: 300, locations: 5, fault: c.fault, faultOn: c.on, faultAt: c.at}
			if c.at < 0 {
				_, full, _ := srv.answer(ucs2("AS sso_id"))
				srv.faultAt = len(full) - 1
			}
			port := startTDS(t, srv)
			o := wireOptions(port)
			o.QueryTimeout = time.Second // bounds the silent case: 1 s, then the driver's two 5 s waits for a cancel confirmation
			s, err := Open(context.Background(), o, zaptest.NewLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			srv.armed.Store(true)
			start := time.Now()
			e, err := s.Export(context.Background())
			if err == nil || e != nil {
				t.Fatalf("Export = %v, %v; want an error and no data", e, err)
			}
			if !srv.fired.Load() {
				t.Fatal("the fault never fired: the test proves nothing")
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %q does not contain %q", err, c.wantErr)
			}
			if c.fault == faultStall && !errors.Is(err, ErrQueryTimeout) {
				t.Errorf("stalled read ended with %v, want the query timeout", err)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("export took %v to fail", d)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Error("error leaks the password")
			}
			// The pool recovers: the next export reads everything.
			e, err = s.Export(context.Background())
			if err != nil || len(e.Users) != 300 {
				t.Fatalf("export after the fault: %v users, %v", e, err)
			}
		})
	}
}

// TestWireSlowQueryWithinQueryTimeout: a result that takes longer than
// the connect timeout to start, but less than the query timeout, is read
// in full. (go-mssqldb's own "connection timeout" would have cut it off
// at the connect timeout.)
func TestWireSlowQueryWithinQueryTimeout(t *testing.T) {
	srv := &tdsServer{users: 50, locations: 2, slowUsers: 2500 * time.Millisecond}
	port := startTDS(t, srv)
	o := wireOptions(port)
	o.ConnectTimeout, o.QueryTimeout = time.Second, 20*time.Second
	s, err := Open(context.Background(), o, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv.armed.Store(true)
	e, err := s.Export(context.Background())
	if err != nil {
		t.Fatalf("slow export failed: %v", err)
	}
	if len(e.Users) != 50 {
		t.Fatalf("users = %d, want 50", len(e.Users))
	}
}

// TestWireRefusesUnencryptedServer: with the default settings (encryption
// on), a server that offers no encryption is refused before the login, so
// the password never crosses the wire in the clear.
func TestWireRefusesUnencryptedServer(t *testing.T) {
	srv := &tdsServer{users: 1, locations: 1}
	port := startTDS(t, srv)
	o := wireOptions(port)
	o.Encrypt = true
	s, err := Open(context.Background(), o, zaptest.NewLogger(t))
	if err == nil {
		s.Close()
		t.Fatal("connected to a server without encryption")
	}
	if !strings.Contains(err.Error(), "encryption") {
		t.Errorf("error does not say why: %v", err)
	}
	if n := srv.logins.Load(); n != 0 {
		t.Fatalf("%d login packets sent to a server without encryption", n)
	}
}
