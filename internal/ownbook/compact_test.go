package ownbook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"condeco-visitor-sync/state"
)

// A dry run (which takes no lock) reads the record while a real run
// appends the line of a user it just created: the read must write
// nothing (no compaction removing the journal under the real run), so the
// line survives. Found by review: Owned() used to compact.
func TestReadingTheRecordWritesNothing(t *testing.T) {
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
	b := New(dryDir)
	b.now = func() time.Time {
		// had the read compacted, the real run's line would land here,
		// between its read and its removal of the journal
		if err := runDir.RecordOwned(state.OwnedUser{ID: "v2", UserName: "b@x", ExternalID: "condeco:2"}); err != nil {
			t.Fatal(err)
		}
		return time.Now()
	}
	if _, _, err := b.Owned(); err != nil {
		t.Fatal(err)
	}
	if err := runDir.RecordOwned(state.OwnedUser{ID: "v3", UserName: "c@x", ExternalID: "condeco:3"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(path, state.OwnershipFile)); !os.IsNotExist(err) {
		t.Fatalf("reading the record wrote %s (err %v)", state.OwnershipFile, err)
	}
	users, _, err := runDir.ReadOwnership()
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].ID != "v1" || users[1].ID != "v3" {
		t.Fatalf("record %+v, want v1 and v3", users)
	}
}

// The run's first change folds the journal into ownership.json (under
// the run lock), so the journal holds one run's lines at most.
func TestOwnershipBookCompactsOnTheRunsFirstChange(t *testing.T) {
	d, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"v1", "v2"} {
		if err := d.RecordOwned(state.OwnedUser{ID: id, UserName: id + "@x", ExternalID: "condeco:" + string(rune('1'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	b := New(d)
	if _, _, err := b.Owned(); err != nil {
		t.Fatal(err)
	}
	if err := b.Remove("v1"); err != nil {
		t.Fatal(err)
	}
	journal, err := os.ReadFile(filepath.Join(d.Path(), state.OwnershipJournal))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(journal), "\n"); n != 1 {
		t.Fatalf("journal holds %d lines after the run's first change, want 1 (the compaction, then the change):\n%s", n, journal)
	}
	users, _, err := d.ReadOwnership()
	if err != nil || len(users) != 1 || users[0].ID != "v2" {
		t.Fatalf("record %+v, err %v; want v2", users, err)
	}
}
