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

// TestDecodeErrorSCIM11: a SCIM 1.1 error body (API 1.1 §3.7) gives the
// same typed error as a 2.0 one, so the sentinels work for both profiles.
func TestDecodeErrorSCIM11(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantDetail string
		wantIs     error
	}{
		{"409 is uniqueness", 409, `{"Errors":[{"description":"userName a@b.c is taken","code":"409"}]}`, "userName a@b.c is taken", ErrUniqueness},
		{"400 joins descriptions", 400, `{"Errors":[{"description":"userName required","code":"400"},{"description":"a work email required","code":"400"}]}`, "userName required; a work email required", ErrBadRequest},
		{"404", 404, `{"Errors":[{"description":"no user x","code":"404"}]}`, "no user x", ErrNotFound},
		{"HTTP status wins over code", 429, `{"Errors":[{"description":"slow down","code":"400"}]}`, "slow down", ErrRateLimited},
		{"secret echoed is cut", 401, `{"Errors":[{"description":"bad token sekret-123","code":"401"}]}`, "bad token [redacted]", ErrUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := decodeError(tc.status, []byte(tc.body), "sekret-123")
			if e.Status != tc.status || e.Detail != tc.wantDetail || !errors.Is(e, tc.wantIs) {
				t.Fatalf("got %+v (is %v: %v)", e, tc.wantIs, errors.Is(e, tc.wantIs))
			}
		})
	}
}
