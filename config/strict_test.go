package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docWith is minimal with extra's keys replacing minimal's.
func docWith(extra string) string {
	keys := map[string]bool{}
	for _, l := range strings.Split(extra, "\n") {
		if k, _, ok := strings.Cut(l, ":"); ok {
			keys[k] = true
		}
	}
	var kept []string
	for _, l := range strings.Split(minimal, "\n") {
		if k, _, _ := strings.Cut(l, ":"); !keys[k] {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n") + "\n" + extra + "\n"
}

// Values that would switch a guard off, spend the budget or hide a
// credential are refused, each naming its key and the bound.
func TestConfigThatCannotSwitchAGuardOff(t *testing.T) {
	cases := []struct {
		name, extra, key, words string
	}{
		{"NaN delete share", "max_delete_share: .nan", "max_delete_share", "between 0 and 1"},
		{"NaN source share", "source_min_share: .nan", "source_min_share", "between 0 and 1"},
		{"infinite share", "source_min_share: .inf", "source_min_share", "between 0 and 1"},
		{"minus infinity", "max_delete_share: -.inf", "max_delete_share", "between 0 and 1"},
		{"retries without end", "scim_retry_max: 100000000", "scim_retry_max", "between 0 and 20"},
		{"rate with extra zeros", "scim_rate_limit: 50000000", "scim_rate_limit", "between 1 and 1000000"},
		{"every second", `schedule: "@every 1s"`, "schedule", "more often than hourly"},
		{"every minute", `schedule: "* * * * *"`, "schedule", "fires every 1m0s"},
		{"twice in one hour", `schedule: "0,30 2 * * *"`, "schedule", "fires every 30m0s"},
		{"one-letter prefix", `external_id_prefix: "c"`, "external_id_prefix", "at least 3 characters"},
		{"open prefix", `external_id_prefix: "condeco"`, "external_id_prefix", "end in ':' or '-'"},
		{"prefix of the other", "external_id_prefix: \"condeco-\"\nlocation_external_id_prefix: \"condeco-location:\"", "location_external_id_prefix", "prefixes of each other"},
		{"credentials in the URL", "scim_url: https://admin:hunter2@visitor.example.com/scim/v2", "scim_url", "must not hold credentials"},
		{"query timeout of a year", "condeco_query_timeout: 8760h", "condeco_query_timeout", "between 1s and 24h0m0s"},
		{"scim timeout zero", "scim_timeout: 0s", "scim_timeout", "between 100ms and 10m0s"},
		{"run timeout too short", "run_timeout: 1s", "run_timeout", "between 1m0s and 168h0m0s"},
		{"lock wait of a week", "lock_wait: 168h", "lock_wait", "between 0s and 24h0m0s"},
		{"delete after a century", "delete_after_days: 36500", "delete_after_days", "between 1 and 3650"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(docWith(tc.extra)), env(nil))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.key+":") || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("err = %v, want %s naming %q", err, tc.key, tc.words)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
	// The same, allowed: an hourly schedule, and a frequent one on purpose.
	for _, ok := range []string{`schedule: "0 * * * *"`, "schedule: \"*/5 * * * *\"\nallow_frequent_schedule: true", `external_id_prefix: "hr-"`} {
		if _, err := Parse(strings.NewReader(docWith(ok)), env(nil)); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}

// A URL that is not one is refused without being quoted: it may hold a
// credential.
func TestBadSCIMURLNotShown(t *testing.T) {
	_, err := Parse(strings.NewReader(docWith("scim_url: \"user:pa55word@/no-host\"")), env(nil))
	if err == nil || strings.Contains(err.Error(), "pa55word") {
		t.Fatalf("err = %v", err)
	}
}

// Every file read for configuration is capped at 1 MiB: /dev/zero or a
// log file named by mistake is an error naming it, not an out-of-memory
// crash.
func TestConfigFilesCapped(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, make([]byte, MaxFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/zero", big} {
		if _, err := Load(path, env(nil)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "1 MiB") {
			t.Errorf("--config %s: %v", path, err)
		}
		_, err := Parse(strings.NewReader(minimal), env(map[string]string{EnvSCIMToken + "_FILE": path}))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), EnvSCIMToken+"_FILE") || !strings.Contains(err.Error(), "1 MiB") {
			t.Errorf("%s_FILE=%s: %v", EnvSCIMToken, path, err)
		}
	}
}

// adopt_existing_locations is on unless set off; a value that is not a
// boolean is refused naming the key, not read as either.
func TestAdoptExistingLocations(t *testing.T) {
	cases := []struct {
		name, extra string
		want        bool
		bad         bool
	}{
		{name: "default on", want: true},
		{name: "set off", extra: "adopt_existing_locations: false", want: false},
		{name: "not a boolean", extra: "adopt_existing_locations: sometimes", bad: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(docWith(tc.extra)), env(nil))
			if tc.bad {
				if err == nil || !strings.Contains(err.Error(), "adopt_existing_locations") {
					t.Fatalf("err = %v, want one naming adopt_existing_locations", err)
				}
				return
			}
			if err != nil || c.AdoptExistingLocations != tc.want {
				t.Fatalf("adopt_existing_locations = %v (%v), want %v", c.AdoptExistingLocations, err, tc.want)
			}
		})
	}
}
