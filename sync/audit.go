package sync

import (
	"encoding/json"
	"fmt"
	"os"
	gosync "sync"
	"time"

	"condeco-visitor-sync/visitor"
)

// AuditEntry is one line of the audit log: who was changed, how, and the
// user before and after, so an operator can undo a change by hand.
type AuditEntry struct {
	Run        string    `json:"run"`
	Time       time.Time `json:"time"`
	Action     Action    `json:"action"`
	User       string    `json:"user"`
	ExternalID string    `json:"externalId,omitempty"`
	VisitorID  string    `json:"visitorId,omitempty"`
	// Result is applied (Visitor accepted the write; written the moment
	// it answers, before the re-read), then ok, ok-unverified (shutting
	// down before the re-read), failed or conflict.
	Result string          `json:"result"`
	Reason string          `json:"reason,omitempty"`
	Fields []visitor.Field `json:"fields,omitempty"`
	Before *visitor.User   `json:"before,omitempty"`
	After  *visitor.User   `json:"after,omitempty"`
}

// auditLog writes each entry the moment it is known, not at the end of the
// run: a run killed half-way (SIGKILL, the OOM killer, a lost node) has
// made changes that must be on record. Each line is one write(2) to a file
// opened O_APPEND, so it is in the kernel's hands once written and lines
// of concurrent workers never interleave.
type auditLog struct {
	path, run string

	mu  gosync.Mutex
	f   *os.File
	err error // the first error; later entries are not attempted
}

func (l *auditLog) write(e AuditEntry) {
	if l == nil || l.path == "" {
		return
	}
	e.Run = l.run
	b, err := json.Marshal(e)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	if err != nil {
		l.err = fmt.Errorf("encoding audit entry for %s: %w", e.User, err)
		return
	}
	if l.f == nil {
		if l.f, err = os.OpenFile(l.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err != nil {
			l.err = fmt.Errorf("opening audit log: %w", err)
			return
		}
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		l.err = fmt.Errorf("appending audit log: %w", err)
	}
}

// close closes the file and returns the first error of the run.
func (l *auditLog) close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		if err := l.f.Close(); err != nil && l.err == nil {
			l.err = fmt.Errorf("closing audit log: %w", err)
		}
		l.f = nil
	}
	return l.err
}
