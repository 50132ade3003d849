package service

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// Every run result is served at 0 before any run: the alert rules'
// increase() sees the first stop by a limit or a guard (a counter born at 1
// has no increase).
func TestRunResultsServedAtZero(t *testing.T) {
	rec := httptest.NewRecorder()
	NewMetrics().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, r := range []string{"success", "partial", "safety_limit", "source_guard", "target_guard", "panic"} {
		if want := `cvs_runs_total{result="` + r + `"} 0`; !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `result="unknown"`) {
		t.Error(`/metrics serves cvs_runs_total{result="unknown"}`)
	}
}

// Every change a run counts is a cvs_changes_total action: the location
// renames and adoptions of issue 15 too, served at 0 before any run.
func TestChangesTotalCountsLocationUpdates(t *testing.T) {
	rec := httptest.NewRecorder()
	NewMetrics().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, a := range []string{"created", "adopted", "updated", "deleted", "deactivated", "location_created", "location_updated", "location_adopted"} {
		if want := `cvs_changes_total{action="` + a + `"} 0`; !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
