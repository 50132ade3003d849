package sync

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// firstSyncRecord is the state file that says who the first full sync set
// out to create. Visitor cannot tell us: after a first run that dies
// half-way it holds some managed users, and "no managed users yet" would
// no longer call the retry initial.
type firstSyncRecord struct {
	Run         string    `json:"run"`
	Time        time.Time `json:"time"`
	ExternalIDs []string  `json:"externalIds"`
}

// readFirstSync returns the recorded externalIds, nil when there is no
// record yet.
func readFirstSync(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading first-sync record: %w", err)
	}
	var rec firstSyncRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("reading first-sync record %s: %w", path, err)
	}
	return rec.ExternalIDs, nil
}

// writeFirstSync records the creates of an initial plan before the first
// write, so that a run killed half-way still leaves the record behind. It
// replaces the file atomically.
func writeFirstSync(path, run string, at time.Time, p *Plan) error {
	rec := firstSyncRecord{Run: run, Time: at, ExternalIDs: make([]string, 0, len(p.Creates))}
	for _, c := range p.Creates {
		rec.ExternalIDs = append(rec.ExternalIDs, c.ExternalID)
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".first-sync-*")
	if err != nil {
		return fmt.Errorf("recording first sync: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("recording first sync: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("recording first sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("recording first sync: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("recording first sync: %w", err)
	}
	return nil
}
