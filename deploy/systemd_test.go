package deploy

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// unit maps "Section.Key" to every value given for it, in order; systemd
// directives may repeat (SystemCallFilter=, LoadCredential=, Environment=).
type unit map[string][]string

// parseUnit reads systemd's key=value syntax: [Section] headers, # and ;
// comments, and trailing-backslash continuation lines.
func parseUnit(r io.Reader) (unit, error) {
	u := unit{}
	section := ""
	sc := bufio.NewScanner(r)
	n := 0
	pending := ""
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if pending != "" {
			line = pending + " " + line
			pending = ""
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			pending = strings.TrimSpace(s)
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: bad section header %q", n, line)
			}
			section = line[1 : len(line)-1]
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			return nil, fmt.Errorf("line %d: not key=value in a section: %q", n, line)
		}
		key := section + "." + strings.TrimSpace(k)
		u[key] = append(u[key], strings.TrimSpace(v))
	}
	if pending != "" {
		return nil, fmt.Errorf("line %d: continuation at end of file", n)
	}
	return u, sc.Err()
}

func (u unit) last(key string) string {
	v := u[key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// hardening is required of both units; an empty want means "set to empty",
// which for CapabilityBoundingSet= drops every capability.
var hardening = []struct{ key, want string }{
	{"DynamicUser", "yes"},
	{"User", "condeco-visitor-sync"},
	{"StateDirectory", "condeco-visitor-sync"},
	{"ProtectSystem", "strict"},
	{"ProtectHome", "yes"},
	{"PrivateTmp", "yes"},
	{"PrivateDevices", "yes"},
	{"NoNewPrivileges", "yes"},
	{"CapabilityBoundingSet", ""},
	{"AmbientCapabilities", ""},
	{"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
	{"RestrictNamespaces", "yes"},
	{"RestrictRealtime", "yes"},
	{"RestrictSUIDSGID", "yes"},
	{"LockPersonality", "yes"},
	{"MemoryDenyWriteExecute", "yes"},
	{"ProtectKernelTunables", "yes"},
	{"ProtectKernelModules", "yes"},
	{"ProtectKernelLogs", "yes"},
	{"ProtectControlGroups", "yes"},
	{"ProtectClock", "yes"},
	{"ProtectHostname", "yes"},
	{"SystemCallArchitectures", "native"},
	{"UMask", "0077"},
}

// checkHardening returns one message per missing or weakened directive.
func checkHardening(u unit) []string {
	var bad []string
	for _, h := range hardening {
		vals, ok := u["Service."+h.key]
		if !ok {
			bad = append(bad, h.key+" not set")
			continue
		}
		if got := vals[len(vals)-1]; got != h.want {
			bad = append(bad, fmt.Sprintf("%s=%s, want %q", h.key, got, h.want))
		}
	}
	if !slices.Contains(u["Service.SystemCallFilter"], "@system-service") {
		bad = append(bad, "SystemCallFilter does not allow-list @system-service")
	}
	return bad
}

// checkCredentials: every secret reaches the process as a LoadCredential
// file named by a *_FILE variable; none is set as a plain variable.
func checkCredentials(u unit) []string {
	var bad []string
	creds := map[string]bool{}
	for _, lc := range u["Service.LoadCredential"] {
		name, src, ok := strings.Cut(lc, ":")
		if !ok || !filepath.IsAbs(src) {
			bad = append(bad, fmt.Sprintf("LoadCredential=%s: want name:/absolute/path", lc))
			continue
		}
		creds[name] = true
	}
	if len(creds) == 0 {
		bad = append(bad, "no LoadCredential=")
	}
	used := map[string]bool{}
	for _, env := range u["Service.Environment"] {
		for _, kv := range strings.Fields(env) {
			k, v, _ := strings.Cut(strings.Trim(kv, `"`), "=")
			if slices.Contains(secretEnvNames, k) {
				bad = append(bad, fmt.Sprintf("Environment sets %s directly; use %s_FILE", k, k))
				continue
			}
			base, ok := strings.CutSuffix(k, "_FILE")
			if !ok || !slices.Contains(secretEnvNames, base) {
				continue
			}
			name, ok := strings.CutPrefix(v, "%d/")
			if !ok || !creds[name] {
				bad = append(bad, fmt.Sprintf("%s=%s is not %%d/<a LoadCredential name>", k, v))
				continue
			}
			used[name] = true
		}
	}
	for name := range creds {
		if !used[name] {
			bad = append(bad, fmt.Sprintf("credential %s is loaded but no *_FILE variable points at it", name))
		}
	}
	if len(u["Service.EnvironmentFile"]) > 0 {
		bad = append(bad, "EnvironmentFile= invites secrets as plain variables")
	}
	return bad
}

const execPrefix = "/usr/local/bin/condeco-visitor-sync --config /etc/condeco-visitor-sync/config.yaml"

func loadUnit(t *testing.T, name string) unit {
	t.Helper()
	f, err := os.Open(filepath.Join("systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u, err := parseUnit(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return u
}

func TestSystemdUnits(t *testing.T) {
	tests := []struct {
		file string
		want map[string]string
	}{
		{"condeco-visitor-sync.service", map[string]string{
			"Service.Type":       "simple",
			"Service.ExecStart":  execPrefix,
			"Service.ExecReload": "/bin/kill -HUP $MAINPID",
			"Service.Restart":    "on-failure",
			"Install.WantedBy":   "multi-user.target",
			"Unit.After":         "network-online.target",
		}},
		{"condeco-visitor-sync-run-now.service", map[string]string{
			"Service.Type":      "oneshot",
			"Service.ExecStart": execPrefix + " --run-now",
			"Unit.After":        "network-online.target",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			u := loadUnit(t, tc.file)
			for k, want := range tc.want {
				if got := u.last(k); got != want {
					t.Errorf("%s=%q, want %q", k, got, want)
				}
			}
			for _, msg := range checkHardening(u) {
				t.Error(msg)
			}
			for _, msg := range checkCredentials(u) {
				t.Error(msg)
			}
		})
	}
}

// TestSystemdRunNowNotRestarted: a oneshot that restarts on failure would
// hammer Visitor after a safety-limit exit.
func TestSystemdRunNowNotRestarted(t *testing.T) {
	u := loadUnit(t, "condeco-visitor-sync-run-now.service")
	if r := u.last("Service.Restart"); r != "" && r != "no" {
		t.Errorf("Restart=%s", r)
	}
	if len(u["Install.WantedBy"]) > 0 {
		t.Error("run-now unit must not be enabled at boot")
	}
}

func TestSystemdChecksCatchBreakage(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("systemd", "condeco-visitor-sync.service"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		edit  func(string) string
		check func(unit) []string
	}{
		{"hardening line removed", func(s string) string {
			return strings.Replace(s, "MemoryDenyWriteExecute=yes\n", "", 1)
		}, checkHardening},
		{"hardening overridden later", func(s string) string {
			return s + "\n[Service]\nProtectSystem=full\n"
		}, checkHardening},
		{"capabilities kept", func(s string) string {
			return strings.Replace(s, "CapabilityBoundingSet=\n", "CapabilityBoundingSet=CAP_NET_ADMIN\n", 1)
		}, checkHardening},
		{"plain secret variable", func(s string) string {
			return strings.Replace(s, "[Service]\n", "[Service]\nEnvironment=CVS_SCIM_TOKEN=abc\n", 1)
		}, checkCredentials},
		{"_FILE without credential", func(s string) string {
			return strings.Replace(s, "%d/scim-token", "%d/scim-tokn", 1)
		}, checkCredentials},
		{"credential unused", func(s string) string {
			return strings.Replace(s, "Environment=CVS_SCIM_TOKEN_FILE=%d/scim-token\n", "", 1)
		}, checkCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			edited := tc.edit(string(good))
			if edited == string(good) {
				t.Fatal("edit did not change the unit; update the test")
			}
			u, err := parseUnit(strings.NewReader(edited))
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.check(u)) == 0 {
				t.Error("check accepted a broken unit")
			}
		})
	}
}

func TestParseUnit(t *testing.T) {
	in := "# c\n[Service]\n; c\nA=1\nA=2\nB=x \\\n  y\nC=\n"
	u, err := parseUnit(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u["Service.A"], []string{"1", "2"}) || u.last("Service.B") != "x y" {
		t.Errorf("parsed %v", u)
	}
	if v, ok := u["Service.C"]; !ok || v[0] != "" {
		t.Errorf("empty value lost: %v", u)
	}
	for _, bad := range []string{"A=1\n", "[Service\nA=1\n", "[Service]\nnoequals\n", "[S]\nA=1 \\\n"} {
		if _, err := parseUnit(strings.NewReader(bad)); err == nil {
			t.Errorf("parsed %q without error", bad)
		}
	}
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	var froms []string
	for _, line := range strings.Split(df, "\n") {
		if f, ok := strings.CutPrefix(strings.TrimSpace(line), "FROM "); ok {
			froms = append(froms, f)
		}
	}
	tests := []struct {
		name string
		ok   bool
	}{
		{"multi-stage from golang:1.26", len(froms) == 2 && strings.HasPrefix(froms[0], "golang:1.26 ")},
		{"final stage distroless nonroot", len(froms) == 2 && froms[1] == "gcr.io/distroless/static:nonroot"},
		{"static build", strings.Contains(df, "CGO_ENABLED=0 go build")},
		{"trimpath", strings.Contains(df, "-trimpath")},
		{"version stamped", strings.Contains(df, `-ldflags "-s -w -X main.version=${VERSION}"`)},
		{"builds the daemon", strings.Contains(df, "./cmd/condeco-visitor-sync")},
		{"non-root user", strings.Contains(df, "\nUSER 65532:65532\n")},
		{"entrypoint is the binary", strings.Contains(df, `ENTRYPOINT ["/usr/local/bin/condeco-visitor-sync"]`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Error("Dockerfile check failed")
			}
		})
	}
}
