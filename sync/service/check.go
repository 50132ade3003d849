package service

import (
	"context"
	"errors"
	"fmt"
	"io"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/runner"
	"condeco-visitor-sync/visitor"
)

// SourceChecker checks that the Condeco queries return every column.
type SourceChecker interface {
	Check(ctx context.Context) error
}

// TargetChecker is what --check asks Visitor.
type TargetChecker interface {
	ListLocations(ctx context.Context) ([]visitor.Location, error)
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
	locs, err := a.TargetCheck.ListLocations(ctx)
	if err = runner.TargetError(err); err != nil {
		a.Log.Error("visitor check failed", errField(err))
		fmt.Fprintln(out, "visitor: FAILED:", err)
		return Classify(err)
	}
	fmt.Fprintf(out, "visitor: ok (%d locations visible)\n", len(locs))
	return ExitOK
}
