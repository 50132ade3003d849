package visitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinels that callers test with errors.Is. A *Error matches the ones
// for its HTTP status and SCIM scimType, so the rest of the program
// branches on what the refusal means ("the userName is taken", "the last
// admin cannot go") and never on the wire form; the mapping is in Is.
var (
	ErrBadRequest   = errors.New("scim: bad request")
	ErrUnauthorized = errors.New("scim: unauthorized")
	ErrForbidden    = errors.New("scim: forbidden")
	ErrNotFound     = errors.New("scim: not found")
	ErrConflict     = errors.New("scim: conflict")
	ErrTooLarge     = errors.New("scim: request body too large")
	ErrRateLimited  = errors.New("scim: rate limited")
	ErrServer       = errors.New("scim: server error")
	ErrInsecureURL  = errors.New("insecure url")
	ErrAmbiguous    = errors.New("more than one match")
	// ErrListing means a listing cannot be the server's whole answer
	// (pages that end early, a totalResults that changes or is negative,
	// a resource listed twice): nothing may be planned on it.
	ErrListing = errors.New("listing is not whole")
	// ErrRetryAfter means the server asked the client to wait longer than
	// it will (or said it unreadably): that request fails at once rather
	// than holding the run and its lock.
	ErrRetryAfter = errors.New("retry-after not honoured")

	// ErrUniqueness: a value that must be unique is taken (409
	// uniqueness, or a 409 that names no scimType and so is not the
	// last-admin rule). It is also an ErrConflict.
	ErrUniqueness = errors.New("scim: value already taken")
	// ErrReadOnly: the attribute cannot be changed (400 mutability), for
	// example an email on a server that keeps emails read-only, or an
	// externalId once set. It is also an ErrBadRequest.
	ErrReadOnly = errors.New("scim: attribute cannot be changed")
	// ErrLastAdmin: the change would leave the tenant without an active
	// admin (409 mutability on a delete, deactivation or demotion). It is
	// also an ErrConflict.
	ErrLastAdmin = errors.New("scim: the last active admin cannot be removed")
)

// scimType values (RFC 7644 §3.12) the sentinels are told apart by.
const (
	scimTypeMutability    = "mutability"
	scimTypeInvalidFilter = "invalidFilter"
)

// Error is a SCIM error response (RFC 7644 §3.12). It carries only what the
// server said; it never holds request headers, so no token can leak through
// it. Outside this package, read it through the sentinels (errors.Is).
type Error struct {
	Status   int
	ScimType string
	Detail   string
	// RetryAfter is the server's Retry-After on a 429 or 503 (either
	// form), zero when absent. A create that is not retried blindly still
	// waits this long before its next try.
	RetryAfter time.Duration
}

// NewError is the error a server's answer decodes to, for fakes of the
// target that must refuse the way Visitor does.
func NewError(status int, scimType, detail string) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: detail}
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scim: status %d", e.Status)
	if e.ScimType != "" {
		b.WriteString(" " + e.ScimType)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

// Is maps the status and scimType to the sentinels, so that
// errors.Is(err, ErrLastAdmin) works. RFC 7644 §3.12 gives 409 to
// uniqueness and 400 to mutability; Visitor answers the last-admin rule
// with 409 mutability (docs/visitor-scim.md), which is why a 409 is a
// uniqueness refusal only when it is not mutability.
func (e *Error) Is(target error) bool {
	mutability := e.ScimType == scimTypeMutability
	switch target {
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrUniqueness:
		return e.Status == http.StatusConflict && !mutability
	case ErrReadOnly:
		return e.Status == http.StatusBadRequest && mutability
	case ErrLastAdmin:
		return e.Status == http.StatusConflict && mutability
	case ErrTooLarge:
		return e.Status == http.StatusRequestEntityTooLarge
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrServer:
		return e.Status >= 500
	}
	return false
}

// maxDetail bounds how much of a non-SCIM error body ends up in an error
// message (and so in logs).
const maxDetail = 200

// decodeError builds an *Error from a non-2xx response. Servers send status
// as a string (as the RFC says) or a number; both are accepted, as is a
// SCIM 1.1 body ({"Errors":[{"description","code"}]}), and a body
// that is not a SCIM error still gives a useful message. Any secret the
// server might echo back is cut out.
func decodeError(status int, body []byte, secrets ...string) *Error {
	e := &Error{Status: status}
	var raw struct {
		Status   json.RawMessage `json:"status"`
		ScimType string          `json:"scimType"`
		Detail   string          `json:"detail"`
		// SCIM 1.1 (API 1.1 §3.7) puts its errors in a list; its code is
		// the HTTP status again, so the answer's status stands.
		Errors []struct {
			Description string `json:"description"`
		} `json:"Errors"`
	}
	if err := json.Unmarshal(body, &raw); err == nil && len(raw.Errors) > 0 && raw.ScimType == "" && raw.Detail == "" && len(raw.Status) == 0 {
		ds := make([]string, 0, len(raw.Errors))
		for _, x := range raw.Errors {
			if d := strings.TrimSpace(x.Description); d != "" {
				ds = append(ds, d)
			}
		}
		e.Detail = strings.Join(ds, "; ")
	} else if err == nil && (raw.ScimType != "" || raw.Detail != "" || len(raw.Status) > 0) {
		e.ScimType = raw.ScimType
		e.Detail = raw.Detail
		if s := strings.Trim(string(raw.Status), `"`); s != "" {
			if n, err := strconv.Atoi(s); err == nil && n >= 400 && n < 600 {
				e.Status = n
			}
		}
	} else {
		e.Detail = strings.TrimSpace(string(body))
	}
	e.Detail = redact(e.Detail, secrets)
	return e
}

// redact cleans an error detail for logs: invalid UTF-8 becomes U+FFFD
// first (dropping the bytes could join a secret's two halves), then each
// secret is cut out, and only then is the text shortened (cutting first
// would leave a secret's first bytes behind, no longer whole enough to be
// found). If cutting out one secret forms another, nothing is kept.
func redact(d string, secrets []string) string {
	d = strings.ToValidUTF8(d, "\uFFFD")
	for _, s := range secrets {
		if s != "" {
			d = strings.ReplaceAll(d, s, "[redacted]")
		}
	}
	// A "secret" that is part of a character leaves the rest of it.
	d = strings.ToValidUTF8(d, "\uFFFD")
	for _, s := range secrets {
		if s != "" && strings.Contains(d, s) {
			return "[redacted]"
		}
	}
	if len(d) > maxDetail {
		n := maxDetail
		for n > 0 && !utf8.RuneStart(d[n]) {
			n--
		}
		d = d[:n] + "…"
	}
	return d
}
