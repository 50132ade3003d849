package deploy

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"condeco-visitor-sync/config"
)

// yamlKeys lists config.Config's YAML keys, so the ConfigMap checks follow
// the real schema instead of a copy of it.
func yamlKeys() []string {
	var keys []string
	t := reflect.TypeFor[config.Config]()
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); k != "" && k != "-" {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestYAMLKeysFound(t *testing.T) {
	keys := yamlKeys()
	for _, k := range []string{"scim_url", "state_dir", "metrics_listen", "condeco_password"} {
		if !slices.Contains(keys, k) {
			t.Errorf("config.Config has no yaml key %q; reflection broken?", k)
		}
	}
}

// podGetenv is the environment the container sees, with each secret file
// path rewritten into dir where the Secret's example values were written:
// what the kubelet does with the secret volume.
func podGetenv(t *testing.T, ps *corev1.PodSpec, b bundle) func(string) string {
	t.Helper()
	c, err := mainContainer(ps)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for k, v := range b.secret.StringData {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{}
	for _, e := range c.Env {
		v := e.Value
		if m, vol := mountOf(ps, c, v); m != nil && vol != nil && vol.Secret != nil {
			v = filepath.Join(dir, strings.TrimPrefix(v, m.MountPath))
		}
		env[e.Name] = v
	}
	return func(k string) string { return env[k] }
}

// TestConfigMapLoadsWithConfigPackage runs the binary's own config loader
// on the ConfigMap with each workload's environment: keys, types, allowed
// values and the *_FILE wiring all have to agree with the code.
func TestConfigMapLoadsWithConfigPackage(t *testing.T) {
	b := loadBundle(t)
	for wl, ps := range podSpecs(t) {
		t.Run(wl, func(t *testing.T) {
			cfg, err := config.Parse(strings.NewReader(b.cm.Data["config.yaml"]), podGetenv(t, ps, b))
			if err != nil {
				t.Fatalf("config.Parse: %v", err)
			}
			if got, want := cfg.SCIMToken.Value(), b.secret.StringData["scim-token"]; got != want {
				t.Errorf("scim token from file = %q, want the Secret's %q", got, want)
			}
			if got, want := cfg.CondecoPassword.Value(), b.secret.StringData["condeco-password"]; got != want {
				t.Errorf("condeco password from file = %q, want the Secret's %q", got, want)
			}
			if cfg.MetricsListen != "0.0.0.0:9464" {
				t.Errorf("metrics_listen = %q", cfg.MetricsListen)
			}
			if err := checkStateDirWritable(ps, b); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestSystemdConfigLoadsWithConfigPackage does the same for the systemd
// example config, resolving %d to a directory holding one file per
// LoadCredential= name.
func TestSystemdConfigLoadsWithConfigPackage(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("systemd", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"condeco-visitor-sync.service", "condeco-visitor-sync-run-now.service"} {
		t.Run(name, func(t *testing.T) {
			u := loadUnit(t, name)
			dir := t.TempDir()
			for _, lc := range u["Service.LoadCredential"] {
				cred, _, _ := strings.Cut(lc, ":")
				if err := os.WriteFile(filepath.Join(dir, cred), []byte("value-of-"+cred+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			env := map[string]string{}
			for _, e := range u["Service.Environment"] {
				for _, kv := range strings.Fields(e) {
					k, v, _ := strings.Cut(kv, "=")
					env[k] = strings.ReplaceAll(v, "%d", dir)
				}
			}
			cfg, err := config.Parse(strings.NewReader(string(data)), func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("config.Parse: %v", err)
			}
			if cfg.SCIMToken.Value() != "value-of-scim-token" || cfg.CondecoPassword.Value() != "value-of-condeco-password" {
				t.Error("secrets were not read from the credential files")
			}
			if want := "/var/lib/" + u.last("Service.StateDirectory"); cfg.StateDir != want {
				t.Errorf("state_dir = %q, want the unit's %q", cfg.StateDir, want)
			}
		})
	}
}
