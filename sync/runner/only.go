package runner

import (
	"fmt"
	"slices"
	"strings"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/visitor"
)

// restrict is --only: the full plan's entries for the people named and
// nothing else, with the locations their creates and updates need. A
// person whose Condeco row is held is refused with the reason, as is one
// that matches nobody: the run then writes nothing. The summary keeps the
// full export's and listing's sizes, so the source guard judges the whole
// export as in a full run; the deletion and admin limits count what this
// run would write.
func restrict(full *plan.Plan, exp *condeco.Export, users []visitor.User, prefix string, who []string) (*plan.Plan, error) {
	exts := map[string]bool{}
	names := map[string]bool{}
	var refused []string
	for _, w := range who {
		p := findPerson(exp, prefix, w)
		if len(p.Held) > 0 {
			refused = append(refused, fmt.Sprintf("%s: the Condeco row is held (%s); correct it in Condeco first", w, strings.Join(p.Held, "; ")))
			continue
		}
		listed := slices.IndexFunc(users, func(u visitor.User) bool {
			return p.ExternalID != "" && u.ExternalID == p.ExternalID || p.UserName != "" && strings.EqualFold(u.UserName, p.UserName)
		})
		if p.Row == nil && listed < 0 {
			return nil, fmt.Errorf("%w: %s matches no Condeco row and no Visitor user this sync manages", ErrNoPerson, w)
		}
		if p.Row == nil {
			p.ExternalID, p.UserName = users[listed].ExternalID, users[listed].UserName
		}
		exts[p.ExternalID] = true
		if p.UserName != "" {
			names[strings.ToLower(p.UserName)] = true
		}
	}
	if len(refused) > 0 {
		return nil, fmt.Errorf("%w: nothing written: %s", ErrOnlyRefused, strings.Join(refused, "; "))
	}
	mine := func(ext, userName string) bool {
		return exts[ext] || ext == "" && names[strings.ToLower(userName)]
	}
	out := *full
	keep := func(cs []plan.UserChange) []plan.UserChange {
		kept := []plan.UserChange{}
		for _, c := range cs {
			if mine(c.ExternalID, c.UserName) {
				kept = append(kept, c)
			}
		}
		return kept
	}
	keepIssues := func(is []plan.Issue) []plan.Issue {
		kept := []plan.Issue{}
		for _, i := range is {
			if mine(i.ExternalID, i.UserName) {
				kept = append(kept, i)
			}
		}
		return kept
	}
	out.Creates, out.Adoptions, out.Updates = keep(full.Creates), keep(full.Adoptions), keep(full.Updates)
	out.Deletes, out.Deactivates = keep(full.Deletes), keep(full.Deactivates)
	// A deletion that frees a person's userName (a rehire's old account,
	// a leaver whose email is reused) goes with that person's create.
	for _, c := range full.Deletes {
		if !mine(c.ExternalID, c.UserName) && names[strings.ToLower(c.UserName)] {
			out.Deletes = append(out.Deletes, c)
		}
	}
	out.Held, out.Conflicts, out.Skipped = keepIssues(full.Held), keepIssues(full.Conflicts), keepIssues(full.Skipped)
	if len(full.Warnings) > 0 {
		out.Warnings = keepIssues(full.Warnings)
	}
	// Every owed grant stays owed unless paid (the record is rewritten
	// from them), but only this run's people's changes carry one.
	out.OwedGrants = slices.Clone(full.OwedGrants)
	carried := 0
	for i := range out.OwedGrants {
		switch g := &out.OwedGrants[i]; {
		case !exts[g.ExternalID]:
			g.Key = ""
		case g.Key != "":
			carried++
		}
	}
	needed := map[string]bool{}
	for _, cs := range [][]plan.UserChange{out.Creates, out.Adoptions, out.Updates} {
		for _, c := range cs {
			if c.Desired != nil {
				for _, a := range c.Desired.Access {
					needed[a.LocationID] = true
				}
			}
		}
	}
	// Renames and adoptions are nobody's: an --only run leaves them to
	// the next full run (its users refer to those locations by id).
	out.LocationUpdates = nil
	out.LocationCreates = []plan.LocationCreate{}
	for _, lc := range full.LocationCreates {
		if needed[lc.Key] {
			out.LocationCreates = append(out.LocationCreates, lc)
		}
	}
	changed := len(out.Creates) + len(out.Adoptions) + len(out.Updates) + len(out.Deletes) + len(out.Deactivates) + len(out.Held) + len(out.Conflicts) + len(out.Skipped)
	out.Unchanged = max(len(exts)-changed, 0)
	admin := 0
	for _, cs := range [][]plan.UserChange{out.Creates, out.Adoptions, out.Updates} {
		for _, c := range cs {
			if c.AdminChange != "" {
				admin++
			}
		}
	}
	s := &out.Summary
	s.Creates, s.Adoptions, s.Updates, s.Deletes, s.Deactivates = len(out.Creates), len(out.Adoptions), len(out.Updates), len(out.Deletes), len(out.Deactivates)
	s.LocationCreates, s.Unchanged, s.Held, s.Conflicts, s.Skipped = len(out.LocationCreates), out.Unchanged, len(out.Held), len(out.Conflicts), len(out.Skipped)
	s.AdminChanges, s.WithoutAllLocations, s.LocationUpdates, s.OwedGrants = admin, 0, 0, carried
	return &out, nil
}
