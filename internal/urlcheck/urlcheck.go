// Package urlcheck is the one rule for a URL the daemon sends a token,
// a password or personal data to: https anywhere, plain http only to this
// machine (the simulator, tests, a local proxy), where nothing crosses a
// network. config applies it to the operator's file and visitor to
// whatever URL its caller hands it; config imports visitor, so the rule
// cannot live in config, and it is not Visitor's either (the notification
// webhook obeys it too). A leaf package lets every caller share it
// without an import cycle, each wording the refusal for its own reader.
package urlcheck

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// Why Parse refuses a URL.
var (
	ErrNoHost    = errors.New("no host")
	ErrPlainHTTP = errors.New("plain http is allowed only to loopback addresses")
	ErrScheme    = errors.New("scheme is not https")
)

// Parse parses raw and applies the rule. An unparsable raw returns url.Parse's
// error and a nil URL; a parsed URL that breaks the rule is returned with
// ErrNoHost, ErrPlainHTTP or ErrScheme, so the caller can name its scheme or
// show it redacted.
func Parse(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Host == "" {
		return u, ErrNoHost
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if IsLoopback(u.Hostname()) {
			return u, nil
		}
		return u, ErrPlainHTTP
	}
	return u, ErrScheme
}

// IsLoopback reports whether host is a loopback name or address. Only
// "localhost" itself counts among names: resolving one would trust DNS
// with the decision.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
