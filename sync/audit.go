package sync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"condeco-visitor-sync/visitor"
)

// AuditEntry is one line of the audit log: who was changed, how, and the
// user before and after, so an operator can undo a change by hand.
type AuditEntry struct {
	Run        string          `json:"run"`
	Time       time.Time       `json:"time"`
	Action     Action          `json:"action"`
	User       string          `json:"user"`
	ExternalID string          `json:"externalId,omitempty"`
	VisitorID  string          `json:"visitorId,omitempty"`
	Result     string          `json:"result"` // ok, failed, conflict
	Reason     string          `json:"reason,omitempty"`
	Fields     []visitor.Field `json:"fields,omitempty"`
	Before     *visitor.User   `json:"before,omitempty"`
	After      *visitor.User   `json:"after,omitempty"`
}

// AppendAudit appends one JSON line per entry in a single write, so lines
// of concurrent runs never interleave mid-line. The users hold no secrets.
func AppendAudit(path string, runID string, entries ...AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range entries {
		e.Run = runID
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("encoding audit entry for %s: %w", e.User, err)
		}
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("opening audit log: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("appending audit log: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing audit log: %w", err)
	}
	return nil
}
