package reliability

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"condeco-visitor-sync/visitor/simulator"
)

// Plain http leaves this machine never: a SCIM or token URL that is http
// and not loopback is a configuration error before anything is sent.
func TestPlainHTTPRefusedOffLoopback(t *testing.T) {
	cases := []struct{ name, url, extra string }{
		{"http host name", "http://visitor.example.com/scim/v2", ""},
		{"http private address", "http://10.1.2.3/scim/v2", ""},
		{"http name starting with localhost", "http://localhost.example.com/scim/v2", ""},
		{"http documentation address", "http://192.0.2.10:8080/scim/v2", ""},
		{"other scheme", "ftp://visitor.example.com/scim/v2", ""},
		{"http token url", "https://visitor.example.com/scim/v2", "scim_token_url: http://login.example.com/oauth/token\nscim_client_id: cvs\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 5, simulator.Options{}, "")
			if tc.extra != "" {
				delete(e.vars, "CVS_SCIM_TOKEN")
				e.vars["CVS_SCIM_CLIENT_SECRET"] = oauthSecret
			}
			e.url = tc.url
			e.writeConfig(e.sqliteConfig() + tc.extra)
			r := e.run(30*time.Second, "--run-now")
			if r.code != exitConfig {
				t.Fatalf("exit %d, want %d (config)\n%s", r.code, exitConfig, r)
			}
			if !strings.Contains(r.stderr, "http") {
				t.Errorf("the error does not say why:\n%s", r.stderr)
			}
			t.Logf("RESULT transport=%q exit=%d message=%q", tc.name, r.code, firstLine(r.stderr))
		})
	}
}

// firstLine is the first line of s that reports an error.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "error") {
			return tail(l, 300)
		}
	}
	return ""
}

// newTLSEnv serves the simulator over https with a self-signed
// certificate, on loopback.
func newTLSEnv(t *testing.T, users int, extra string) *env {
	t.Helper()
	e := newEnv(t, users, simulator.Options{}, "")
	sim := simulator.New(simulator.Options{Token: testToken})
	ts := httptest.NewTLSServer(sim)
	t.Cleanup(ts.Close)
	e.sim, e.url = sim, ts.URL+simulator.BasePath
	e.extra = extra
	e.writeConfig(e.sqliteConfig() + extra)
	return e
}

// Certificate verification is on unless switched off by name, and then
// every run says so.
func TestTLSVerification(t *testing.T) {
	t.Run("self-signed certificate refused", func(t *testing.T) {
		e := newTLSEnv(t, 20, "")
		r := e.run(time.Minute, "--run-now")
		if r.code != exitTarget {
			t.Fatalf("exit %d, want %d\n%s", r.code, exitTarget, r)
		}
		if !strings.Contains(r.stdout+r.stderr, "certificate") {
			t.Errorf("the error does not name the certificate:\n%s", r)
		}
		if n := len(e.sim.Users()); n != 0 {
			t.Errorf("%d users written over an unverified connection", n)
		}
		t.Logf("RESULT transport=%q exit=%d", "self-signed certificate, verification on", r.code)
	})
	t.Run("insecure setting warns on every run", func(t *testing.T) {
		e := newTLSEnv(t, 20, "scim_insecure_skip_verify: true\n")
		warned := 0
		for i := 1; i <= 2; i++ {
			r := e.run(time.Minute, "--run-now")
			if r.code != exitOK {
				t.Fatalf("run %d: %s", i, r)
			}
			if n := insecureWarnings(r.stderr, "warn"); n != 1 {
				t.Fatalf("run %d logs %d warnings that verification is off, want 1:\n%s", i, n, r.stderr)
			}
			warned++
		}
		if n := e.census().managed; n != 20 {
			t.Errorf("%d users synced, want 20", n)
		}
		t.Logf("RESULT transport=%q runs=2 warnings=%d", "insecure_skip_verify warns per run-now", warned)
	})
	t.Run("insecure warning survives log_level error", func(t *testing.T) {
		e := newTLSEnv(t, 5, "scim_insecure_skip_verify: true\n")
		e.rewriteKey("log_level", "error")
		r := e.run(time.Minute, "--run-now")
		if r.code != exitOK {
			t.Fatalf("%s", r)
		}
		n := insecureWarnings(r.stderr, "error")
		if n != 1 {
			t.Fatalf("%d insecure lines at error level with log_level error, want 1:\n%s", n, r.stderr)
		}
		t.Logf("RESULT transport=%q runs=1 warnings=%d", "insecure_skip_verify with log_level error", n)
	})
	t.Run("daemon warns on every scheduled run", func(t *testing.T) {
		e := newTLSEnv(t, 5, "scim_insecure_skip_verify: true\nschedule: \"@every 1s\"\nallow_frequent_schedule: true\n")
		runs, stderr := e.daemonRuns(3, 40*time.Second)
		warnings := insecureWarnings(stderr, "warn")
		if runs < 3 || warnings != runs {
			t.Fatalf("daemon: %d runs, %d insecure-TLS warnings; want one per run, 3 runs at least", runs, warnings)
		}
		t.Logf("RESULT transport=%q runs=%d warnings=%d", "insecure_skip_verify in the daemon", runs, warnings)
	})
}

// insecureWarnings counts the per-run lines, at level, that say TLS
// verification to Visitor is off.
func insecureWarnings(stderr, level string) int {
	n := 0
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, `"level":"`+level+`"`) && strings.Contains(l, "TLS certificate verification to Visitor is off") {
			n++
		}
	}
	return n
}

// rewriteKey replaces one top-level key of the config file.
func (e *env) rewriteKey(key, value string) {
	e.t.Helper()
	b := e.readConfig()
	var out []string
	for _, l := range strings.Split(b, "\n") {
		if strings.HasPrefix(l, key+":") {
			l = key + ": " + value
		}
		out = append(out, l)
	}
	e.writeRaw(strings.Join(out, "\n"))
}

// SQL Server connections are encrypted unless switched off by name: the
// client's PRELOGIN asks for encryption (MS-TDS ENCRYPT_ON).
func TestSQLEncryptionOnByDefault(t *testing.T) {
	const (
		encryptOff = 0
		encryptOn  = 1
	)
	cases := []struct {
		name  string
		cfg   func(addr string) string
		want  byte
		warns bool
	}{
		{"discrete settings, default", func(a string) string { return sqlServerConfig(a, "5s") }, encryptOn, false},
		{"discrete settings, encrypt off", func(a string) string { return sqlServerConfig(a, "5s") + "condeco_encrypt: false\n" }, encryptOff, true},
		{"dsn without encrypt", func(a string) string {
			return fmt.Sprintf("condeco_driver: sqlserver\ncondeco_dsn: %q\ncondeco_connect_timeout: 5s\n", "sqlserver://cvs_reader:pw@"+a+"?database=Condeco")
		}, encryptOn, false},
		{"dsn with encrypt=false", func(a string) string {
			return fmt.Sprintf("condeco_driver: sqlserver\ncondeco_dsn: %q\ncondeco_connect_timeout: 5s\n", "sqlserver://cvs_reader:pw@"+a+"?database=Condeco&encrypt=false")
		}, encryptOff, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 5, simulator.Options{}, "")
			addr, seen := fakeSQLServer(t, false)
			e.writeConfig(tc.cfg(addr))
			e.vars["CVS_CONDECO_PASSWORD"] = "pw"
			r := e.run(30*time.Second, "--check")
			if r.code != exitSource {
				t.Fatalf("exit %d, want %d\n%s", r.code, exitSource, r)
			}
			got := seen()
			if len(got) == 0 {
				t.Fatalf("no PRELOGIN reached the fake server\n%s", r)
			}
			warned := strings.Contains(r.stderr, "not encrypted")
			t.Logf("RESULT transport=%q prelogin-encryption=%d warning=%v", tc.name, got[0], warned)
			if warned != tc.warns {
				t.Errorf("warning %v, want %v\n%s", warned, tc.warns, r.stderr)
			}
			if got[0] != tc.want {
				t.Fatalf("PRELOGIN encryption option %d, want %d", got[0], tc.want)
			}
		})
	}
}
