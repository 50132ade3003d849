// Package state owns state_dir: the run lock, the records that must
// survive from one run to the next (first-sync.json, …), the run reports
// and where the audit log lives. One place knows the file names and
// formats; docs/operations.md lists them and what losing each one means.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File names under state_dir.
const (
	LockFile       = "lock"
	FirstSyncFile  = "first-sync.json"
	LastReportFile = "last-report.json"
	ReportsDir     = "reports"
	AuditFile      = "audit.log"
)

// ErrWrite means a file under state_dir could not be written (a full
// disk, permissions): the run's record is incomplete.
var ErrWrite = errors.New("state_dir not written")

// ErrVersion means a record was written by a newer (or unknown) version
// of the sync: reading on could misread it.
var ErrVersion = errors.New("unknown record version")

// Dir is one state_dir.
type Dir struct {
	path string
}

// Open makes sure the folder exists (0750: reports name people).
func Open(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("state_dir: empty path")
	}
	if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	return &Dir{path: path}, nil
}

// Path is the folder itself.
func (d *Dir) Path() string { return d.path }

// AuditPath is where the audit log is appended.
func (d *Dir) AuditPath() string { return filepath.Join(d.path, AuditFile) }

func (d *Dir) file(name string) string { return filepath.Join(d.path, name) }

// WriteAtomic replaces path with data so that a crash leaves either the
// old file or the new one, never a torn one: a temporary file in the same
// folder is written and fsynced, renamed over path, and the folder is
// fsynced so the rename itself survives a power cut.
func WriteAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// recordHeader starts every record: the format version it was written in.
type recordHeader struct {
	Version int `json:"version"`
}

// writeRecord writes v (whose JSON must carry "version") atomically.
func writeRecord(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return WriteAtomic(path, append(b, '\n'), 0o600)
}

// readRecord reads the record at path into v. found is false when there
// is no file. A version other than want is ErrVersion naming the file; a
// record without a version is read as version 1, the format of records
// written before they carried one.
func readRecord(path string, want int, v any) (found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	var h recordHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	if h.Version == 0 {
		h.Version = 1
	}
	if h.Version != want {
		return false, fmt.Errorf("reading %s: %w %d (this version reads %d); was it written by a newer condeco-visitor-sync?", path, ErrVersion, h.Version, want)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	return true, nil
}
