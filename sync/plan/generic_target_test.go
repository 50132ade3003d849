package plan

import "condeco-visitor-sync/visitor"

// The generic-v1 client is a Target like the SCIM 2.0 one (issue 16).
var _ Target = (*visitor.Generic)(nil)
