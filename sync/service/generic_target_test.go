package service

import "condeco-visitor-sync/visitor"

// --check can probe a generic-v1 target as it probes a SCIM 2.0 one.
var _ TargetChecker = (*visitor.Generic)(nil)
