package visitor

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// attrRe is RFC 7644's attrPath: an optional schema URN, an attribute name
// and at most one sub-attribute. Anything else could smuggle filter syntax
// through the attribute position.
var attrRe = regexp.MustCompile(`^(urn:[A-Za-z0-9.:_-]+:)?[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)?$`)

// filterOperators are the comparison operators Eptura's SCIM servers
// accept (see docs/visitor-scim.md); anything else is refused before it
// is sent.
var filterOperators = []string{"eq", "co", "sw", "ew", "ne"}

// BuildFilter returns `attr op "value"` with the value written as a JSON
// string, which is what RFC 7644 §3.4.2.2 says a filter's compValue is.
// It fails on an attribute or operator that is not allowed.
func BuildFilter(attr, op, value string) (string, error) {
	if !attrRe.MatchString(attr) {
		return "", fmt.Errorf("filter: invalid attribute %q", attr)
	}
	lop := strings.ToLower(op)
	if !slices.Contains(filterOperators, lop) {
		return "", fmt.Errorf("filter: invalid operator %q (allowed: eq co sw ew ne)", op)
	}
	return attr + " " + lop + " " + quote(value), nil
}

// Filter is BuildFilter for attributes and operators fixed in code; like
// regexp.MustCompile it panics on a programming error. Values are always
// safe: they are escaped, never validated away.
func Filter(attr, op, value string) string {
	f, err := BuildFilter(attr, op, value)
	if err != nil {
		panic(err)
	}
	return f
}

// quote writes s as a JSON string. encoding/json is not used because it
// writes lower-case \u escapes, which the SCIM filter grammar (and the
// parser servers such as elimity use) does not accept.
func quote(s string) string {
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
