package state

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// KeepReports bounds the per-run copies under reports/: a year of daily
// runs plus room for run-now, so a small state volume never fills.
const KeepReports = 400

// ReportName is a run's copy under reports/: its start time first, so
// lexical order is age order.
func ReportName(start time.Time, runID string) string {
	return start.UTC().Format("20060102T150405Z") + "-" + runID + ".json"
}

// ReportPath is where WriteReport puts the copy of run runID.
func (d *Dir) ReportPath(start time.Time, runID string) string {
	return filepath.Join(d.path, ReportsDir, ReportName(start, runID))
}

// WriteReport keeps the last report at a fixed path (what support staff
// open first) and a copy per run under reports/, both written atomically,
// and prunes copies beyond KeepReports.
func (d *Dir) WriteReport(start time.Time, runID string, report any) error {
	b, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: encoding report: %w", ErrWrite, err)
	}
	dir := filepath.Join(d.path, ReportsDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("%w: writing report: %w", ErrWrite, err)
	}
	if err := WriteAtomic(d.ReportPath(start, runID), b, 0o640); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	pruneReports(dir, KeepReports)
	if err := WriteAtomic(d.file(LastReportFile), b, 0o640); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return nil
}

// pruneReports deletes the oldest per-run reports beyond keep.
func pruneReports(dir string, keep int) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(names) <= keep {
		return
	}
	sort.Strings(names)
	for _, n := range names[:len(names)-keep] {
		os.Remove(n)
	}
}
