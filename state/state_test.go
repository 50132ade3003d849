package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPruneReportsKeepsNewest(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 7; i++ {
		name := fmt.Sprintf("2026112%dT020000Z-run%d.json", i, i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pruneReports(dir, 3)
	left, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(left) != 3 || !strings.Contains(left[0], "run4") || !strings.Contains(left[2], "run6") {
		t.Fatalf("kept %v, want the three newest (run4..run6)", left)
	}
}

// A lock file deleted while a run holds the lock does not let a second
// run in: the folder itself is locked too.
func TestLockSurvivesItsFileBeingDeleted(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	first := d.Lock()
	if err := first.Acquire(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	defer first.Release()
	if first.Warning != "" {
		t.Fatalf("this filesystem locks folders, yet: %s", first.Warning)
	}
	if err := os.Remove(filepath.Join(d.Path(), LockFile)); err != nil {
		t.Fatal(err)
	}
	second := d.Lock()
	if err := second.Acquire(context.Background(), 0); !errors.Is(err, ErrLockBusy) {
		second.Release()
		t.Fatalf("second run after the lock file was deleted: %v, want %v", err, ErrLockBusy)
	}
	first.Release()
	if err := second.Acquire(context.Background(), 0); err != nil {
		t.Fatalf("after the first run released: %v", err)
	}
	second.Release()
}

// A lock file replaced between its open and its flock is not trusted:
// Acquire locks the file now at the path.
func TestLockChecksTheLockedFileIsAtThePath(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(d.Path(), LockFile)
	l := d.Lock()
	replaced := 0
	l.afterLock = func() {
		if replaced == 0 { // another process swaps the file in
			replaced++
			tmp := path + ".new"
			if err := os.WriteFile(tmp, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Acquire(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	held, err := l.file.Stat()
	if err != nil {
		t.Fatal(err)
	}
	now, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if replaced != 1 || !os.SameFile(held, now) {
		t.Fatalf("replaced %d times; holding the file at the path: %v", replaced, os.SameFile(held, now))
	}
}

// Records name people and are the sync's own: 0600, as docs/security.md
// says, and versioned.
func TestFirstSyncRecordModeAndVersion(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFirstSync("run-1", time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC), []string{"condeco:1"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(d.Path(), FirstSyncFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if ids, err := d.ReadFirstSync(); err != nil || len(ids) != 1 {
		t.Fatalf("read back %v, %v", ids, err)
	}
	if err := os.WriteFile(path, []byte(`{"version": 9, "externalIds": []}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadFirstSync(); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), path) {
		t.Errorf("unknown version: %v, want %v naming %s", err, ErrVersion, path)
	}
}

func TestTargetRecordRoundTrip(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := d.ReadTarget(); found || err != nil {
		t.Fatalf("before any run: found %v, %v", found, err)
	}
	want := TargetRecord{ActiveManaged: 211, FirstSyncDone: true, ExternalIDPrefix: "condeco:"}
	if err := d.WriteTarget("run-1", time.Now(), want); err != nil {
		t.Fatal(err)
	}
	if got, found, err := d.ReadTarget(); !found || err != nil || got != want {
		t.Fatalf("read back %+v, %v, %v; want %+v", got, found, err, want)
	}
}

// TestOwedGrantsRecord: no file reads as nothing owed; what is written
// reads back (0600, versioned, an emptied list stays a file with no
// grants); a newer version is refused naming the file, never overwritten
// by a guess.
func TestOwedGrantsRecord(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if gs, err := d.ReadOwedGrants(); gs != nil || err != nil {
		t.Fatalf("before any run: %v, %v", gs, err)
	}
	want := []OwedGrant{{ExternalID: "condeco:231", UserName: "ingrid.solberg@example.co.uk", Location: "condeco-location:106"}}
	if err := d.WriteOwedGrants("run-1", time.Now(), want); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(d.Path(), OwedGrantsFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("stat %v, %v; want mode 0600", fi, err)
	}
	if got, err := d.ReadOwedGrants(); err != nil || !slices.Equal(got, want) {
		t.Fatalf("read back %+v, %v; want %+v", got, err, want)
	}
	if err := d.WriteOwedGrants("run-2", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if got, err := d.ReadOwedGrants(); err != nil || len(got) != 0 {
		t.Fatalf("after paying: %+v, %v", got, err)
	}
	if err := os.WriteFile(path, []byte(`{"version": 2, "grants": []}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadOwedGrants(); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), path) {
		t.Errorf("unknown version: %v, want %v naming %s", err, ErrVersion, path)
	}
}

func TestLastSuccessRecord(t *testing.T) {
	start := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		write     func(d *Dir) error // nil: no record
		wantStart time.Time
		wantFound bool
		wantErr   error
	}{
		{name: "none yet", wantFound: false},
		{
			name:      "written by a run",
			write:     func(d *Dir) error { return d.WriteLastSuccess("run-1", "scheduled", start, start.Add(time.Minute)) },
			wantStart: start, wantFound: true,
		},
		{
			name: "unknown version",
			write: func(d *Dir) error {
				return os.WriteFile(filepath.Join(d.Path(), LastSuccessFile), []byte(`{"version": 2, "start": "2026-03-29T01:00:00Z"}`), 0o600)
			},
			wantErr: ErrVersion,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if c.write != nil {
				if err := c.write(d); err != nil {
					t.Fatal(err)
				}
			}
			got, found, err := d.ReadLastSuccess()
			if !errors.Is(err, c.wantErr) || found != c.wantFound || !got.Equal(c.wantStart) {
				t.Fatalf("ReadLastSuccess = %v, %v, %v; want %v, %v, %v", got, found, err, c.wantStart, c.wantFound, c.wantErr)
			}
			if c.wantFound {
				fi, err := os.Stat(filepath.Join(d.Path(), LastSuccessFile))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("record mode %v, want 0600", fi.Mode().Perm())
				}
			}
		})
	}
}

// The grants record reads back as written, tells "no record" from an
// empty one (no record: the sync revokes nothing), and refuses a version
// it does not know rather than misread what the sync granted.
func TestGrantsRecordRoundTrip(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := d.ReadGrants(); found || err != nil {
		t.Fatalf("before any run: found %v, %v", found, err)
	}
	if err := d.WriteGrants("run-1", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if got, found, err := d.ReadGrants(); !found || err != nil || len(got) != 0 {
		t.Fatalf("empty record read back %+v, %v, %v", got, found, err)
	}
	want := []AdminGrant{{ExternalID: "condeco:1", LocationID: "loc-1", Replaced: "reception"}, {ExternalID: "condeco:2", LocationID: "loc-1"}}
	if err := d.WriteGrants("run-2", time.Now(), want); err != nil {
		t.Fatal(err)
	}
	if got, found, err := d.ReadGrants(); !found || err != nil || !slices.Equal(got, want) {
		t.Fatalf("read back %+v, %v, %v; want %+v", got, found, err, want)
	}
	path := filepath.Join(d.Path(), GrantsFile)
	if fi, err := os.Stat(path); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if err := os.WriteFile(path, []byte(`{"version": 2, "admin": []}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.ReadGrants(); !errors.Is(err, ErrVersion) {
		t.Errorf("unknown version: %v, want %v", err, ErrVersion)
	}
}
