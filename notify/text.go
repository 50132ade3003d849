package notify

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// subject leads with what needs doing, so a busy admin reading only the
// subject line knows whether to act.
func subject(s Summary, reasons []string) string {
	var parts []string
	if slices.Contains(reasons, OnLimits) {
		parts = append(parts, "stopped by a safety limit, nothing written")
	}
	if slices.Contains(reasons, OnFailures) {
		if s.RunError != "" {
			parts = append(parts, "run failed ("+s.ExitName+")")
		} else {
			parts = append(parts, fmt.Sprintf("%d users failed", s.Counts.Failed+s.Counts.Conflicts))
		}
	}
	if slices.Contains(reasons, OnDeletions) {
		parts = append(parts, fmt.Sprintf("%d users deleted, %d deactivated", s.Counts.Deleted, s.Counts.Deactivated))
	}
	if slices.Contains(reasons, OnByHand) {
		parts = append(parts, "work to do by hand in Visitor")
	}
	return oneLine(fmt.Sprintf("[condeco-visitor-sync] %s: %s", hostOr(s.Host), strings.Join(parts, "; ")))
}

// text is the plain-text body for email and the "text" field of the
// webhook (what Slack, Mattermost and Teams workflows display).
func text(s Summary, reasons []string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("condeco-visitor-sync run %s (%s) on %s: exit %d %s", s.RunID, s.Trigger, hostOr(s.Host), s.ExitCode, s.ExitName)
	if s.Target != "" {
		w("Visitor: %s", s.Target)
	}
	if !s.Start.IsZero() {
		w("started %s, took %s", s.Start.UTC().Format(time.RFC3339), s.End.Sub(s.Start).Round(time.Second))
	}
	w("notified for: %s", strings.Join(reasons, ", "))
	w("")
	if s.Limit != "" {
		w("The run stopped before writing anything:")
		w("  %s", oneLine(s.Limit))
		w("Check the plan with --run-now --dry-run; if it is right, approve one run with the flag above (docs/operations.md).")
		w("")
	}
	if s.RunError != "" {
		w("The run failed: %s", oneLine(s.RunError))
		w("")
	}
	c := s.Counts
	w("created %d  updated %d  deleted %d  deactivated %d  unchanged %d  failed %d  conflicts %d  held %d",
		c.Created, c.Updated, c.Deleted, c.Deactivated, c.Unchanged, c.Failed, c.Conflicts, c.Held)
	if c.Adopted > 0 {
		w("adopted %d (Visitor users made by hand, claimed with every role they held)", c.Adopted)
	}
	if len(s.Removed) > 0 {
		w("")
		w("Deleted or deactivated:")
		for _, u := range s.Removed {
			w("  %s", oneLine(u))
		}
		if more := c.Deleted + c.Deactivated - len(s.Removed); more > 0 {
			w("  … and %d more (see the report)", more)
		}
	}
	if len(s.Failures) > 0 {
		w("")
		w("Failed (retried by the next run):")
		for _, f := range s.Failures {
			w("  %s %s: %s", oneLine(f.User), f.Action, oneLine(f.Reason))
		}
		if more := s.FailuresTotal - len(s.Failures); more > 0 {
			w("  … and %d more (see the report)", more)
		}
	}
	if h := s.ByHand; h != nil && slices.Contains(reasons, OnByHand) {
		w("")
		byHandText(w, h)
	}
	if s.ReportPath != "" {
		w("")
		w("Report: %s on %s", s.ReportPath, hostOr(s.Host))
	}
	return b.String()
}

// byHandText lists what the profile leaves to a person, new items first
// so a reader who did last time's list sees only today's work.
func byHandText(w func(string, ...any), h *ByHand) {
	w("By hand in Visitor (the integration cannot carry roles or locations):")
	if len(h.NewAdmins) > 0 {
		w("  make admin of %s (new): %s", oneLine(h.Location), oneLine(limited(h.NewAdmins)))
	}
	if len(h.RevokeAdmin) > 0 {
		w("  no longer admin of %s (revoke): %s", oneLine(h.Location), oneLine(limited(h.RevokeAdmin)))
	}
	if len(h.NewLocations) > 0 {
		w("  new Condeco locations to create in Visitor, each with a mapping rule: %s", oneLine(limited(h.NewLocations)))
	}
	w("  all admins of %s (%d): %s", oneLine(h.Location), len(h.MakeAdmin), oneLine(limited(h.MakeAdmin)))
	w("  locations Visitor must have (%d): %s", len(h.Locations), oneLine(limited(h.Locations)))
	w("  multi-location mapping rules in %s (%d):", oneLine(h.Location), len(h.MappingRules))
	for i, r := range h.MappingRules {
		if i == MaxListed {
			w("    … and %d more (see the report)", len(h.MappingRules)-MaxListed)
			break
		}
		w("    %s", oneLine(r))
	}
}

// limited joins the first MaxListed names.
func limited(names []string) string {
	if len(names) <= MaxListed {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:MaxListed], ", ") + fmt.Sprintf(", … and %d more (see the report)", len(names)-MaxListed)
}

// oneLine keeps a value from another system on one line: a CR or LF in a
// user name or an error must not start a new header or a fake line.
func oneLine(v string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(v)), " ")
}

func hostOr(h string) string {
	if h == "" {
		return "unknown host"
	}
	return h
}
