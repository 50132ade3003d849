package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A log whose last line a crash cut short is mended by the next run's
// Open: the part is removed, said in Cut, and the run's lines start on a
// line of their own, so the whole log reads again. Found by the SIGKILL
// reliability test: a kill inside a write(2) crossing a page of the file
// left `{"run":`, and the next run's header was glued to it.
func TestOpenCutsATornTail(t *testing.T) {
	whole := `{"run":"r1","time":"2026-12-05T00:00:00Z","action":"run","result":"started"}` + "\n"
	long := `{"run":"r1","time":"2026-12-05T00:00:00Z","action":"create","result":"intent","user":"` +
		strings.Repeat("x", 3*tailChunk) + `"}` + "\n"
	for _, tc := range []struct {
		name, before string
		cut          int64
		oldLines     int
	}{
		{"empty file", "", 0, 0},
		{"whole lines", whole + whole, 0, 2},
		{"a part after whole lines", whole + whole + `{"run":`, 7, 2},
		{"only a part", `{"run":"r0","ti`, 15, 0},
		{"a long part after a long line", long + long[:2*tailChunk+5], 2*tailChunk + 5, 1},
		{"a part ending in a chunk's first byte", long + long[:tailChunk], tailChunk, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			if err := os.WriteFile(path, []byte(tc.before), 0o600); err != nil {
				t.Fatal(err)
			}
			l, err := Open(path, "r2", nil, time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if l.Cut != tc.cut {
				t.Errorf("Cut = %d, want %d", l.Cut, tc.cut)
			}
			if err := l.Write(Entry{Action: "create", Result: "intent", User: "a@example.com"}, nil, nil); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.before[:int64(len(tc.before))-tc.cut]; !bytes.HasPrefix(b, []byte(want)) {
				t.Errorf("the whole lines before the part were not kept")
			}
			var runs []string
			if err := Read(bytes.NewReader(b), func(e Entry) error { runs = append(runs, e.Run); return nil }); err != nil {
				t.Fatalf("the mended log does not read: %v", err)
			}
			if len(runs) != tc.oldLines+2 || runs[len(runs)-1] != "r2" || runs[len(runs)-2] != "r2" {
				t.Errorf("lines of runs %v, want %d old ones then r2's header and entry", runs, tc.oldLines)
			}
		})
	}
}

// Read skips a last line left unfinished by a crash (the log as it is
// between the kill and the next run), and still refuses a bad line
// anywhere else.
func TestReadSkipsOnlyATornLastLine(t *testing.T) {
	whole := `{"run":"r1","time":"2026-12-05T00:00:00Z","action":"run","result":"started"}` + "\n"
	for _, tc := range []struct {
		name, log string
		lines     int
		bad       bool
	}{
		{"torn last line", whole + whole + `{"run":"r1","ti`, 2, false},
		{"bad line with its line end", whole + `{"run":` + "\n" + whole, 0, true},
		{"bad last line with its line end", whole + `{"run":` + "\n", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := Read(strings.NewReader(tc.log), func(Entry) error { n++; return nil })
			if tc.bad != (err != nil) {
				t.Fatalf("err = %v, want an error: %v", err, tc.bad)
			}
			if !tc.bad && n != tc.lines {
				t.Errorf("%d lines read, want %d", n, tc.lines)
			}
		})
	}
}
