package main

import "condeco-visitor-sync/sync/service"

// exitCode maps an error to the documented exit code table
// (service.ExitCode).
func exitCode(err error) service.ExitCode { return service.Classify(err) }
