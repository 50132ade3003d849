package runner

import (
	"context"
	"sync"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/plan"
)

// IntegrationResult is what one more integration (visitor_integrations:
// a generic-v1 integration installed in another Visitor location) did in
// a run: the same Condeco users, provisioned into that location directly.
type IntegrationResult struct {
	Location string       `json:"location"`
	Counts   apply.Counts `json:"counts"`
	Failures int          `json:"failures"`
	Requests int64        `json:"requests"`
	Error    string       `json:"error,omitempty"`
	Plan     *plan.Plan   `json:"-"` // printed by a dry run, not stored
}

// SharedSource reads Condeco once per run for every integration: the
// export is what all of them provision, and reading it again per
// integration would cost the database as many full reads. Forget ends the
// run's export, so the next run reads afresh.
type SharedSource struct {
	src Source

	mu  sync.Mutex
	exp *condeco.Export
	err error
	hit bool
}

// NewSharedSource wraps src.
func NewSharedSource(src Source) *SharedSource { return &SharedSource{src: src} }

// Export returns this run's export, reading it the first time.
func (s *SharedSource) Export(ctx context.Context) (*condeco.Export, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hit {
		return s.exp, s.err
	}
	s.exp, s.err = s.src.Export(ctx)
	s.hit = s.err == nil // a failed read is tried again by the next caller
	return s.exp, s.err
}

// Forget drops the run's export.
func (s *SharedSource) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exp, s.err, s.hit = nil, nil, false
}
