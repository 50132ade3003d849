package audit

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// ResultMended is the result of the run line Open writes after a last line
// a crash left unfinished: Read skips the unfinished line it follows.
const ResultMended = "mended"

// unfinishedTail reports whether the log at path ends in part of a line:
// a process killed inside a write(2) (SIGKILL, the OOM killer) can leave
// one when the line crosses a page of the file, since the kernel copies a
// page at a time. The next run's lines would be glued to it. A file that
// cannot be read (write-only permissions) is taken as whole.
func unfinishedTail(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return false
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], fi.Size()-1); err != nil {
		return false
	}
	return last[0] != '\n'
}

// mendLine ends the unfinished line with a line end and says so in a line
// of its own, in one write: the log stays append-only (a shipper tailing
// it, chattr +a), and a reader knows the line above is not a record. It is
// at most a change's intent line whose request was never sent (the intent
// is written whole first) or the outcome of a change whose intent line is
// above it.
func (l *Log) mendLine(at time.Time) error {
	b, err := json.Marshal(Entry{Run: l.run, Time: at, Action: ActionRun, Result: ResultMended,
		Reason: "the line above was cut short when a process writing this log was killed; it is not a record"})
	if err != nil {
		l.err = fmt.Errorf("%w: encoding the mended line: %w", ErrWrite, err)
		return l.err
	}
	return l.append(append(append([]byte{'\n'}, b...), '\n'))
}
