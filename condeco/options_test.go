package condeco

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/microsoft/go-mssqldb/msdsn"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// wantConn is what the driver will do with a connection string, read
// back through go-mssqldb's own parser rather than by string matching.
type wantConn struct {
	encrypt  msdsn.Encryption
	verify   bool // certificate verified
	readOnly bool
	dial     time.Duration
	user     string
	fedauth  string
	appName  string
}

func checkConn(t *testing.T, dsn string, w wantConn) {
	t.Helper()
	cfg, err := msdsn.Parse(dsn)
	if err != nil {
		t.Fatalf("the driver cannot parse the result: %v", err)
	}
	if cfg.Encryption != w.encrypt {
		t.Errorf("encryption = %v, want %v", cfg.Encryption, w.encrypt)
	}
	if verify := cfg.TLSConfig != nil && !cfg.TLSConfig.InsecureSkipVerify; verify != w.verify {
		t.Errorf("certificate verified = %v, want %v", verify, w.verify)
	}
	if cfg.ReadOnlyIntent != w.readOnly {
		t.Errorf("read-only intent = %v, want %v", cfg.ReadOnlyIntent, w.readOnly)
	}
	if cfg.DialTimeout != w.dial {
		t.Errorf("dial timeout = %v, want %v", cfg.DialTimeout, w.dial)
	}
	// "connection timeout" is a deadline on every read for the life of
	// the connection; it must not be set (loginDialer bounds the login).
	if cfg.ConnTimeout != 0 {
		t.Errorf("connection timeout = %v, want none", cfg.ConnTimeout)
	}
	if cfg.User != w.user {
		t.Errorf("user = %q, want %q", cfg.User, w.user)
	}
	if got := cfg.Parameters["fedauth"]; got != w.fedauth {
		t.Errorf("fedauth = %q, want %q", got, w.fedauth)
	}
	if cfg.AppName != w.appName {
		t.Errorf("app name = %q, want %q", cfg.AppName, w.appName)
	}
}

func TestConnString(t *testing.T) {
	base := Options{Driver: "sqlserver", Host: "db.example.net", Database: "condeco", User: "sync",
		Password: testPassword, Encrypt: true, ConnectTimeout: 20 * time.Second}
	secure := wantConn{encrypt: msdsn.EncryptionRequired, verify: true, readOnly: true, dial: 20 * time.Second,
		user: "sync", appName: appName}
	cases := []struct {
		name     string
		edit     func(*Options)
		driver   string
		want     func(*wantConn)
		warnings int
		wantErr  error
	}{
		{"sql auth defaults: encrypted, verified, read-only", func(*Options) {}, "sqlserver", func(*wantConn) {}, 0, nil},
		{"connect timeout rounds up to whole seconds", func(o *Options) { o.ConnectTimeout = 1500 * time.Millisecond }, "sqlserver",
			func(w *wantConn) { w.dial = 2 * time.Second }, 0, nil},
		{"encryption off warns", func(o *Options) { o.Encrypt = false }, "sqlserver",
			func(w *wantConn) { w.encrypt = msdsn.EncryptionOff }, 1, nil},
		{"trust certificate warns", func(o *Options) { o.TrustServerCertificate = true }, "sqlserver",
			func(w *wantConn) { w.verify = false }, 1, nil},
		{"both off warn twice", func(o *Options) { o.Encrypt, o.TrustServerCertificate = false, true }, "sqlserver",
			func(w *wantConn) { w.encrypt, w.verify = msdsn.EncryptionOff, false }, 2, nil},
		{"managed identity, system-assigned", func(o *Options) { o.Auth = AuthAzureADMSI; o.User = "" }, "azuresql",
			func(w *wantConn) { w.fedauth, w.user = "ActiveDirectoryManagedIdentity", "" }, 0, nil},
		{"managed identity, user-assigned", func(o *Options) { o.Auth = AuthAzureADMSI; o.ClientID = "cid" }, "azuresql",
			func(w *wantConn) { w.fedauth, w.user = "ActiveDirectoryManagedIdentity", "cid" }, 0, nil},
		{"service principal", func(o *Options) { o.Auth = AuthAzureADSP; o.ClientID, o.TenantID, o.ClientSecret = "cid", "tid", "sec" }, "azuresql",
			func(w *wantConn) { w.fedauth, w.user = "ActiveDirectoryServicePrincipal", "cid@tid" }, 0, nil},
		{"service principal without secret", func(o *Options) { o.Auth = AuthAzureADSP; o.ClientID, o.TenantID = "cid", "tid" }, "", nil, 0, ErrBadOptions},
		{"sql auth without user", func(o *Options) { o.User = "" }, "", nil, 0, ErrBadOptions},
		{"unknown auth", func(o *Options) { o.Auth = "kerberos" }, "", nil, 0, ErrBadOptions},
		{"no host", func(o *Options) { o.Host = "" }, "", nil, 0, ErrBadOptions},
		{"unknown driver", func(o *Options) { o.Driver = "postgres" }, "", nil, 0, ErrUnsupportedDriver},
		{"unparseable dsn", func(o *Options) { o.DSN = "sqlserver://sync:" + testPassword + "@host:notaport?database=x" }, "", nil, 0, ErrBadOptions},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := base
			c.edit(&o)
			o = o.withDefaults()
			core, logs := observer.New(zap.DebugLevel)
			name, dsn, err := o.connString(zap.New(core))
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				if strings.Contains(err.Error(), testPassword) {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if name != c.driver {
				t.Errorf("driver = %q, want %q", name, c.driver)
			}
			w := secure
			c.want(&w)
			checkConn(t, dsn, w)
			if logs.Len() != c.warnings {
				t.Errorf("warnings = %d, want %d", logs.Len(), c.warnings)
			}
			for _, e := range logs.All() {
				if strings.Contains(e.Message+fmt.Sprint(e.ContextMap()), testPassword) {
					t.Error("log leaks the password")
				}
			}
		})
	}
}

func TestHardenDSN(t *testing.T) {
	secure := wantConn{encrypt: msdsn.EncryptionRequired, verify: true, readOnly: true, dial: 30 * time.Second,
		user: "u", appName: appName}
	cases := []struct {
		name, dsn string
		want      func(*wantConn)
		warnings  int
	}{
		{"url form completed", "sqlserver://u:p@h:1433?database=c", func(*wantConn) {}, 0},
		{"ado form completed", "server=h;user id=u;password=p;database=c", func(*wantConn) {}, 0},
		{"odbc form completed but for intent", "odbc:server=h;user id=u;password={p;q};database=c",
			func(w *wantConn) { w.readOnly = false }, 1},
		{"odbc form with its own intent", "odbc:server=h;user id=u;password=p;database=c;ApplicationIntent=ReadOnly", func(*wantConn) {}, 0},
		{"already read-only kept", "server=h;user id=u;password=p;database=c;ApplicationIntent=ReadOnly", func(*wantConn) {}, 0},
		{"no database: no intent, warning", "server=h;user id=u;password=p", func(w *wantConn) { w.readOnly = false }, 1},
		{"explicit encrypt=disable kept, warns", "sqlserver://u:p@h?database=c&encrypt=disable",
			func(w *wantConn) { w.encrypt, w.verify = msdsn.EncryptionDisabled, false }, 1},
		{"explicit encrypt=false kept, warns", "server=h;user id=u;password=p;database=c;encrypt=false",
			func(w *wantConn) { w.encrypt = msdsn.EncryptionOff }, 1},
		{"explicit trust kept, warns", "sqlserver://u:p@h?database=c&TrustServerCertificate=true", func(w *wantConn) { w.verify = false }, 1},
		{"strict encryption kept", "sqlserver://u:p@h?database=c&encrypt=strict", func(w *wantConn) { w.encrypt = msdsn.EncryptionStrict }, 0},
		{"own dial timeout and app name kept", "server=h;user id=u;password=p;database=c;dial timeout=5;app name=ops",
			func(w *wantConn) { w.dial, w.appName = 5*time.Second, "ops" }, 0},
		{"own connection timeout kept", "server=h;user id=u;password=p;database=c;connection timeout=0", func(*wantConn) {}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			core, logs := observer.New(zap.DebugLevel)
			o := Options{Driver: "sqlserver", DSN: c.dsn}.withDefaults()
			_, dsn, err := o.connString(zap.New(core))
			if err != nil {
				t.Fatal(err)
			}
			w := secure
			c.want(&w)
			checkConn(t, dsn, w)
			if logs.Len() != c.warnings {
				t.Errorf("warnings = %d (%v), want %d", logs.Len(), logs.All(), c.warnings)
			}
		})
	}
}

// TestSecretsNotInErrors feeds connection settings that fail at every
// stage (parse, open, connect, login) and checks no error text carries the
// password or client secret, even where the driver's own message would.
func TestSecretsNotInErrors(t *testing.T) {
	const secret = "Cl1ent-S3cret-Value"
	cases := []struct {
		name string
		o    Options
	}{
		{"url dsn with a bad port", Options{Driver: "sqlserver", DSN: "sqlserver://sync:" + testPassword + "@h:99999?database=c"}},
		{"url dsn with a bad encrypt value", Options{Driver: "sqlserver", DSN: "sqlserver://sync:" + testPassword + "@h?database=c&encrypt=maybe"}},
		{"ado dsn with a bad encrypt value", Options{Driver: "sqlserver", DSN: "server=h;user id=u;password=" + testPassword + ";encrypt=maybe"}},
		{"host with a space", Options{Driver: "sqlserver", Host: "db host", Database: "c", User: "u", Password: testPassword, Encrypt: true}},
		{"nothing listening", Options{Driver: "sqlserver", Host: "127.0.0.1", Port: 1, Database: "c", User: "u",
			Password: testPassword, Encrypt: true, ConnectTimeout: time.Second}},
		{"service principal, nothing listening", Options{Driver: "sqlserver", Host: "127.0.0.1", Port: 1, Database: "c",
			Auth: AuthAzureADSP, ClientID: "cid", TenantID: "tid", ClientSecret: secret, Encrypt: true, ConnectTimeout: time.Second}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			core, logs := observer.New(zap.DebugLevel)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := Open(ctx, c.o, zap.New(core))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			for _, leak := range []string{testPassword, secret} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error leaks a secret: %v", err)
				}
				for _, e := range logs.All() {
					if strings.Contains(e.Message+fmt.Sprint(e.ContextMap()), leak) {
						t.Errorf("log leaks a secret: %s %v", e.Message, e.ContextMap())
					}
				}
			}
		})
	}
}
