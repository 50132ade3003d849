package deploy

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"condeco-visitor-sync/sync/service"
)

// exported is every metric name the daemon serves, read from the
// collector's own descriptions, and every result label a run can carry.
func exported(t *testing.T) (names map[string]bool, results []string) {
	t.Helper()
	rec := httptest.NewRecorder()
	service.NewMetrics().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	names = map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (cvs_[a-z_]+) `).FindAllStringSubmatch(rec.Body.String(), -1) {
		names[m[1]] = true
	}
	// Series that exist only once a run has a Visitor client.
	for _, m := range regexp.MustCompile(`"(cvs_[a-z_]+)"`).FindAllStringSubmatch(metricsSource(t), -1) {
		names[m[1]] = true
	}
	// Vectors with no label value yet (runs_total before the first run).
	for _, m := range regexp.MustCompile(`Namespace: "cvs", Name: "([a-z_]+)"`).FindAllStringSubmatch(metricsSource(t), -1) {
		names["cvs_"+m[1]] = true
	}
	for c := service.ExitCode(0); c <= 20; c++ {
		if c.Name() != "unknown" {
			results = append(results, c.Label())
		}
	}
	if len(names) < 10 {
		t.Fatalf("only %d metrics described: %v", len(names), names)
	}
	return names, results
}

var (
	metricRe = regexp.MustCompile(`\bcvs_[a-z_]+`)
	resultRe = regexp.MustCompile(`cvs_runs_total\{result=~?"([^"]+)"`)
)

// checkExpr fails when an expression names a metric the daemon does not
// serve, or a run result it never reports: such an alert never fires.
func checkExpr(t *testing.T, where, expr string, names map[string]bool, results []string) {
	t.Helper()
	ms := metricRe.FindAllString(expr, -1)
	if len(ms) == 0 {
		t.Errorf("%s: %q names no cvs_ metric", where, expr)
	}
	for _, m := range ms {
		if !names[m] {
			t.Errorf("%s: %s is not a metric the daemon serves", where, m)
		}
	}
	for _, m := range resultRe.FindAllStringSubmatch(expr, -1) {
		for _, r := range regexp.MustCompile(`\|`).Split(m[1], -1) {
			if !slices.Contains(results, r) && r != "panic" {
				t.Errorf("%s: result %q is never reported (results: %v)", where, r, results)
			}
		}
	}
}

// The shipped alert rules name only metrics and results that exist, and
// cover what the operations guide promises to alert on.
func TestAlertRulesNameExistingMetrics(t *testing.T) {
	names, results := exported(t)
	b, err := os.ReadFile("prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert  string            `yaml:"alert"`
				Expr   string            `yaml:"expr"`
				Labels map[string]string `yaml:"labels"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	var alerts []string
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.Labels["severity"] == "" {
				t.Errorf("%s has no severity label", r.Alert)
			}
			checkExpr(t, r.Alert, r.Expr, names, results)
		}
	}
	for _, want := range []string{"CVSNoSuccessfulSync", "CVSStoppedByLimitOrGuard", "CVSFailuresTwoRunsInARow", "CVSRateLimitedOften", "CVSRunTooLong"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("alerts.yaml lacks %s (has %v)", want, alerts)
		}
	}
}

// Every panel of the shipped Grafana dashboard queries a metric that exists.
func TestDashboardNamesExistingMetrics(t *testing.T) {
	names, results := exported(t)
	b, err := os.ReadFile("grafana/condeco-visitor-sync.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if len(dash.Panels) == 0 {
		t.Fatal("dashboard has no panels")
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			checkExpr(t, "panel "+p.Title, q.Expr, names, results)
		}
	}
}

// metricsSource is the file that declares the series served only while
// a client is wired (requests, retries, 429s): they are named there.
func metricsSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../sync/service/metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
