package main

// Exit codes. The same table is in README.md and docs/operations.md;
// scripts and Kubernetes alerting key on these numbers, so never reuse one.
const (
	ExitOK          = 0  // the sync ran and every change applied
	ExitError       = 1  // unexpected error (a bug or an unclassified failure)
	ExitConfig      = 2  // bad flags or configuration
	ExitPartial     = 3  // the run finished but some users failed (retried next run)
	ExitSafetyLimit = 4  // a safety limit stopped the run before any write
	ExitSourceGuard = 5  // the Condeco export looked too small; nothing written
	ExitLockBusy    = 6  // another sync holds the lock
	ExitAuth        = 7  // Visitor or Condeco refused our credentials
	ExitSource      = 8  // the Condeco database could not be read
	ExitTarget      = 9  // Visitor could not be reached or answered wrongly
	ExitInterrupted = 10 // stopped by a signal before the run finished
)
