package visitor

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Cause names what went wrong with a request in words that are the same
// for every user it happens to: the status and SCIM error type of an
// answer, or why no answer came. A run that sees the same cause on write
// after write is failing as a whole (a broken tenant, a revoked scope),
// not user by user; the applier's circuit breaker counts causes.
func Cause(err error) string {
	var se *Error
	if errors.As(err, &se) {
		if se.ScimType != "" {
			return fmt.Sprintf("status %d %s", se.Status, se.ScimType)
		}
		return fmt.Sprintf("status %d", se.Status)
	}
	var te *transportError
	if errors.As(err, &te) {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			return "no answer: timeout"
		case strings.Contains(te.err.Error(), "unreadable"):
			return "unreadable answer"
		}
		return "no answer"
	}
	return "other: " + strings.SplitN(err.Error(), ":", 2)[0]
}

// ServerSide says whether a cause is the target failing (no answer, 5xx)
// rather than the target refusing a user's data.
func ServerSide(cause string) bool {
	return strings.HasPrefix(cause, "no answer") || strings.HasPrefix(cause, "unreadable") || strings.HasPrefix(cause, "status 5")
}
