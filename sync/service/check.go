package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/sync/runner"
	"condeco-visitor-sync/visitor"
)

// SourceChecker checks that the Condeco queries return every column.
type SourceChecker interface {
	Check(ctx context.Context) error
}

// TargetChecker is what --check asks Visitor: the requests a run sends
// (visitor.Client.Probe).
type TargetChecker interface {
	Probe(ctx context.Context, externalIDPrefix string) ([]visitor.ProbeCheck, error)
}

// Check tests configuration and connectivity without syncing.
func (a *Service) Check(ctx context.Context, out io.Writer) ExitCode {
	if err := runner.SourceError(a.SourceCheck.Check(ctx)); err != nil {
		a.Log.Error("condeco check failed", errField(err))
		fmt.Fprintln(out, "condeco: FAILED:", err)
		return Classify(err)
	}
	fmt.Fprintln(out, "condeco: ok (queries return every required column)")
	if db := a.DBLock; db != nil {
		// Taking and dropping the lock proves the login may, and that its
		// connection reaches a writable primary rather than a replica.
		release, err := db.Acquire(ctx, 0)
		var busy *condeco.AppLockBusyError
		switch {
		case err == nil:
			release()
			fmt.Fprintf(out, "condeco app lock %q: ok\n", a.AppLockName)
		case errors.As(err, &busy):
			fmt.Fprintf(out, "condeco app lock %q: ok (%v)\n", a.AppLockName, err)
		default:
			a.Log.Error("condeco app lock check failed", errField(err))
			fmt.Fprintf(out, "condeco app lock %q: FAILED: %v\n", a.AppLockName, err)
			if errors.Is(err, condeco.ErrBadOptions) {
				return ExitConfig
			}
			return ExitSource
		}
	}
	prefix := plan.DefaultExternalIDPrefix
	if a.Runner != nil && a.Runner.Plan.ExternalIDPrefix != "" {
		prefix = a.Runner.Plan.ExternalIDPrefix
	}
	checks, err := a.TargetCheck.Probe(ctx, prefix)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "visitor\tCHECK\tRESULT")
	for _, c := range checks {
		mark := "ok"
		if c.Fails {
			mark = "FAILED"
		}
		fmt.Fprintf(tw, "\t%s\t%s (%s)\n", c.Name, c.Result, mark)
	}
	tw.Flush()
	if err = runner.TargetError(err); err != nil {
		a.Log.Error("visitor check failed", errField(err))
		fmt.Fprintln(out, "visitor: FAILED:", err)
		return Classify(err)
	}
	fmt.Fprintln(out, "visitor: ok (the requests a run sends were answered)")
	return ExitOK
}
