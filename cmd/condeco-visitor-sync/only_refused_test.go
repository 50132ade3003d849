package main

import (
	"io"
	"testing"
)

// Until a run can be limited to named people, --only must be refused:
// accepted and ignored it would run a full sync for someone who asked for
// one person.
func TestOnlyIsRefusedUntilItIsImplemented(t *testing.T) {
	t.Parallel()
	if _, err := parseFlags([]string{"--run-now", "--only", "ana@example.com"}, io.Discard); err == nil {
		t.Fatal("--only was accepted")
	}
}
