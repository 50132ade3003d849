package simulator

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// page reads startIndex and count (RFC 7644 §3.4.2.4): startIndex below 1
// is 1, count is capped at MaxResults and below 0 is 0.
func (s *Server) page(r *http.Request) (start, count int, serr *scimError) {
	q := r.URL.Query()
	start, count = 1, s.opts.MaxResults
	if v := q.Get("startIndex"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, invalidValue("startIndex %q is not an integer", v)
		}
		start = max(n, 1)
	}
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, invalidValue("count %q is not an integer", v)
		}
		count = min(max(n, 0), s.opts.MaxResults)
	}
	return start, count, nil
}

func listResponse(total, start int, resources []any) map[string]any {
	return map[string]any{
		"schemas":      []string{listResponseSchema},
		"totalResults": total,
		"itemsPerPage": len(resources),
		"startIndex":   start,
		"Resources":    resources,
	}
}

func window(total, start, count int) (lo, hi int) {
	lo = min(start-1, total)
	hi = min(lo+count, total)
	return lo, hi
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	start, count, serr := s.page(r)
	if serr != nil {
		writeError(w, serr)
		return
	}
	var match func(*User) bool
	f := r.URL.Query().Get("filter")
	ids, indexed := externalIDSet(f)
	switch {
	case indexed: // answered from the index below
	case f != "":
		m, serr := s.compileUserFilter(f)
		if serr != nil {
			writeError(w, serr)
			return
		}
		match = m
	default:
		// Without a filter only active users created through SCIM are
		// listed (see docs/visitor-scim.md).
		match = func(u *User) bool { return u.Active && u.ViaSCIM }
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var lookup func() []*User
	if indexed {
		lookup = func() []*User { return s.byExternalID(ids) }
	}
	hits := s.hits(f, lookup, match)
	lo, hi := window(len(hits), start, count)
	writeRaw(w, http.StatusOK, s.appendUserList(nil, len(hits), start, hits[lo:hi], baseURL(r)))
}

// attrGetter returns the values an attribute has on a record and whether
// comparisons are case-exact.
type attrGetter[T any] struct {
	values    func(T) []string
	caseExact bool
	boolean   bool
}

func (s *Server) compileUserFilter(raw string) (func(*User) bool, *scimError) {
	return compileFilter(raw, userFilterAttrs(), coreUserSchema)
}

// userFilterAttrs are the user attributes filters may name.
func userFilterAttrs() map[string]attrGetter[*User] {
	return map[string]attrGetter[*User]{
		"username":     {values: func(u *User) []string { return []string{u.UserName} }},
		"externalid":   {values: func(u *User) []string { return []string{u.ExternalID} }, caseExact: true},
		"emails.value": {values: func(u *User) []string { return emailValues(u) }},
		"active":       {values: func(u *User) []string { return []string{strconv.FormatBool(u.Active)} }, boolean: true},
	}
}

func emailValues(u *User) []string {
	out := make([]string, len(u.Emails))
	for i, e := range u.Emails {
		out[i] = e.Value
	}
	return out
}

// compileFilter turns a SCIM filter into a predicate over the attributes
// given. Only eq co sw ew ne joined by and are supported, as on Eptura's
// servers (see docs/visitor-scim.md); anything else is invalidFilter.
func compileFilter[T any](raw string, attrs map[string]attrGetter[T], schema string) (func(T) bool, *scimError) {
	expr, err := filter.ParseFilter([]byte(raw))
	if err != nil {
		return nil, errf(http.StatusBadRequest, "invalidFilter", "filter %q does not parse: %v", raw, err)
	}
	return compileExpr(expr, attrs, schema)
}

func compileExpr[T any](e filter.Expression, attrs map[string]attrGetter[T], schema string) (func(T) bool, *scimError) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		if e.Operator != filter.AND && e.Operator != filter.OR {
			return nil, errf(http.StatusBadRequest, "invalidFilter", "operator %q is not supported, only and, or", e.Operator)
		}
		if set, getter, ok := eqSet(e, attrs); ok {
			// A long "x eq a or x eq b or …" (the client's batched re-read)
			// is one set lookup per record, not one comparison per clause.
			return func(v T) bool {
				for _, val := range getter.values(v) {
					if !getter.caseExact {
						val = strings.ToLower(val)
					}
					if set[val] {
						return true
					}
				}
				return false
			}, nil
		}
		l, serr := compileExpr(e.Left, attrs, schema)
		if serr != nil {
			return nil, serr
		}
		r, serr := compileExpr(e.Right, attrs, schema)
		if serr != nil {
			return nil, serr
		}
		if e.Operator == filter.OR {
			return func(v T) bool { return l(v) || r(v) }, nil
		}
		return func(v T) bool { return l(v) && r(v) }, nil
	case *filter.AttributeExpression:
		return compileAttr(e, attrs, schema)
	default:
		return nil, errf(http.StatusBadRequest, "invalidFilter", "filter %v is not supported (no not, no [ ] value paths)", e)
	}
}

func compileAttr[T any](e *filter.AttributeExpression, attrs map[string]attrGetter[T], schema string) (func(T) bool, *scimError) {
	p := e.AttributePath
	if uri := p.URI(); uri != "" && !strings.EqualFold(uri, schema) {
		return nil, errf(http.StatusBadRequest, "invalidFilter", "attribute %v is not supported", p)
	}
	name := strings.ToLower(p.AttributeName)
	if p.SubAttribute != nil {
		name += "." + strings.ToLower(*p.SubAttribute)
	}
	g, ok := attrs[name]
	if !ok {
		return nil, errf(http.StatusBadRequest, "invalidFilter", "attribute %v is not supported", p)
	}
	if g.boolean {
		b, ok := e.CompareValue.(bool)
		if !ok || e.Operator != filter.EQ {
			return nil, errf(http.StatusBadRequest, "invalidFilter", "%v supports only eq true or eq false", p)
		}
		want := strconv.FormatBool(b)
		return func(v T) bool { return g.values(v)[0] == want }, nil
	}
	raw, ok := e.CompareValue.(string)
	if !ok {
		return nil, errf(http.StatusBadRequest, "invalidFilter", "%v compares with a string, not %v", p, e.CompareValue)
	}
	want, ok := unescape(raw)
	if !ok {
		return nil, errf(http.StatusBadRequest, "invalidFilter", "%v: %q is not a valid string value", p, raw)
	}
	var cmp func(have, want string) bool
	switch e.Operator {
	case filter.EQ, filter.NE:
		cmp = func(h, w string) bool { return h == w }
	case filter.CO:
		cmp = strings.Contains
	case filter.SW:
		cmp = strings.HasPrefix
	case filter.EW:
		cmp = strings.HasSuffix
	default:
		return nil, errf(http.StatusBadRequest, "invalidFilter", "operator %q is not supported (eq co sw ew ne)", e.Operator)
	}
	if !g.caseExact {
		want = strings.ToLower(want)
	}
	negate := e.Operator == filter.NE
	return func(v T) bool {
		hit := false
		for _, h := range g.values(v) {
			if !g.caseExact {
				h = strings.ToLower(h)
			}
			if cmp(h, want) {
				hit = true
				break
			}
		}
		return hit != negate
	}, nil
}

// eqSet recognises an or-tree of eq comparisons on one string attribute
// and returns the compared values as a set.
func eqSet[T any](e *filter.LogicalExpression, attrs map[string]attrGetter[T]) (map[string]bool, attrGetter[T], bool) {
	set := map[string]bool{}
	var name string
	var walk func(x filter.Expression) bool
	walk = func(x filter.Expression) bool {
		switch x := x.(type) {
		case *filter.LogicalExpression:
			return x.Operator == filter.OR && walk(x.Left) && walk(x.Right)
		case *filter.AttributeExpression:
			raw, isString := x.CompareValue.(string)
			v, valid := unescape(raw)
			n := strings.ToLower(x.AttributePath.String())
			if x.Operator != filter.EQ || !isString || !valid || (name != "" && n != name) {
				return false
			}
			name = n
			set[v] = true
			return true
		}
		return false
	}
	if !walk(e) {
		return nil, attrGetter[T]{}, false
	}
	g, ok := attrs[name]
	if !ok || g.boolean {
		return nil, attrGetter[T]{}, false
	}
	if !g.caseExact {
		lower := make(map[string]bool, len(set))
		for v := range set {
			lower[strings.ToLower(v)] = true
		}
		set = lower
	}
	return set, g, true
}

// unescape decodes a filter's compValue: the parser hands it over as the
// raw text between the quotes, and RFC 7644 §3.4.2.2 makes it a JSON
// string, so `\"` is a quote and `\\` a backslash.
func unescape(raw string) (string, bool) {
	if !strings.ContainsRune(raw, '\\') {
		return raw, true
	}
	var v string
	if err := json.Unmarshal([]byte(`"`+raw+`"`), &v); err != nil {
		return "", false
	}
	return v, true
}
