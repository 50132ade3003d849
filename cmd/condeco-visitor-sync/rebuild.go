package main

import (
	"context"
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor"
)

// allUsersLister is the generic-v1 client's listing without the
// ownership record: every user created through SCIM.
type allUsersLister interface {
	ListAllUsers(ctx context.Context) ([]visitor.User, error)
}

// ownershipTarget is one generic-v1 integration whose ownership record
// --rebuild-ownership may rebuild: the main one (scim_url) and each of
// visitor_integrations, each with its own state folder.
type ownershipTarget struct {
	name   string
	lister allUsersLister
	dir    *state.Dir
	// probe is the integration's --check (nil for the main one, which the
	// service checks).
	probe func(ctx context.Context, prefix string) ([]visitor.ProbeCheck, error)
}

// RebuildOwnership is --rebuild-ownership: each missing ownership record
// of generic-v1 (the main integration's, each visitor_integrations one's)
// made again from that Visitor location's SCIM-created users whose
// userName is a Condeco user's email. A record that is present is kept
// as it is: it may hold adopted users the SCIM listing never shows, and
// rebuilding it would drop them (move it aside to rebuild it). With
// --dry-run it prints the match and writes nothing; a person reads that
// table before the sync owns anyone.
func (a *app) RebuildOwnership(ctx context.Context, dryRun bool) service.ExitCode {
	if a.cfg.VisitorAPI != visitor.ProfileGeneric || len(a.records) == 0 {
		fmt.Fprintf(a.stdout, "error: --rebuild-ownership is for visitor_api %s (scim2 users carry their externalId)\n", visitor.ProfileGeneric)
		return service.ExitConfig
	}
	if !dryRun {
		// A run in progress appends to the records: never both at once.
		// Every integration runs under the main state_dir's lock.
		lock := a.dir.Lock()
		if err := lock.Acquire(ctx, a.cfg.LockWait); err != nil {
			fmt.Fprintln(a.stdout, "error:", err)
			return exitCode(err)
		}
		defer lock.Release()
	}
	var lost []ownershipTarget
	for _, t := range a.records {
		_, found, err := t.dir.ReadOwnership()
		if err != nil {
			fmt.Fprintf(a.stdout, "error: %s: %v\n", t.name, err)
			return exitCode(err)
		}
		if found {
			fmt.Fprintf(a.stdout, "%s: ownership record present, kept as it is (move %s aside to rebuild it)\n", t.name, filepath.Join(t.dir.Path(), state.OwnershipFile))
			continue
		}
		lost = append(lost, t)
	}
	if len(lost) == 0 {
		fmt.Fprintln(a.stdout, "nothing to rebuild: every ownership record is present")
		return service.ExitOK
	}
	exp, err := a.store.Export(ctx)
	if err != nil {
		fmt.Fprintln(a.stdout, "error: reading condeco:", err)
		return exitCode(err)
	}
	prefix := a.cfg.ExternalIDPrefix
	if prefix == "" {
		prefix = plan.DefaultExternalIDPrefix
	}
	for _, t := range lost {
		if code := a.rebuildOne(ctx, t, exp.Users, prefix, dryRun); code != service.ExitOK {
			return code
		}
	}
	return service.ExitOK
}

func (a *app) rebuildOne(ctx context.Context, t ownershipTarget, cond []condeco.User, prefix string, dryRun bool) service.ExitCode {
	listed, err := t.lister.ListAllUsers(ctx)
	if err != nil {
		fmt.Fprintf(a.stdout, "error: %s: listing visitor users: %v\n", t.name, err)
		return exitCode(err)
	}
	owned, visitorOnly, condecoOnly, ambiguous := plan.MatchOwnership(cond, listed, prefix)
	fmt.Fprintf(a.stdout, "\n%s: ownership record missing; rebuilt from Visitor's SCIM users by email:\n", t.name)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VISITOR ID\tUSERNAME\tEXTERNAL ID")
	for _, o := range owned {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", o.ID, o.UserName, o.ExternalID)
	}
	tw.Flush()
	fmt.Fprintf(a.stdout, "matched by email: %d; in Visitor only (never touched): %d; in Condeco only (created by the next run): %d\n",
		len(owned), len(visitorOnly), len(condecoOnly))
	for _, n := range ambiguous {
		fmt.Fprintf(a.stdout, "not matched: %s is the email of more than one Condeco user; correct Condeco, then rebuild again\n", n)
	}
	path := filepath.Join(t.dir.Path(), state.OwnershipFile)
	if dryRun {
		fmt.Fprintf(a.stdout, "dry run: nothing written; run --rebuild-ownership without --dry-run to write %s\n", path)
		return service.ExitOK
	}
	users := make([]state.OwnedUser, 0, len(owned))
	for _, o := range owned {
		users = append(users, state.OwnedUser{ID: o.ID, UserName: o.UserName, ExternalID: o.ExternalID})
	}
	if err := t.dir.WriteOwnership(time.Now().UTC(), users); err != nil {
		fmt.Fprintln(a.stdout, "error:", err)
		return exitCode(err)
	}
	a.log.Info("ownership record rebuilt", zap.String("integration", t.name), zap.Int("owned", len(users)))
	fmt.Fprintf(a.stdout, "written: %s with %d users\n", path, len(users))
	return service.ExitOK
}
