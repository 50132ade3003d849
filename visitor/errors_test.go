package visitor

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestErrorSentinels: each answer matches exactly the sentinels that say
// what it means, so that callers never need the status or the scimType.
func TestErrorSentinels(t *testing.T) {
	all := []error{ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict, ErrTooLarge,
		ErrRateLimited, ErrServer, ErrUniqueness, ErrReadOnly, ErrLastAdmin}
	cases := []struct {
		name     string
		status   int
		scimType string
		want     []error
	}{
		{"userName taken", 409, "uniqueness", []error{ErrConflict, ErrUniqueness}},
		{"plain 409 is taken, not last admin", 409, "", []error{ErrConflict, ErrUniqueness}},
		{"409 of another type is taken", 409, "invalidValue", []error{ErrConflict, ErrUniqueness}},
		{"last active admin", 409, "mutability", []error{ErrConflict, ErrLastAdmin}},
		{"email read-only", 400, "mutability", []error{ErrBadRequest, ErrReadOnly}},
		{"invalid value", 400, "invalidValue", []error{ErrBadRequest}},
		{"invalid filter", 400, "invalidFilter", []error{ErrBadRequest}},
		{"plain 400", 400, "", []error{ErrBadRequest}},
		{"token refused", 401, "", []error{ErrUnauthorized}},
		{"not created through SCIM", 403, "", []error{ErrForbidden}},
		{"403 mutability is not read-only", 403, "mutability", []error{ErrForbidden}},
		{"not found", 404, "", []error{ErrNotFound}},
		{"body too large", 413, "", []error{ErrTooLarge}},
		{"rate limited", 429, "", []error{ErrRateLimited}},
		{"server error", 500, "", []error{ErrServer}},
		{"unavailable", 503, "", []error{ErrServer}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := fmt.Errorf("wrapped: %w", NewError(c.status, c.scimType, "detail"))
			for _, s := range all {
				if got, want := errors.Is(err, s), slices.Contains(c.want, s); got != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, s, got, want)
				}
			}
		})
	}
}
