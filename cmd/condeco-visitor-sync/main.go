// Command condeco-visitor-sync provisions Condeco users and locations into
// Eptura Visitor over SCIM 2.0, once (--run-now) or as a scheduled daemon.
package main

import (
	"os"
	_ "time/tzdata" // time_zone must work in a static image with no zoneinfo
)

// version is stamped by `make build` with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
