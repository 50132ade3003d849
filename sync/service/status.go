package service

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/sync/runner"
)

// DefaultStatusRuns is how many past runs --status shows.
const DefaultStatusRuns = 10

// FileReport is a run's report as written to state_dir: the runner's
// report with the outcome the service classified, so that --status can
// say how a run ended without re-reading its error text.
type FileReport struct {
	*runner.Report
	ExitCode ExitCode `json:"exitCode"`
	ExitName string   `json:"exitName"`
	Trigger  string   `json:"trigger"`
}

func fileReport(rep *runner.Report, err error, trigger string) FileReport {
	code := Classify(err)
	return FileReport{Report: rep.ForFile(), ExitCode: code, ExitName: code.Name(), Trigger: trigger}
}

// Status is what --status shows: read from state_dir alone, no network.
type Status struct {
	StateDir string    `json:"stateDir"`
	Now      time.Time `json:"now"`
	// Running is the lock holder while a run is in progress ("since …
	// (pid … on …)"); empty when none is. LockUnknown says why that could
	// not be told.
	Running     string `json:"running,omitempty"`
	LockUnknown string `json:"lockUnknown,omitempty"`
	// NextRun is the daemon's next scheduled run in the schedule's zone
	// (RFC 3339 with the offset); a daemon must be running to make it.
	NextRun  string `json:"nextRun,omitempty"`
	Schedule string `json:"schedule"`
	TimeZone string `json:"timeZone"`
	// LastSuccess is when the last run that succeeded started.
	LastSuccess *time.Time `json:"lastSuccess,omitempty"`
	// NoStateDir: state_dir does not exist (no run has started with it,
	// or the path is not the daemon's).
	NoStateDir bool `json:"noStateDir,omitempty"`
	// Runs are the newest runs first.
	Runs []RunStatus `json:"runs"`
	// StoppedBy is set when the last run was stopped by a safety limit or
	// a guard: what stopped it and the commands that approve it.
	StoppedBy *Stopped `json:"stoppedBy,omitempty"`
}

// RunStatus is one past run, from its report.
type RunStatus struct {
	RunID      string    `json:"runId"`
	Start      time.Time `json:"start"`
	DurationMS int64     `json:"durationMs"`
	Trigger    string    `json:"trigger,omitempty"`
	// ExitCode is nil for a report written before reports carried it.
	ExitCode  *ExitCode       `json:"exitCode,omitempty"`
	Result    string          `json:"result"`
	Counts    apply.Counts    `json:"counts"`
	Failures  []apply.Failure `json:"failures"`
	Conflicts []plan.Issue    `json:"conflicts"`
	Requests  int64           `json:"requests"`
	Only      []string        `json:"only,omitempty"`
	Error     string          `json:"error,omitempty"`
	Report    string          `json:"report"` // the file
}

// Stopped is what stopped a run before any write and how to approve it.
type Stopped struct {
	By      string   `json:"by"`      // "safety limit", "source guard", "target guard"
	Reasons []string `json:"reasons"` // each limit or guard, as the run said it
	Flags   string   `json:"flags"`   // the approval flags, e.g. "--allow-deletes 60"
	Preview string   `json:"preview"` // the dry run to read first
	Approve string   `json:"approve"` // the run that approves it
}

// ReadStatus reads state_dir: the newest n reports, the lock and the
// last-success record, and works out the next scheduled run at now.
// command is how the approval commands start ("condeco-visitor-sync
// --config /etc/…/config.yaml").
func ReadStatus(stateDir string, sch Schedule, command string, now time.Time, n int) (*Status, error) {
	st := &Status{StateDir: stateDir, Now: now.UTC(), Schedule: sch.Spec, TimeZone: sch.TimeZone, Runs: []RunStatus{}}
	if next, err := NextRun(sch, now); err != nil {
		return nil, err
	} else if !next.IsZero() {
		st.NextRun = next.Format(time.RFC3339)
	}
	dir, err := state.OpenExisting(stateDir)
	if errors.Is(err, fs.ErrNotExist) {
		st.NoStateDir = true // no run has started with this state_dir
		return st, nil
	} else if err != nil {
		return nil, err
	}
	held, holder, err := dir.LockHeld()
	switch {
	case err != nil:
		st.LockUnknown = err.Error()
	case held:
		st.Running = "since " + holder
		if holder == "" {
			st.Running = "since an unknown time"
		}
	}
	if start, found, err := dir.ReadLastSuccess(); err == nil && found {
		st.LastSuccess = &start
	}
	paths, err := dir.RecentReports(n)
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		st.Runs = append(st.Runs, readRunStatus(p))
	}
	if len(st.Runs) > 0 {
		st.StoppedBy = stoppedBy(st.Runs[0], command)
	}
	return st, nil
}

// NextRun is the daemon's next firing after now, in the schedule's zone.
func NextRun(sch Schedule, now time.Time) (time.Time, error) {
	zone, err := time.LoadLocation(sch.TimeZone)
	if err != nil {
		return time.Time{}, fmt.Errorf("time_zone %q: %w", sch.TimeZone, err)
	}
	s, z, err := parseSchedule(sch.Spec, zone)
	if err != nil {
		return time.Time{}, fmt.Errorf("schedule %q: %w", sch.Spec, err)
	}
	next := s.Next(now)
	if next.IsZero() {
		return next, nil
	}
	return next.In(z), nil
}

// fileRun is the part of a report file --status reads; a field missing
// from an older file stays zero.
type fileRun struct {
	RunID      string    `json:"runId"`
	Start      time.Time `json:"start"`
	DurationMS int64     `json:"durationMs"`
	apply.Result
	Requests int64     `json:"requests"`
	Only     []string  `json:"only"`
	Error    string    `json:"error"`
	ExitCode *ExitCode `json:"exitCode"`
	Trigger  string    `json:"trigger"`
}

func readRunStatus(path string) RunStatus {
	rs := RunStatus{Report: path, Failures: []apply.Failure{}, Conflicts: []plan.Issue{}}
	b, err := os.ReadFile(path)
	var r fileRun
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil {
		rs.Result, rs.Error = "unreadable", err.Error()
		rs.RunID = strings.TrimSuffix(filepath.Base(path), ".json")
		return rs
	}
	rs.RunID, rs.Start, rs.DurationMS, rs.Trigger = r.RunID, r.Start, r.DurationMS, r.Trigger
	rs.Counts, rs.Requests, rs.Only, rs.Error = r.Counts, r.Requests, r.Only, r.Error
	if r.Failures != nil {
		rs.Failures = r.Failures
	}
	if r.Conflicts != nil {
		rs.Conflicts = r.Conflicts
	}
	rs.ExitCode = r.ExitCode
	switch {
	case r.ExitCode != nil:
		rs.Result = r.ExitCode.Name()
	case r.Error == "":
		ok := ExitOK
		rs.ExitCode, rs.Result = &ok, ok.Name()
	default:
		rs.Result = "failed (exit code not recorded)"
	}
	return rs
}

// stoppedBy reads the approval out of a run a limit or guard stopped.
// Each limit's message ends "approve with FLAG" or "approve with FLAG or
// FLAG N" (plan.CheckLimits, plan.CheckTarget); the flags are merged
// into one command that approves every limit at once.
func stoppedBy(r RunStatus, command string) *Stopped {
	if r.ExitCode == nil {
		return nil
	}
	s := &Stopped{}
	switch *r.ExitCode {
	case ExitSafetyLimit, ExitSourceGuard, ExitTargetGuard:
		s.By = r.ExitCode.Name()
	default:
		return nil
	}
	type flag struct {
		name string
		n    int // 0 for a flag without a count
	}
	var chosen []flag
	covered := func(f flag) bool {
		for _, c := range chosen {
			if c.name == f.name && c.n >= f.n {
				return true
			}
		}
		return false
	}
	add := func(f flag) {
		for i := range chosen {
			if chosen[i].name == f.name {
				chosen[i].n = max(chosen[i].n, f.n)
				return
			}
		}
		chosen = append(chosen, f)
	}
	var alternatives [][]flag
	for _, line := range strings.Split(r.Error, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		s.Reasons = append(s.Reasons, line)
		_, approve, ok := strings.Cut(line, "approve with ")
		if !ok {
			continue
		}
		var alts []flag
		for _, alt := range strings.Split(approve, " or ") {
			words := strings.Fields(alt)
			if len(words) == 0 || !strings.HasPrefix(words[0], "--allow-") {
				continue
			}
			f := flag{name: words[0]}
			if len(words) > 1 {
				f.n, _ = strconv.Atoi(strings.TrimRight(words[1], ".;,"))
			}
			alts = append(alts, f)
		}
		if len(alts) > 0 {
			alternatives = append(alternatives, alts)
		}
	}
	// One choice: taken. Several: covered by a flag already taken, or the
	// first (the plainest) is taken.
	for _, alts := range alternatives {
		if len(alts) == 1 {
			add(alts[0])
		}
	}
	for _, alts := range alternatives {
		if len(alts) > 1 && !anyOf(alts, covered) {
			add(alts[0])
		}
	}
	var words []string
	for _, f := range chosen {
		words = append(words, f.name)
		if f.n > 0 {
			words = append(words, strconv.Itoa(f.n))
		}
	}
	s.Flags = strings.Join(words, " ")
	if s.Flags == "" {
		return s
	}
	only := ""
	for _, w := range r.Only {
		only += " --only " + w
	}
	s.Preview = command + " --run-now --dry-run" + only + " " + s.Flags
	s.Approve = command + " --run-now" + only + " " + s.Flags
	return s
}

func anyOf[T any](xs []T, f func(T) bool) bool {
	for _, x := range xs {
		if f(x) {
			return true
		}
	}
	return false
}

// WriteTable prints the status for a person.
func (st *Status) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "state_dir     %s\n", st.StateDir)
	switch {
	case st.Running != "":
		fmt.Fprintf(w, "in progress   yes, %s\n", st.Running)
	case st.LockUnknown != "":
		fmt.Fprintf(w, "in progress   unknown (%s)\n", st.LockUnknown)
	default:
		fmt.Fprintf(w, "in progress   no\n")
	}
	next := st.NextRun
	if next == "" {
		next = "none"
	}
	fmt.Fprintf(w, "next run      %s (%s, schedule %q; the daemon must be running)\n", next, st.TimeZone, st.Schedule)
	if st.LastSuccess != nil {
		fmt.Fprintf(w, "last success  %s\n", st.LastSuccess.UTC().Format(time.RFC3339))
	} else {
		fmt.Fprintf(w, "last success  none recorded\n")
	}
	if st.NoStateDir {
		fmt.Fprintf(w, "\nno run recorded: %s does not exist (no run has started with it; is it the daemon's state_dir?)\n", st.StateDir)
		return nil
	}
	if len(st.Runs) == 0 {
		fmt.Fprintf(w, "\nno run recorded in %s yet\n", filepath.Join(st.StateDir, state.ReportsDir))
		return nil
	}
	fmt.Fprintf(w, "\nlast runs, newest first:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "START (UTC)\tRUN\tTRIGGER\tRESULT\tEXIT\tCREATED\tADOPTED\tUPDATED\tDELETED\tDEACTIVATED\tFAILED\tCONFLICTS\tHELD\tREQUESTS\tTIME")
	for _, r := range st.Runs {
		exit := "?"
		if r.ExitCode != nil {
			exit = strconv.Itoa(int(*r.ExitCode))
		}
		trigger := r.Trigger
		if len(r.Only) > 0 {
			trigger += " --only"
		}
		if trigger == "" {
			trigger = "-"
		}
		c := r.Counts
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n",
			r.Start.UTC().Format("2006-01-02 15:04:05"), r.RunID, trigger, r.Result, exit,
			c.Created, c.Adopted, c.Updated, c.Deleted, c.Deactivated, c.Failed, c.Conflicts, c.Held, r.Requests,
			(time.Duration(r.DurationMS) * time.Millisecond).Round(time.Millisecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	last := st.Runs[0]
	if s := st.StoppedBy; s != nil {
		fmt.Fprintf(w, "\nthe last run was stopped by a %s before any write:\n", s.By)
		for _, r := range s.Reasons {
			fmt.Fprintf(w, "  %s\n", r)
		}
		if s.Flags != "" {
			fmt.Fprintf(w, "read the plan first:  %s\n", s.Preview)
			fmt.Fprintf(w, "then approve it:      %s\n", s.Approve)
		}
	} else if last.Error != "" && len(last.Failures) == 0 && len(last.Conflicts) == 0 {
		fmt.Fprintf(w, "\nthe last run failed: %s\n", last.Error)
	}
	if len(last.Failures)+len(last.Conflicts) > 0 {
		fmt.Fprintf(w, "\nthe last run's failures (%d) and conflicts (%d), retried by the next run:\n", len(last.Failures), len(last.Conflicts))
		for _, f := range last.Failures {
			fmt.Fprintf(w, "  failed    %s %s: %s\n", f.Action, f.User, f.Reason)
		}
		for _, c := range last.Conflicts {
			fix := ""
			if c.Fix != "" {
				fix = " (fix: " + c.Fix + ")"
			}
			fmt.Fprintf(w, "  conflict  %s: %s%s\n", cmp.Or(c.UserName, c.ExternalID), c.Reason, fix)
		}
	}
	fmt.Fprintf(w, "\nreports: %s\n", filepath.Join(st.StateDir, state.ReportsDir))
	return nil
}
