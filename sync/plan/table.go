package plan

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"condeco-visitor-sync/visitor"
)

// WriteTable prints the plan for --dry-run: one row per change, then one
// per changed field (old → new), then the users left alone and why, and
// the totals. It writes nothing secret: plans hold no credentials.
func (p *Plan) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tUSER\tCHANGE\tOLD → NEW")
	for _, lc := range p.LocationCreates {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ActionCreateLocation, lc.Location.Name, "externalId", "→ "+lc.Location.ExternalID)
	}
	for _, c := range p.Creates {
		what := "new user"
		if c.Desired.SendInvitation {
			what += ", invitation"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Action, c.UserName, what, "→ "+visitor.AccessString(c.Desired.Access))
	}
	for _, group := range [][]UserChange{p.Adoptions, p.Updates, p.Deactivates} {
		for _, c := range group {
			for i, fc := range c.Changes {
				act, user := string(c.Action), c.UserName
				if i > 0 {
					act, user = "", ""
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s → %s\n", act, user, fc.Field, show(fc.Old), show(fc.New))
			}
		}
	}
	for _, c := range p.Deletes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", c.Action, c.UserName, c.Reason)
	}
	for _, g := range []struct {
		label  string
		issues []Issue
	}{{"conflict", p.Conflicts}, {"held", p.Held}, {"skip", p.Skipped}} {
		for _, is := range g.issues {
			fix := ""
			if is.Fix != "" {
				fix = "fix: " + is.Fix
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.label, cmpName(is), is.Reason, fix)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := p.Summary
	if s.Adoptions > 0 {
		if _, err := fmt.Fprintf(w, "\n%d Visitor users made by hand to adopt (adopt_existing_users): every role they hold is kept", s.Adoptions); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(w, "\n%d to create, %d to update, %d to deactivate, %d to delete, %d locations to create, %d unchanged, %d held, %d conflicts, %d skipped (%d admin changes; %d source users, %d managed)\n",
		s.Creates, s.Updates, s.Deactivates, s.Deletes, s.LocationCreates, s.Unchanged, s.Held, s.Conflicts, s.Skipped, s.AdminChanges, s.SourceUsers, s.Managed); err != nil {
		return err
	}
	return s.WriteNotes(w, "")
}

// WriteNotes explains the numbers a plain count leaves open, one line
// each, with the key that changes them.
func (s Summary) WriteNotes(w io.Writer, indent string) error {
	var err error
	note := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, indent+format+"\n", args...)
		}
	}
	if s.HeldLocations > 0 {
		note("%d Condeco locations held (a broken row): not created, not given to anyone; the report's problems name them", s.HeldLocations)
	}
	if s.DroppedValues > 0 {
		note("%d values dropped from exported users (a phone number that is not one): the users are synced without them; the report's dropped lists each", s.DroppedValues)
	}
	if s.WithoutAllLocations > 0 {
		note("%d existing users hold fewer locations than Visitor has and are not given the others: grant_new_locations_to_existing_users is off (new locations go to new users; grant them by hand, or turn it on)", s.WithoutAllLocations)
	}
	return err
}

func show(v string) string {
	if v == "" {
		return "(none)"
	}
	return strings.ReplaceAll(v, ",", ", ")
}

func cmpName(is Issue) string {
	if is.UserName != "" {
		return is.UserName
	}
	return is.ExternalID
}
