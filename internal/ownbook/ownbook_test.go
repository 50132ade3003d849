package ownbook

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"condeco-visitor-sync/state"
	"condeco-visitor-sync/visitor"
)

func open(t *testing.T) *state.Dir {
	t.Helper()
	d, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func owned(ids ...string) map[string]visitor.Owned {
	m := map[string]visitor.Owned{}
	for i := 0; i+3 <= len(ids); i += 3 {
		m[ids[i]] = visitor.Owned{ID: ids[i], UserName: ids[i+1], ExternalID: ids[i+2]}
	}
	return m
}

// check says the book holds want, in memory (its index too) and on disk
// (a fresh book reads the record and the journal back).
func check(t *testing.T, d *state.Dir, b *Book, want map[string]visitor.Owned) {
	t.Helper()
	if !maps.Equal(b.owned, want) {
		t.Errorf("in memory: %v, want %v", b.owned, want)
	}
	n := 0
	for ext, ids := range b.byExt {
		for _, id := range ids {
			n++
			if b.owned[id].ExternalID != ext {
				t.Errorf("index: %s under %s, but the record has %+v", id, ext, b.owned[id])
			}
		}
	}
	if n != len(b.owned) {
		t.Errorf("index holds %d ids, the record %d", n, len(b.owned))
	}
	got, found, err := New(d).Owned()
	if err != nil || !found || !maps.Equal(got, want) {
		t.Errorf("read back: %v, %v, %v; want %v", got, found, err, want)
	}
}

func TestAddReplacesTheEntryOfItsExternalID(t *testing.T) {
	d := open(t)
	b := New(d)
	if _, found, err := b.Owned(); err != nil || found {
		t.Fatalf("empty state: found %v, %v", found, err)
	}
	must(t, b.Add(visitor.Owned{ID: "u1", UserName: "a@x", ExternalID: "condeco-1"}))
	must(t, b.Add(visitor.Owned{ID: "u2", UserName: "b@x", ExternalID: "condeco-2"}))
	// condeco-1 deleted by hand in Visitor and created again: one entry.
	must(t, b.Add(visitor.Owned{ID: "u3", UserName: "a@x", ExternalID: "condeco-1"}))
	check(t, d, b, owned("u2", "b@x", "condeco-2", "u3", "a@x", "condeco-1"))
	// The same id recorded again (an adoption re-recorded) stays one entry.
	must(t, b.Add(visitor.Owned{ID: "u3", UserName: "a2@x", ExternalID: "condeco-1"}))
	check(t, d, b, owned("u2", "b@x", "condeco-2", "u3", "a2@x", "condeco-1"))
}

func TestAddAfterAnIDChangedItsExternalID(t *testing.T) {
	d := open(t)
	b := New(d)
	_, _, err := b.Owned()
	must(t, err)
	must(t, b.Add(visitor.Owned{ID: "u1", UserName: "a@x", ExternalID: "condeco-1"}))
	must(t, b.Add(visitor.Owned{ID: "u1", UserName: "a@x", ExternalID: "condeco-9"}))
	// u1 no longer holds condeco-1: a new condeco-1 leaves it alone.
	must(t, b.Add(visitor.Owned{ID: "u2", UserName: "c@x", ExternalID: "condeco-1"}))
	check(t, d, b, owned("u1", "a@x", "condeco-9", "u2", "c@x", "condeco-1"))
	// Removed, then its externalId recorded again under another id.
	must(t, b.Remove("u2"))
	must(t, b.Add(visitor.Owned{ID: "u3", UserName: "c@x", ExternalID: "condeco-1"}))
	check(t, d, b, owned("u1", "a@x", "condeco-9", "u3", "c@x", "condeco-1"))
}

// A record written by other means may hold one externalId twice: the
// next Add of it replaces both, as the scan it replaces did.
func TestAddReplacesDuplicatesOfARecordRead(t *testing.T) {
	d := open(t)
	must(t, d.WriteOwnership(time.Now(), []state.OwnedUser{
		{ID: "u1", UserName: "a@x", ExternalID: "condeco-1"},
		{ID: "u2", UserName: "a@x", ExternalID: "condeco-1"},
		{ID: "u3", UserName: "b@x", ExternalID: "condeco-2"},
	}))
	b := New(d)
	got, found, err := b.Owned()
	if err != nil || !found || len(got) != 3 {
		t.Fatalf("read %v, %v, %v", got, found, err)
	}
	must(t, b.Add(visitor.Owned{ID: "u4", UserName: "a@x", ExternalID: "condeco-1"}))
	check(t, d, b, owned("u3", "b@x", "condeco-2", "u4", "a@x", "condeco-1"))
}

// Many creates, some recreated, some removed: the index stays the record's.
func TestAddManyKeepsTheIndex(t *testing.T) {
	d := open(t)
	b := New(d)
	_, _, err := b.Owned()
	must(t, err)
	want := map[string]visitor.Owned{}
	for i := range 60 {
		o := visitor.Owned{ID: fmt.Sprintf("v%d", i), UserName: fmt.Sprintf("u%d@x", i%40), ExternalID: fmt.Sprintf("condeco-%d", i%40)}
		must(t, b.Add(o))
		for id, e := range want {
			if e.ExternalID == o.ExternalID {
				delete(want, id)
			}
		}
		want[o.ID] = o
		if i%7 == 0 {
			must(t, b.Remove(o.ID))
			delete(want, o.ID)
		}
	}
	check(t, d, b, want)
	if ids := slices.Collect(maps.Keys(b.byExt)); len(ids) != len(want) {
		t.Errorf("index has %d externalIds for %d entries", len(ids), len(want))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
