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
	for _, lu := range p.LocationUpdates {
		for i, f := range lu.Fields {
			act := string(ActionUpdateLocation)
			if i > 0 {
				act = ""
			}
			old, nw := lu.Before.Name, lu.Location.Name
			if f == visitor.LocationFieldExternalID {
				old, nw = lu.Before.ExternalID, lu.Location.ExternalID
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s → %s\n", act, lu.Before.Name, f, show(old), show(nw))
		}
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
	// Closed locations are not changes: listed under the table, so that
	// one closed building does not widen every row.
	for _, cl := range p.ClosedLocations {
		where := "Visitor location " + cl.VisitorID
		if cl.VisitorID == "" {
			where = "not in Visitor"
		}
		if _, err := fmt.Fprintf(w, "closed: %s (%s, %s): given to no one new, not renamed or deleted\n", cl.Name, cl.ExternalID, where); err != nil {
			return err
		}
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
	if err := s.WriteNotes(w, ""); err != nil {
		return err
	}
	return p.ByHand.Write(w)
}

// Write prints the by-hand list under the plan table: the work the
// profile leaves to a person, new items marked.
func (h *ByHand) Write(w io.Writer) error {
	if h == nil {
		return nil
	}
	var err error
	line := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format+"\n", args...)
		}
	}
	changed := "unchanged since the last run"
	if h.Changed {
		changed = "changed since the last run"
	}
	line("\nby hand in Visitor (%s; the profile cannot carry roles or locations):", changed)
	newAdmin := map[string]bool{}
	for _, n := range h.NewAdmins {
		newAdmin[n] = true
	}
	line("  admins of %s (%d):", h.Location, len(h.MakeAdmin))
	for _, n := range h.MakeAdmin {
		line("    make admin  %s%s", n, mark(newAdmin[n]))
	}
	for _, r := range h.RevokeAdmin {
		line("    revoke      %s (no longer a Condeco Global admin, listed since %s)", r.UserName, r.Since.Format("2006-01-02"))
	}
	line("  locations Visitor must have (%d):", len(h.Locations))
	for _, l := range h.Locations {
		how := "mapping rule: import all users"
		if l.Integration {
			how = "its own integration (visitor_integrations)"
		}
		city := ""
		if l.City != "" {
			city = ", " + l.City
		}
		line("    %s (Condeco %s%s): %s%s", l.Name, l.ID, city, how, mark(l.New))
	}
	return err
}

func mark(isNew bool) string {
	if isNew {
		return "  [new]"
	}
	return ""
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
	if s.LocationUpdates > 0 {
		note("%d Visitor locations to update: renamed in Condeco, or adopted (adopt_existing_locations); the table lists each", s.LocationUpdates)
	}
	if s.ClosedLocations > 0 {
		note("%d Condeco locations closed: given to no one new, never renamed or deleted; the plan's closedLocations names them", s.ClosedLocations)
	}
	if s.OwedGrants > 0 {
		note("%d location grants owed from earlier runs (the location did not exist when the user was written) are given now", s.OwedGrants)
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
