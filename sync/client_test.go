package sync

import "condeco-visitor-sync/visitor"

// The Visitor client must keep satisfying what the sync needs, and its
// request counter must be readable for the report.
var (
	_ Target       = (*visitor.Client)(nil)
	_ statsCounter = (*visitor.Client)(nil)
)
