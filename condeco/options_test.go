package condeco

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/microsoft/go-mssqldb/msdsn"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestConnString(t *testing.T) {
	base := Options{Driver: "sqlserver", Host: "db.example.net", Database: "condeco", User: "sync",
		Password: testPassword, Encrypt: true}
	cases := []struct {
		name     string
		edit     func(*Options)
		driver   string
		want     map[string]string // query parameters
		user     string
		warnings int
		wantErr  error
	}{
		{"sql auth defaults", func(*Options) {}, "sqlserver",
			map[string]string{"database": "condeco", "ApplicationIntent": "ReadOnly", "encrypt": "true", "TrustServerCertificate": "false", "connection timeout": "30"}, "sync", 0, nil},
		{"encryption off warns", func(o *Options) { o.Encrypt = false }, "sqlserver", map[string]string{"encrypt": "false"}, "sync", 1, nil},
		{"trust certificate warns", func(o *Options) { o.TrustServerCertificate = true }, "sqlserver", map[string]string{"TrustServerCertificate": "true"}, "sync", 1, nil},
		{"managed identity", func(o *Options) { o.Auth = AuthAzureADMSI; o.ClientID = "cid" }, "azuresql",
			map[string]string{"fedauth": "ActiveDirectoryManagedIdentity"}, "cid", 0, nil},
		{"service principal", func(o *Options) { o.Auth = AuthAzureADSP; o.ClientID, o.TenantID, o.ClientSecret = "cid", "tid", "sec" }, "azuresql",
			map[string]string{"fedauth": "ActiveDirectoryServicePrincipal"}, "cid@tid", 0, nil},
		{"service principal without secret", func(o *Options) { o.Auth = AuthAzureADSP; o.ClientID, o.TenantID = "cid", "tid" }, "", nil, "", 0, ErrBadOptions},
		{"unknown auth", func(o *Options) { o.Auth = "kerberos" }, "", nil, "", 0, ErrBadOptions},
		{"no host", func(o *Options) { o.Host = "" }, "", nil, "", 0, ErrBadOptions},
		{"unknown driver", func(o *Options) { o.Driver = "postgres" }, "", nil, "", 0, ErrUnsupportedDriver},
		{"unparseable dsn", func(o *Options) { o.DSN = "sqlserver://sync:" + testPassword + "@host:notaport?database=x" }, "", nil, "", 0, ErrBadOptions},
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
			u, err := url.Parse(dsn)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.want {
				if got := u.Query().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if u.User.Username() != c.user {
				t.Errorf("user = %q, want %q", u.User.Username(), c.user)
			}
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
	cases := []struct {
		name, dsn  string
		wantIntent bool
		warnings   int
	}{
		{"url form gets read-only intent", "sqlserver://u:p@h:1433?database=c&encrypt=true", true, 0},
		{"ado form gets read-only intent", "server=h;user id=u;password=p;database=c;encrypt=true", true, 0},
		{"already read-only kept", "server=h;user id=u;password=p;database=c;encrypt=true;ApplicationIntent=ReadOnly", true, 0},
		{"no database: no intent, warning", "server=h;user id=u;password=p;encrypt=true", false, 1},
		{"unencrypted dsn warns", "sqlserver://u:p@h?database=c&encrypt=disable", true, 1},
		{"trusted certificate warns", "sqlserver://u:p@h?database=c&encrypt=true&TrustServerCertificate=true", true, 1},
		{"url form without encrypt gets encrypt=true", "sqlserver://u:p@h?database=c", true, 0},
		{"ado form without encrypt gets encrypt=true", "server=h;user id=u;password=p;database=c", true, 0},
		{"no encrypt, trusted certificate warns", "sqlserver://u:p@h?database=c&TrustServerCertificate=true", true, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			core, logs := observer.New(zap.DebugLevel)
			o := Options{Driver: "sqlserver", DSN: c.dsn}.withDefaults()
			_, dsn, err := o.connString(zap.New(core))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(strings.ToLower(dsn), "applicationintent=readonly"); got != c.wantIntent {
				t.Errorf("read-only intent = %v in %q", got, dsn)
			}
			// Encryption is on unless the DSN itself says otherwise.
			if cfg, err := msdsn.Parse(dsn); err != nil {
				t.Fatal(err)
			} else if want := !strings.Contains(c.dsn, "encrypt=disable"); (cfg.Encryption == msdsn.EncryptionRequired) != want {
				t.Errorf("encryption %v in %q, want required %v", cfg.Encryption, dsn, want)
			}
			if logs.Len() != c.warnings {
				t.Errorf("warnings = %d (%v), want %d", logs.Len(), logs.All(), c.warnings)
			}
		})
	}
}
