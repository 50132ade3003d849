package main

import (
	"testing"
	"time"

	"condeco-visitor-sync/state"
)

// A dry run (which takes no lock) reads the record and compacts it while
// a real run appends the line for a user it just created: the compaction's
// removal of ownership.journal drops that line, and the created user is no
// longer the sync's own (the next run creates it again: 409 every run).
func TestReviewDryRunCompactionLosesConcurrentAppend(t *testing.T) {
	path := t.TempDir()
	dryDir, err := state.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	runDir, err := state.Open(path) // the daemon's real run, another process
	if err != nil {
		t.Fatal(err)
	}
	if err := runDir.RecordOwned(state.OwnedUser{ID: "v1", UserName: "a@x", ExternalID: "condeco:1"}); err != nil {
		t.Fatal(err)
	}
	b := newOwnershipBook(dryDir)
	b.now = func() time.Time {
		// between the dry run's read and its compaction, the real run
		// creates v2 and appends its line
		if err := runDir.RecordOwned(state.OwnedUser{ID: "v2", UserName: "b@x", ExternalID: "condeco:2"}); err != nil {
			t.Fatal(err)
		}
		return time.Now()
	}
	if _, _, err := b.Owned(); err != nil {
		t.Fatal(err)
	}
	users, _, err := runDir.ReadOwnership()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.ID == "v2" {
			return
		}
	}
	t.Fatalf("v2, created and journalled by the real run, is gone from the record: %+v", users)
}
