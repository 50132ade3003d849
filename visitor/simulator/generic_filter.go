package simulator

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	filter "github.com/scim2/filter-parser/v2"
)

// Generic-v1 filters are SCIM 1.1's: eq co sw pr gt ge lt le, and, or,
// parentheses. The parser is SCIM 2.0's, a superset; what 1.1 lacks (ne,
// ew, not, [ ] value paths) is refused here rather than served, so a
// client that relies on it fails against the simulator as it would
// against Eptura.

// genericAttrKind is how an attribute's values compare.
type genericAttrKind int

const (
	genericText genericAttrKind = iota
	genericBool
	genericTime
)

// genericAttr is one filterable attribute: its values on a user and
// whether strings compare case-exactly (SCIM 1.1's default is not).
type genericAttr struct {
	values    func(*User) []string
	caseExact bool
	kind      genericAttrKind
}

// genericFilterAttrs are the attributes a generic-v1 filter may name, by
// lower-cased path.
func genericFilterAttrs() map[string]genericAttr {
	one := func(f func(*User) string) func(*User) []string {
		return func(u *User) []string { return []string{f(u)} }
	}
	return map[string]genericAttr{
		"id":              {values: one(func(u *User) string { return u.ID }), caseExact: true},
		"username":        {values: one(func(u *User) string { return u.UserName })},
		"emails":          {values: emailValues},
		"emails.value":    {values: emailValues},
		"name.givenname":  {values: one(func(u *User) string { return u.GivenName })},
		"name.familyname": {values: one(func(u *User) string { return u.FamilyName })},
		"title":           {values: one(func(u *User) string { return u.Title })},
		"active":          {values: one(func(u *User) string { return strconv.FormatBool(u.Active) }), kind: genericBool},
		"meta.lastmodified": {values: one(func(u *User) string {
			return u.LastModified.UTC().Format(time.RFC3339)
		}), kind: genericTime},
	}
}

// compileGenericFilter turns a SCIM 1.1 filter into a predicate. When the
// filter is exactly `userName eq "v"`, name is v and byName true, so the
// listing can answer from the index.
func compileGenericFilter(raw string) (match func(*User) bool, name string, byName bool, serr *scimError) {
	expr, err := filter.ParseFilter([]byte(raw))
	if err != nil {
		return nil, "", false, errf(http.StatusBadRequest, "invalidFilter", "filter %q does not parse: %v", raw, err)
	}
	match, serr = compileGenericExpr(expr, genericFilterAttrs())
	if serr != nil {
		return nil, "", false, serr
	}
	if e, ok := expr.(*filter.AttributeExpression); ok && e.Operator == filter.EQ &&
		e.AttributePath.SubAttribute == nil && strings.EqualFold(e.AttributePath.AttributeName, "userName") {
		if s, ok := e.CompareValue.(string); ok {
			if v, ok := unescape(s); ok {
				return match, v, true, nil
			}
		}
	}
	return match, "", false, nil
}

func compileGenericExpr(e filter.Expression, attrs map[string]genericAttr) (func(*User) bool, *scimError) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		l, serr := compileGenericExpr(e.Left, attrs)
		if serr != nil {
			return nil, serr
		}
		r, serr := compileGenericExpr(e.Right, attrs)
		if serr != nil {
			return nil, serr
		}
		if e.Operator == filter.OR {
			return func(u *User) bool { return l(u) || r(u) }, nil
		}
		return func(u *User) bool { return l(u) && r(u) }, nil
	case *filter.AttributeExpression:
		return compileGenericAttr(e, attrs)
	case *filter.NotExpression:
		return nil, errf(http.StatusBadRequest, "invalidFilter", "not(...) is not a SCIM 1.1 filter")
	case *filter.ValuePath:
		return nil, errf(http.StatusBadRequest, "invalidFilter", "%v: [ ] value paths are not SCIM 1.1 filters", e.AttributePath)
	}
	return nil, errf(http.StatusBadRequest, "invalidFilter", "filter %v is not supported", e)
}

func compileGenericAttr(e *filter.AttributeExpression, attrs map[string]genericAttr) (func(*User) bool, *scimError) {
	p := e.AttributePath
	if uri := p.URI(); uri != "" && !strings.EqualFold(uri, genericSchema) {
		return nil, errf(http.StatusBadRequest, "invalidFilter", "attribute %v is not filterable", p)
	}
	key := strings.ToLower(p.AttributeName)
	if p.SubAttribute != nil {
		key += "." + strings.ToLower(*p.SubAttribute)
	}
	g, ok := attrs[key]
	if !ok {
		return nil, errf(http.StatusBadRequest, "invalidFilter", "attribute %v is not filterable", p)
	}
	switch e.Operator {
	case filter.PR:
		return func(u *User) bool {
			for _, v := range g.values(u) {
				if v != "" {
					return true
				}
			}
			return false
		}, nil
	case filter.EQ, filter.CO, filter.SW, filter.GT, filter.GE, filter.LT, filter.LE:
	default:
		return nil, errf(http.StatusBadRequest, "invalidFilter", "operator %q is not SCIM 1.1 (eq co sw pr gt ge lt le)", e.Operator)
	}
	switch g.kind {
	case genericBool:
		b, ok := e.CompareValue.(bool)
		if !ok || e.Operator != filter.EQ {
			return nil, errf(http.StatusBadRequest, "invalidFilter", "%v supports only pr, eq true and eq false", p)
		}
		want := strconv.FormatBool(b)
		return func(u *User) bool { return g.values(u)[0] == want }, nil
	case genericTime:
		return compileGenericTime(e)
	}
	raw, ok := e.CompareValue.(string)
	want, valid := unescape(raw)
	if !ok || !valid {
		return nil, errf(http.StatusBadRequest, "invalidFilter", "%v compares with a string, not %v", p, e.CompareValue)
	}
	if !g.caseExact {
		want = strings.ToLower(want)
	}
	cmp := genericStringOp(e.Operator)
	return func(u *User) bool {
		for _, h := range g.values(u) {
			if !g.caseExact {
				h = strings.ToLower(h)
			}
			if cmp(h, want) {
				return true
			}
		}
		return false
	}, nil
}

// genericStringOp compares a stored string with a filter's; gt and the
// like order strings lexically, as SCIM 1.1 says.
func genericStringOp(op filter.CompareOperator) func(have, want string) bool {
	switch op {
	case filter.CO:
		return strings.Contains
	case filter.SW:
		return strings.HasPrefix
	case filter.GT:
		return func(h, w string) bool { return h > w }
	case filter.GE:
		return func(h, w string) bool { return h >= w }
	case filter.LT:
		return func(h, w string) bool { return h < w }
	case filter.LE:
		return func(h, w string) bool { return h <= w }
	}
	return func(h, w string) bool { return h == w }
}

// compileGenericTime compares meta.lastModified as a time, at the
// second, the precision the resource shows.
func compileGenericTime(e *filter.AttributeExpression) (func(*User) bool, *scimError) {
	p := e.AttributePath
	raw, _ := e.CompareValue.(string)
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "invalidFilter", "%v compares with an RFC 3339 time, not %v", p, e.CompareValue)
	}
	var cmp func(c int) bool
	switch e.Operator {
	case filter.EQ:
		cmp = func(c int) bool { return c == 0 }
	case filter.GT:
		cmp = func(c int) bool { return c > 0 }
	case filter.GE:
		cmp = func(c int) bool { return c >= 0 }
	case filter.LT:
		cmp = func(c int) bool { return c < 0 }
	case filter.LE:
		cmp = func(c int) bool { return c <= 0 }
	default:
		return nil, errf(http.StatusBadRequest, "invalidFilter", "%v supports pr eq gt ge lt le, not %s", p, e.Operator)
	}
	t = t.Truncate(time.Second)
	return func(u *User) bool { return cmp(u.LastModified.Truncate(time.Second).Compare(t)) }, nil
}
