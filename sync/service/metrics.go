package service

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/runner"
	"condeco-visitor-sync/visitor"
)

// Metrics are the daemon's Prometheus series. Request counters are read
// from the client at scrape time so that they move during a long run.
type Metrics struct {
	reg         *prometheus.Registry
	lastAttempt prometheus.Gauge
	lastSuccess prometheus.Gauge
	duration    prometheus.Gauge
	inProgress  prometheus.Gauge
	runs        *prometheus.CounterVec
	changes     *prometheus.CounterVec
	failures    prometheus.Counter
	rowsRead    prometheus.Gauge
	notifies    *prometheus.CounterVec

	mu        sync.Mutex
	succeeded bool // a run of this process set lastSuccess
	unready   string
	stats     func() visitor.Stats
	progress  func() (done, total int)
}

// NewMetrics registers every series at 0.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "cvs", Name: name, Help: help})
		m.reg.MustRegister(g)
		return g
	}
	m.lastAttempt = f("last_attempt_timestamp_seconds", "Unix time the last sync run started.")
	m.lastSuccess = f("last_success_timestamp_seconds", "Unix time the last sync run that succeeded (every change applied, or all but some users' failed) finished; after a restart, the one in last-success.json.")
	m.duration = f("last_run_duration_seconds", "How long the last sync run took.")
	m.inProgress = f("run_in_progress", "1 while a sync run is going.")
	m.rowsRead = f("source_rows_read", "Rows the last Condeco export read, before validation.")
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "cvs", Name: "runs_total", Help: "Sync runs by result."}, []string{"result"})
	m.changes = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "cvs", Name: "changes_total", Help: "Changes applied to Visitor by action."}, []string{"action"})
	m.failures = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "cvs", Name: "user_failures_total", Help: "Users whose change failed (retried next run)."})
	m.notifies = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "cvs", Name: "notifications_total", Help: "Run notifications by result (sent, failed)."}, []string{"result"})
	// Every series exists from the start at 0, so a dashboard or an alert
	// on a rate sees 0 rather than "no data" before the first change.
	for action := range changeCounts(apply.Counts{}) {
		m.changes.WithLabelValues(action)
	}
	for _, r := range []string{"sent", "failed"} {
		m.notifies.WithLabelValues(r)
	}
	// Every run result too: the first run a guard stops must move its
	// counter from 0 to 1. A series born at 1 shows no increase(), so
	// deploy/prometheus/alerts.yaml would not page on the first stop after
	// a daemon start (and would need three partial runs, not two).
	for c := ExitOK; c <= ExitTargetGuard; c++ {
		m.runs.WithLabelValues(c.Label())
	}
	m.runs.WithLabelValues("panic")
	m.reg.MustRegister(m.runs, m.changes, m.failures, m.notifies, m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

var (
	descRequests = prometheus.NewDesc("cvs_scim_requests_total", "SCIM requests sent to Visitor by method and status (retries included).", []string{"method", "status"}, nil)
	descRetries  = prometheus.NewDesc("cvs_scim_retries_total", "SCIM requests that repeated an earlier attempt.", nil, nil)
	desc429      = prometheus.NewDesc("cvs_scim_rate_limited_total", "429 Too Many Requests answers received from Visitor.", nil, nil)
	descWait     = prometheus.NewDesc("cvs_rate_limiter_wait_seconds_total", "Time spent waiting for the client-side rate limiter.", nil, nil)
	descProgress = prometheus.NewDesc("cvs_run_progress", "Changes done and total in the run in flight.", []string{"kind"}, nil)
)

// Describe and Collect make metrics a collector of the live client stats.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRequests
	ch <- descRetries
	ch <- desc429
	ch <- descWait
	ch <- descProgress
}

func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	stats, progress := m.stats, m.progress
	m.mu.Unlock()
	if stats != nil {
		s := stats()
		for k, v := range s.ByStatus {
			method, status, _ := strings.Cut(k, " ")
			ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(v), method, status)
		}
		ch <- prometheus.MustNewConstMetric(descRetries, prometheus.CounterValue, float64(s.Retries))
		ch <- prometheus.MustNewConstMetric(desc429, prometheus.CounterValue, float64(s.RateLimited))
		ch <- prometheus.MustNewConstMetric(descWait, prometheus.CounterValue, s.LimiterWait.Seconds())
	}
	if progress != nil {
		done, total := progress()
		ch <- prometheus.MustNewConstMetric(descProgress, prometheus.GaugeValue, float64(done), "done")
		ch <- prometheus.MustNewConstMetric(descProgress, prometheus.GaugeValue, float64(total), "total")
	}
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// SetSources reads the client's request counters and the run's progress
// at scrape time.
func (m *Metrics) SetSources(stats func() visitor.Stats, progress func() (int, int)) {
	m.mu.Lock()
	m.stats, m.progress = stats, progress
	m.mu.Unlock()
}

// notified counts a notification; alert on result="failed", since a
// broken relay otherwise hides every later warning.
func (m *Metrics) notified(result string) { m.notifies.WithLabelValues(result).Inc() }

// runPanicked counts a run that panicked (a bug); the run in flight gauge
// goes back to 0 so that it does not read as a run going forever.
func (m *Metrics) runPanicked() {
	m.inProgress.Set(0)
	m.runs.WithLabelValues("panic").Inc()
}

func (m *Metrics) runStarted() {
	m.lastAttempt.SetToCurrentTime()
	m.inProgress.Set(1)
}

// runFinished records a run. Readiness drops only for failures an operator
// must fix (credentials, unreachable systems), not for a tripped limit.
func (m *Metrics) runFinished(rep *runner.Report, err error, d time.Duration) {
	m.inProgress.Set(0)
	m.duration.Set(d.Seconds())
	code := Classify(err)
	result := code.Label()
	m.runs.WithLabelValues(result).Inc()
	if rep != nil {
		for action, n := range changeCounts(rep.Counts) {
			m.changes.WithLabelValues(action).Add(float64(n))
		}
		m.failures.Add(float64(rep.Counts.Failed))
		m.rowsRead.Set(float64(rep.SourceRows))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch code {
	case ExitOK, ExitPartial:
		m.lastSuccess.SetToCurrentTime()
		m.succeeded = true
		m.unready = ""
	case ExitAuth, ExitSource, ExitTarget, ExitConfig:
		m.unready = result
	}
}

// restoreLastSuccess gives cvs_last_success_timestamp_seconds the end of
// the last successful run on record, so that a restarted daemon does not
// read as "never succeeded" until its first run ends (the dashboard's
// hours-since panel jumped to 56 years, an alert on the gauge fired after
// every restart). A run that ended meanwhile wins.
func (m *Metrics) restoreLastSuccess(end time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if end.IsZero() || m.succeeded {
		return
	}
	m.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
}

func (m *Metrics) unreadyReason() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.unready
}

// changeCounts flattens the counts that are changes, for the metrics.
func changeCounts(c apply.Counts) map[string]int {
	return map[string]int{
		"created":          c.Created,
		"adopted":          c.Adopted,
		"updated":          c.Updated,
		"deleted":          c.Deleted,
		"deactivated":      c.Deactivated,
		"location_created": c.LocationsCreated,
		"location_updated": c.LocationsUpdated,
		"location_adopted": c.LocationsAdopted,
	}
}
