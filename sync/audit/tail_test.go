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
// Open: the part is ended and a "mended" run line follows it, nothing
// already written changes (a shipper tailing the file, chattr +a), and
// the whole log reads again. Found by the SIGKILL reliability test: a
// kill inside a write(2) crossing a page of the file left `{"run":`, and
// the next run's header was glued to it.
func TestOpenMendsAnUnfinishedLine(t *testing.T) {
	whole := `{"run":"r1","time":"2026-12-05T00:00:00Z","action":"run","result":"started"}` + "\n"
	long := `{"run":"r1","time":"2026-12-05T00:00:00Z","action":"create","result":"intent","user":"` +
		strings.Repeat("x", 200<<10) + `"}` + "\n"
	for _, tc := range []struct {
		name, before string
		mended       bool
		oldLines     int
	}{
		{"empty file", "", false, 0},
		{"whole lines", whole + whole, false, 2},
		{"a part after whole lines", whole + whole + `{"run":`, true, 2},
		{"only a part", `{"run":"r0","ti`, true, 0},
		{"a long part after a long line", long + long[:150<<10], true, 1},
		{"a whole line without its line end", whole + strings.TrimSuffix(whole, "\n"), true, 2},
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
			if l.Mended != tc.mended {
				t.Errorf("Mended = %v, want %v", l.Mended, tc.mended)
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
			if !bytes.HasPrefix(b, []byte(tc.before)) {
				t.Errorf("what was written before changed")
			}
			var got []string
			if err := Read(bytes.NewReader(b), func(e Entry) error { got = append(got, e.Run+" "+e.Result); return nil }); err != nil {
				t.Fatalf("the mended log does not read: %v\n%s", err, b)
			}
			want := tc.oldLines + 2
			if tc.mended {
				want++
			}
			if len(got) != want || got[len(got)-1] != "r2 intent" || got[len(got)-2] != "r2 started" ||
				(tc.mended && got[len(got)-3] != "r2 mended") {
				t.Errorf("lines %v, want %d old ones, a mended line when mended, then r2's header and entry", got, tc.oldLines)
			}
		})
	}
}

// Read skips only what a crash left unfinished: a last line without its
// line end, or lines a "mended" run line follows. Any other line that
// does not decode is an error naming it.
func TestReadSkipsOnlyUnfinishedLines(t *testing.T) {
	whole := `{"run":"r1","time":"2026-12-05T00:00:00Z","action":"run","result":"started"}` + "\n"
	mended := `{"run":"r2","time":"2026-12-05T00:00:00Z","action":"run","result":"mended"}` + "\n"
	for _, tc := range []struct {
		name, log string
		lines     int
		bad       string
	}{
		{"unfinished last line", whole + whole + `{"run":"r1","ti`, 2, ""},
		{"mended line", whole + `{"run":` + "\n" + mended + whole, 3, ""},
		{"a crash while mending, mended again", whole + `{"run":` + "\n" + `{"run":"r2","ti` + "\n" + mended + whole, 3, ""},
		{"a crash while mending, not yet mended again", whole + `{"run":` + "\n" + `{"run":"r2","ti`, 0, "line 2"},
		{"bad line without a mended line after it", whole + `{"run":` + "\n" + whole, 0, "line 2"},
		{"bad last line with its line end", whole + `{"run":` + "\n", 0, "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := Read(strings.NewReader(tc.log), func(Entry) error { n++; return nil })
			if tc.bad == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)) {
				t.Fatalf("err = %v, want one naming %s", err, tc.bad)
			}
			if tc.bad == "" && n != tc.lines {
				t.Errorf("%d lines read, want %d", n, tc.lines)
			}
		})
	}
}
