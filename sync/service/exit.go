package service

import (
	"context"
	"errors"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/config"
	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/audit"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/sync/runner"
	"condeco-visitor-sync/visitor"
)

// ExitCode is the process's exit status. README.md and docs/operations.md
// document the same table; scripts and alerts key on these numbers, so
// never reuse one.
type ExitCode int

// The exit codes, in the order of the table.
const (
	ExitOK          ExitCode = 0  // the sync ran and every change applied
	ExitError       ExitCode = 1  // unexpected error (a bug or an unclassified failure)
	ExitConfig      ExitCode = 2  // bad flags or configuration
	ExitPartial     ExitCode = 3  // the run finished but some users failed (retried next run)
	ExitSafetyLimit ExitCode = 4  // a safety limit stopped the run before any write
	ExitSourceGuard ExitCode = 5  // the Condeco export looked too small; nothing written
	ExitLockBusy    ExitCode = 6  // another sync holds the lock
	ExitAuth        ExitCode = 7  // Visitor or Condeco refused our credentials
	ExitSource      ExitCode = 8  // the Condeco database could not be read
	ExitTarget      ExitCode = 9  // Visitor could not be reached or answered wrongly
	ExitInterrupted ExitCode = 10 // stopped by a signal before the run finished
	ExitAudit       ExitCode = 11 // the audit log or a report could not be written; writes stopped
	ExitTargetGuard ExitCode = 12 // the Visitor listing looked broken; nothing written
)

// ExitCodes lists every code, for the documentation tests.
var ExitCodes = []ExitCode{ExitOK, ExitError, ExitConfig, ExitPartial, ExitSafetyLimit, ExitSourceGuard,
	ExitLockBusy, ExitAuth, ExitSource, ExitTarget, ExitInterrupted, ExitAudit, ExitTargetGuard}

// Name is the code's name in the README table: "ok", "safety limit", …
func (c ExitCode) Name() string {
	switch c {
	case ExitOK:
		return "ok"
	case ExitError:
		return "error"
	case ExitConfig:
		return "config"
	case ExitPartial:
		return "partial"
	case ExitSafetyLimit:
		return "safety limit"
	case ExitSourceGuard:
		return "source guard"
	case ExitLockBusy:
		return "lock busy"
	case ExitAuth:
		return "auth"
	case ExitSource:
		return "source"
	case ExitTarget:
		return "target"
	case ExitInterrupted:
		return "interrupted"
	case ExitAudit:
		return "audit"
	case ExitTargetGuard:
		return "target guard"
	}
	return "unknown"
}

// Label is the code's name as a metric label and in webhooks: the name
// with underscores ("safety_limit"), "success" for ok.
func (c ExitCode) Label() string {
	switch c {
	case ExitOK:
		return "success"
	case ExitSource:
		return "source_error"
	case ExitTarget:
		return "target_error"
	}
	b := []byte(c.Name())
	for i := range b {
		if b[i] == ' ' {
			b[i] = '_'
		}
	}
	return string(b)
}

// Classify maps a run's error to its exit code.
func Classify(err error) ExitCode {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, audit.ErrWrite), errors.Is(err, state.ErrWrite):
		// First: a run without its record is what an operator must see,
		// whatever else went wrong.
		return ExitAudit
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.Is(err, config.ErrInvalid),
		// A replacement query without a required column, or connection
		// settings the driver cannot use, are configuration to fix, not
		// a database to wait for.
		errors.Is(err, condeco.ErrMissingColumn), errors.Is(err, condeco.ErrBadOptions),
		errors.Is(err, runner.ErrPrefixChanged),
		// --explain or --only naming nobody, or someone the run refuses.
		errors.Is(err, runner.ErrNoPerson), errors.Is(err, runner.ErrOnlyRefused):
		return ExitConfig
	case errors.Is(err, plan.ErrTargetGuard):
		return ExitTargetGuard
	case errors.Is(err, plan.ErrSafetyLimit):
		return ExitSafetyLimit
	case errors.Is(err, plan.ErrSourceGuard):
		return ExitSourceGuard
	case errors.Is(err, state.ErrLockBusy):
		return ExitLockBusy
	case errors.Is(err, visitor.ErrUnauthorized):
		return ExitAuth
	case errors.Is(err, runner.ErrPartial):
		return ExitPartial
	case errors.Is(err, runner.ErrSource):
		return ExitSource
	case errors.Is(err, runner.ErrTarget):
		return ExitTarget
	}
	return ExitError
}
