package urlcheck

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		raw     string
		want    error // nil: accepted
		noURL   bool  // unparsable: no URL comes back
		comment string
	}{
		{raw: "https://visitor.example.com/scim/v2"},
		{raw: "HTTPS://visitor.example.com/scim/v2", comment: "the scheme is case-insensitive"},
		{raw: "http://127.0.0.1:8080/scim"},
		{raw: "http://[::1]:8080/scim"},
		{raw: "http://[::ffff:127.0.0.1]:8080/scim", comment: "IPv4-mapped loopback"},
		{raw: "http://LocalHost/scim"},
		{raw: "http://visitor.example.com/scim", want: ErrPlainHTTP},
		{raw: "http://127.0.0.1.example.com/", want: ErrPlainHTTP, comment: "a name that merely starts like a loopback address"},
		{raw: "http://localhost.example.com/", want: ErrPlainHTTP},
		{raw: "ftp://visitor.example.com/scim", want: ErrScheme},
		{raw: "/scim/v2", want: ErrNoHost},
		{raw: "", want: ErrNoHost},
		{raw: "::", noURL: true},
	} {
		u, err := Parse(c.raw)
		if c.noURL {
			if err == nil || u != nil {
				t.Errorf("%q: got %v, %v; want a parse error and no URL", c.raw, u, err)
			}
			continue
		}
		if !errors.Is(err, c.want) || (c.want != nil && err == nil) {
			t.Errorf("%q (%s): error %v, want %v", c.raw, c.comment, err, c.want)
		}
		if u == nil {
			t.Errorf("%q: no URL returned with %v", c.raw, err)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"10.0.0.1": false, "example.com": false, "": false, "localhost.": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
