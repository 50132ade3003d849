package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"condeco-visitor-sync/sync/runner"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor"
)

// Explain is --explain: every step of what a run would do for each person
// named, and why. It writes nothing and takes no lock.
func (a *app) Explain(ctx context.Context, o options) service.ExitCode {
	ex, err := a.svc.Runner.Explain(ctx, o.explain)
	if err != nil {
		a.log.Error("explain failed", errField(err))
		fmt.Fprintln(a.stdout, "error:", err)
		return exitCode(err)
	}
	if o.jsonOut {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(ex); err != nil {
			return service.ExitError
		}
		return service.ExitOK
	}
	writeExplanation(a.stdout, ex)
	return service.ExitOK
}

func writeExplanation(w io.Writer, ex *runner.Explanation) {
	for i, p := range ex.People {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s\n", p.Who)
		fmt.Fprintf(w, "  1 Condeco row   %s\n", p.Source.Detail)
		mapped := "none (no exported row)"
		if p.Mapped != nil {
			mapped = userLine(*p.Mapped)
		}
		fmt.Fprintf(w, "  2 mapped user   %s\n", mapped)
		vu := "not in Visitor"
		if p.Visitor != nil {
			vu = userLine(*p.Visitor)
		}
		fmt.Fprintf(w, "  3 Visitor user  %s\n", vu)
		if p.Visitor != nil {
			fmt.Fprintf(w, "                  %s\n", p.Ownership)
		}
		fmt.Fprintf(w, "  4 planned       %s\n", p.Action)
		for _, c := range p.Changes {
			if c.Field == visitor.FieldAccess {
				continue // per location below
			}
			fmt.Fprintf(w, "                  %s: %q → %q\n", c.Field, c.Old, c.New)
		}
		for _, a := range p.Access {
			loc := a.Location
			if a.LocationID != "" && a.LocationID != loc {
				loc += " (" + a.LocationID + ")"
			}
			if a.Old == "" && a.New == "" {
				fmt.Fprintf(w, "                  access %s: not given  [%s]\n", loc, a.Why)
				continue
			}
			fmt.Fprintf(w, "                  access %s: %s → %s  [%s]\n", loc, roleOr(a.Old), roleOr(a.New), a.Why)
		}
		fmt.Fprintf(w, "  5 decided by\n")
		for _, d := range p.Decided {
			fmt.Fprintf(w, "                  - %s\n", d)
		}
	}
	fmt.Fprintf(w, "\nrequests to Visitor: %d (read only; nothing written)\n", ex.Requests)
}

func roleOr(r visitor.Role) string {
	if r == "" {
		return "none"
	}
	return string(r)
}

func userLine(u visitor.User) string {
	var parts []string
	if u.ID != "" {
		parts = append(parts, "id "+u.ID)
	}
	parts = append(parts, "userName "+u.UserName, fmt.Sprintf("name %q %q", u.GivenName, u.FamilyName))
	if u.ExternalID != "" {
		parts = append(parts, "externalId "+u.ExternalID)
	}
	if u.Phone != "" {
		parts = append(parts, "phone "+u.Phone)
	}
	if u.Language != "" {
		parts = append(parts, "language "+u.Language)
	}
	parts = append(parts, fmt.Sprintf("active %t", u.Active))
	if u.DefaultLocation != "" {
		parts = append(parts, "default location "+u.DefaultLocation)
	}
	if len(u.Access) > 0 {
		parts = append(parts, fmt.Sprintf("%d locations", len(u.Access)))
	}
	return strings.Join(parts, ", ")
}
