package visitor

import (
	"fmt"
	"slices"
	"strings"
)

// filterOperatorsV1 are SCIM 1.1's comparison operators (API 1.1
// §3.2.2.1); ne, ew, not(...) and value paths came with SCIM 2.0 and a
// generic-v1 server refuses them.
var filterOperatorsV1 = []string{"eq", "co", "sw", "pr", "gt", "ge", "lt", "le"}

// BuildFilterV1 is BuildFilter for a SCIM 1.1 server: `attr op "value"`,
// or `attr pr` (which takes no value). An operator SCIM 1.1 lacks is
// refused here, so the request is never sent.
func BuildFilterV1(attr, op, value string) (string, error) {
	if !attrRe.MatchString(attr) {
		return "", fmt.Errorf("filter: invalid attribute %q", attr)
	}
	lop := strings.ToLower(op)
	if !slices.Contains(filterOperatorsV1, lop) {
		return "", fmt.Errorf("filter: operator %q: %w (SCIM 1.1 allows %s)", op, ErrFilterNotSupported, strings.Join(filterOperatorsV1, " "))
	}
	if lop == "pr" {
		return attr + " pr", nil
	}
	return attr + " " + lop + " " + quote(value), nil
}

// checkFilterV1 refuses a filter that uses anything SCIM 1.1 lacks: an
// operator outside filterOperatorsV1, not(...), or a [...] value path.
// It reads the filter as comparisons (attr op value, or attr pr) joined
// by and/or, in parentheses or not; quoted values are skipped whole.
func checkFilterV1(filter string) error {
	toks, err := filterTokens(filter)
	if err != nil {
		return fmt.Errorf("filter %q: %w", filter, err)
	}
	refuse := func(what string) error {
		return fmt.Errorf("filter %q: %s: %w (SCIM 1.1 allows %s, and/or, parentheses)", filter, what, ErrFilterNotSupported, strings.Join(filterOperatorsV1, " "))
	}
	expect := "attr" // attr, op, value, join
	for _, t := range toks {
		lt := strings.ToLower(t)
		switch expect {
		case "attr":
			switch {
			case t == "(":
				continue
			case lt == "not":
				return refuse("not(...)")
			case strings.ContainsAny(t, "[]"):
				return refuse(fmt.Sprintf("value path %q", t))
			case !attrRe.MatchString(t):
				return fmt.Errorf("filter %q: invalid attribute %q", filter, t)
			}
			expect = "op"
		case "op":
			if !slices.Contains(filterOperatorsV1, lt) {
				return refuse(fmt.Sprintf("operator %q", t))
			}
			expect = "value"
			if lt == "pr" {
				expect = "join"
			}
		case "value":
			if t == "(" || t == ")" {
				return fmt.Errorf("filter %q: missing value", filter)
			}
			expect = "join"
		case "join":
			switch {
			case t == ")":
			case lt == "and" || lt == "or":
				expect = "attr"
			default:
				return fmt.Errorf("filter %q: unexpected %q", filter, t)
			}
		}
	}
	if expect != "join" {
		return fmt.Errorf("filter %q: incomplete", filter)
	}
	return nil
}

// filterTokens splits a filter into parentheses, quoted strings (kept
// whole, quotes included) and words.
func filterTokens(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			out = append(out, s[i:i+1])
			i++
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string")
			}
			out = append(out, s[i:j+1])
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t()\"", rune(s[j])) {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out, nil
}
