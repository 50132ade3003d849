package runner

import "condeco-visitor-sync/visitor"

// The generic-v1 client is a Target like the SCIM 2.0 one, and reports
// its capabilities and requests the way the runner asks (issue 16).
var (
	_ Target             = (*visitor.Generic)(nil)
	_ capabilityReporter = (*visitor.Generic)(nil)
	_ statsCounter       = (*visitor.Generic)(nil)
	_ listCounter        = (*visitor.Generic)(nil)
)
