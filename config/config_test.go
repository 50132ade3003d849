package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/visitor"
)

const minimal = `
condeco_driver: sqlite
condeco_dsn: file:/tmp/x.db
scim_url: https://visitor.example.com/scim/v2
scim_token: tok-in-file
`

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, extra, wantKey string
	}{
		{"unknown key", "max_deletess: 5", "max_deletess"},
		{"bad driver", "condeco_driver: oracle", "condeco_driver"},
		{"bad policy", "policy: everything", "policy"},
		{"bad invitations", "invitations: maybe", "invitations"},
		{"bad deprovision", "deprovision: shred", "deprovision"},
		{"share above one", "max_delete_share: 1.5", "max_delete_share"},
		{"negative max deletes", "max_deletes: -1", "max_deletes"},
		{"source share above one", "source_min_share: 2", "source_min_share"},
		{"bad cron", "schedule: every day", "schedule"},
		{"bad zone", "time_zone: Mars/Olympus", "time_zone"},
		{"page size over 200", "scim_page_size: 500", "scim_page_size"},
		{"zero rate", "scim_rate_limit: 0", "scim_rate_limit"},
		{"plain http to remote", "scim_url: http://visitor.example.com/scim/v2", "scim_url"},
		{"ftp", "scim_url: ftp://visitor.example.com/", "scim_url"},
		{"empty prefix", `external_id_prefix: ""`, "external_id_prefix"},
		{"token lifetime too short", "scim_token_lifetime: 30s", "scim_token_lifetime"},
		{"wrong type", "max_deletes: lots", "max_deletes"},
		{"bad schema urn", "visitor_user_schema: visitor", "visitor_user_schema"},
		{"endpoint with slash", "visitor_locations_endpoint: a/b", "visitor_locations_endpoint"},
		{"metrics not host port", "metrics_listen: 9464", "metrics_listen"},
		{"bad log level", "log_level: loud", "log_level"},
		{"bad memory limit", "memory_limit: plenty", "memory_limit"},
		{"memory limit too small", "memory_limit: 1MiB", "memory_limit"},
		{"bad verify mode", "scim_verify_writes: never", "scim_verify_writes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// yaml.v3 refuses a duplicate key, so the document is built
			// without minimal's line for the key under test.
			doc := minimal
			key := strings.SplitN(tc.extra, ":", 2)[0]
			var kept []string
			for _, l := range strings.Split(doc, "\n") {
				if !strings.HasPrefix(l, key+":") {
					kept = append(kept, l)
				}
			}
			doc = strings.Join(kept, "\n") + "\n" + tc.extra + "\n"
			_, err := Parse(strings.NewReader(doc), env(nil))
			if err == nil {
				t.Fatalf("no error for %q", tc.extra)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.wantKey) {
				t.Errorf("error %q does not name key %q", err, tc.wantKey)
			}
		})
	}
}

func TestRequiredKeys(t *testing.T) {
	cases := []struct {
		name, doc, wantKey string
	}{
		{"no scim url", "condeco_driver: sqlite\ncondeco_dsn: x\nscim_token: t\n", "scim_url"},
		{"no token", "condeco_driver: sqlite\ncondeco_dsn: x\nscim_url: https://a/scim\n", "scim_token"},
		{"sqlserver without host", "scim_url: https://a/scim\nscim_token: t\n", "condeco_host"},
		{"sqlserver without password", "scim_url: https://a/scim\nscim_token: t\ncondeco_host: db\ncondeco_database: c\ncondeco_user: u\n", "condeco_password"},
		{"service principal without secret", "scim_url: https://a/scim\nscim_token: t\ncondeco_host: db\ncondeco_database: c\ncondeco_auth: azuread-sp\ncondeco_client_id: i\ncondeco_tenant_id: t\n", "condeco_client_secret"},
		{"token url without client secret", "condeco_driver: sqlite\ncondeco_dsn: x\nscim_url: https://a/scim\nscim_token_url: https://a/token\nscim_client_id: c\n", "scim_client_secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.doc), env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.wantKey) {
				t.Fatalf("want an error naming %q, got %v", tc.wantKey, err)
			}
		})
	}
}

func TestDefaultsAndLoopbackHTTP(t *testing.T) {
	doc := strings.Replace(minimal, "https://visitor.example.com", "http://127.0.0.1:8080", 1)
	cfg, err := Parse(strings.NewReader(doc), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"max_deletes", cfg.MaxDeletes, plan.DefaultMaxDeletes},
		{"max_delete_share", cfg.MaxDeleteShare, plan.DefaultMaxDeleteShare},
		{"schedule", cfg.Schedule, DefaultSchedule},
		{"policy", cfg.Policy, plan.DefaultPolicy},
		{"deprovision", cfg.Deprovision, plan.DefaultDeprovision},
		{"rate", cfg.SCIMRateLimit, visitor.DefaultRateLimit},
		{"encrypt", *cfg.CondecoEncrypt, true},
		{"metrics on loopback", cfg.MetricsListen, "127.0.0.1:9464"},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestSecretOverrides(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("tok-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"file value", nil, "tok-in-file"},
		{"env wins over file", map[string]string{EnvSCIMToken: "tok-env"}, "tok-env"},
		{"_FILE wins over env", map[string]string{EnvSCIMToken: "tok-env", EnvSCIMToken + "_FILE": file}, "tok-from-file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse(strings.NewReader(minimal), env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.SCIMToken.Value() != tc.want {
				t.Errorf("token = %q, want %q", cfg.SCIMToken.Value(), tc.want)
			}
		})
	}
	t.Run("missing _FILE names the variable", func(t *testing.T) {
		_, err := Parse(strings.NewReader(minimal), env(map[string]string{EnvCondecoPassword + "_FILE": filepath.Join(dir, "nope")}))
		if err == nil || !strings.Contains(err.Error(), EnvCondecoPassword+"_FILE") {
			t.Fatalf("want error naming %s_FILE, got %v", EnvCondecoPassword, err)
		}
	})
}

func TestSecretsMaskedInEveryDump(t *testing.T) {
	const secret = "s3cr3t-value-XYZ"
	cfg, err := Parse(strings.NewReader(minimal), env(map[string]string{
		EnvSCIMToken: secret, EnvCondecoDSN: secret, EnvCondecoPassword: secret,
		EnvCondecoClientSecret: secret, EnvSCIMClientSecret: secret,
	}))
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(cfg)
	y, _ := yaml.Marshal(cfg)
	dumps := map[string]string{
		"json": string(j), "yaml": string(y),
		"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg), "%#v": fmt.Sprintf("%#v", cfg),
		"%s token": fmt.Sprintf("%s", cfg.SCIMToken),
	}
	for name, d := range dumps {
		if strings.Contains(d, secret) {
			t.Errorf("%s dump leaks the secret", name)
		}
	}
	if cfg.SCIMToken.Value() != secret {
		t.Error("Value() must return the secret itself")
	}
}
