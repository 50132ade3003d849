package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// promtoolBuildTimeout bounds the build of promtool: from an empty build
// cache it took 11.5 minutes on 2 busy cores (docs/operations.md, "Alerts
// and dashboard"), warm about 15 seconds.
const promtoolBuildTimeout = 25 * time.Minute

// TestPromtoolRules builds promtool from deploy/prometheus/tools (a module
// of its own, so that the daemon's go.mod never requires
// prometheus/prometheus), then runs `promtool check rules` on alerts.yaml
// and `promtool test rules` on its unit tests, alerts_test.yaml. The build
// is too slow for make test: make promtool-check sets CVS_PROMTOOL=1.
func TestPromtoolRules(t *testing.T) {
	if os.Getenv("CVS_OFFLINE") == "1" {
		t.Skip("CVS_OFFLINE=1: promtool is built from modules on the Go module proxy")
	}
	if os.Getenv("CVS_PROMTOOL") != "1" {
		t.Skip("builds promtool (minutes from a cold cache): make promtool-check runs it with CVS_PROMTOOL=1")
	}
	// go test puts the go command that runs it first in PATH.
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to build promtool with: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), promtoolBuildTimeout)
	defer cancel()

	// A plain build: go test -race and its flags do not reach it.
	promtool := filepath.Join(t.TempDir(), "promtool")
	build := exec.CommandContext(ctx, goCmd, "build", "-o", promtool, "github.com/prometheus/prometheus/cmd/promtool")
	build.Dir = "prometheus/tools"
	build.Env = append(os.Environ(), "GOWORK=off")
	start := time.Now()
	out, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("go build promtool in deploy/prometheus/tools (%v, after %v): %v\n%s", ctx.Err(), time.Since(start).Round(time.Second), err, out)
	}
	t.Logf("built promtool in %v", time.Since(start).Round(time.Second))

	for _, args := range [][]string{
		{"check", "rules", "--lint-fatal", "alerts.yaml"},
		{"test", "rules", "alerts_test.yaml"},
	} {
		cmd := exec.CommandContext(ctx, promtool, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
			continue
		}
		t.Logf("promtool %v:\n%s", args, out)
	}
}

// TestAlertRulesHaveUnitTests: every alert in alerts.yaml has a case in
// alerts_test.yaml where it fires and one where it stays quiet, so that
// an alert added without its promtool unit tests fails make test.
func TestAlertRulesHaveUnitTests(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	var tests struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			Name  string `yaml:"name"`
			Cases []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	for file, v := range map[string]any{"prometheus/alerts.yaml": &rules, "prometheus/alerts_test.yaml": &tests} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	if !slices.Equal(tests.RuleFiles, []string{"alerts.yaml"}) {
		t.Errorf("alerts_test.yaml tests rule_files %v, want [alerts.yaml]", tests.RuleFiles)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, g := range tests.Tests {
		for _, c := range g.Cases {
			if len(c.ExpAlerts) > 0 {
				fires[c.Alertname] = true
			} else {
				quiet[c.Alertname] = true
			}
		}
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if !fires[r.Alert] {
				t.Errorf("alerts_test.yaml has no case where %s fires", r.Alert)
			}
			if !quiet[r.Alert] {
				t.Errorf("alerts_test.yaml has no case where %s stays quiet", r.Alert)
			}
		}
	}
	if n == 0 {
		t.Fatal("alerts.yaml has no alert")
	}
}
