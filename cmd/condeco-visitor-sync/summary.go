package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/sync/runner"
)

// printSummary is the run summary a person reads after --run-now; the
// same numbers are in the JSON report.
func printSummary(w io.Writer, rep *runner.Report) {
	c := rep.Counts
	mode := "run"
	if rep.DryRun {
		mode = "dry run (nothing written)"
	}
	fmt.Fprintf(w, "\nsummary of %s %s\n", mode, rep.RunID)
	if rep.Plan != nil {
		s := rep.Plan.Summary
		planned := s.Creates + s.Adoptions + s.Updates + s.Deletes + s.Deactivates + s.LocationCreates + s.LocationUpdates
		fmt.Fprintf(w, "  planned changes: %d\n", planned)
		if rep.DryRun {
			fmt.Fprintf(w, "  would create %d, update %d, delete %d, deactivate %d users; create %d, update %d locations; %d unchanged\n",
				s.Creates, s.Updates, s.Deletes, s.Deactivates, s.LocationCreates, s.LocationUpdates, s.Unchanged)
			if s.Adoptions > 0 {
				fmt.Fprintf(w, "  would adopt %d Visitor users made by hand (adopt_existing_users), keeping every role they hold\n", s.Adoptions)
			}
		}
	}
	if !rep.DryRun {
		fmt.Fprintf(w, "  created %d  adopted %d  updated %d  deleted %d  deactivated %d  unchanged %d  failed %d\n",
			c.Created, c.Adopted, c.Updated, c.Deleted, c.Deactivated, c.Unchanged, c.Failed)
		fmt.Fprintf(w, "  locations created %d  renamed %d  adopted %d\n", c.LocationsCreated, c.LocationsUpdated, c.LocationsAdopted)
		if n := len(rep.OwedGrants); n > 0 {
			fmt.Fprintf(w, "  location grants owed %d: the location could not be created; given in the run that creates it\n", n)
		}
	}
	if rep.Plan != nil && len(rep.Plan.ClosedLocations) > 0 {
		names := make([]string, 0, len(rep.Plan.ClosedLocations))
		for _, cl := range rep.Plan.ClosedLocations {
			names = append(names, cl.Name)
		}
		fmt.Fprintf(w, "  closed locations %d (given to no one new): %s\n", len(names), strings.Join(names, ", "))
	}
	fmt.Fprintf(w, "  held (bad source rows) %d  conflicts %d  skipped %d\n", c.Held, c.Conflicts, c.Skipped)
	fmt.Fprintf(w, "  source rows read: users %d, locations %d\n", rep.SourceUserRows, rep.SourceLocationRows)
	if rep.Plan != nil {
		rep.Plan.Summary.WriteNotes(w, "  ")
		for _, k := range rep.Plan.Warnings {
			fmt.Fprintf(w, "  warning: %s (%s): %s; %s\n", k.UserName, k.ExternalID, k.Reason, k.Fix)
		}
	}
	fmt.Fprintf(w, "  requests %d (minimum %d, extra %d)  time %s\n", rep.Requests, rep.MinRequests, rep.ExtraRequests, (time.Duration(rep.DurationMS) * time.Millisecond).String())
	for _, f := range rep.Failures {
		fmt.Fprintf(w, "  failed: %v\n", f)
	}
	if h := rep.Plan; h != nil && h.ByHand != nil {
		b := h.ByHand
		fmt.Fprintf(w, "  by hand in Visitor: %d admins of %s (%d new, %d to revoke), %d locations, %d mapping rules (changed: %v)\n",
			len(b.MakeAdmin), b.Location, len(b.NewAdmins), len(b.RevokeAdmin), len(b.Locations), len(b.MappingRules), b.Changed)
	}
	for _, in := range rep.Integrations {
		c := in.Counts
		line := fmt.Sprintf("created %d  updated %d  deleted %d  deactivated %d  unchanged %d  failed %d  requests %d",
			c.Created, c.Updated, c.Deleted, c.Deactivated, c.Unchanged, c.Failed, in.Requests)
		if rep.DryRun && in.Plan != nil {
			s := in.Plan.Summary
			line = fmt.Sprintf("would create %d, update %d, delete %d, deactivate %d; %d unchanged", s.Creates, s.Updates, s.Deletes, s.Deactivates, s.Unchanged)
		}
		if in.Error != "" {
			line += "  error: " + in.Error
		}
		fmt.Fprintf(w, "  integration %s: %s\n", in.Location, line)
		if rep.DryRun && in.Plan != nil {
			// Who would lose access there, as the main table shows it.
			for _, list := range [][]plan.UserChange{in.Plan.Deletes, in.Plan.Deactivates} {
				for _, c := range list {
					fmt.Fprintf(w, "    would %s %s (%s)\n", c.Action, c.UserName, c.Reason)
				}
			}
		}
	}
}
