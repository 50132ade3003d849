package simulator

import (
	"encoding/json"
	"net/http"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// elemAttrs are the sub-attributes a value filter may test.
var elemAttrs = map[string][]string{
	"emails":       {"value", "type", "primary"},
	"phonenumbers": {"value", "type"},
	"locations":    {"value", "role"},
}

func elemFilterAttrs(name string) map[string]attrGetter[map[string]any] {
	out := map[string]attrGetter[map[string]any]{}
	for _, a := range elemAttrs[name] {
		key := a
		g := attrGetter[map[string]any]{values: func(m map[string]any) []string {
			for k, v := range m {
				if strings.EqualFold(k, key) {
					if b, ok := v.(bool); ok {
						if b {
							return []string{"true"}
						}
						return []string{"false"}
					}
					s, _ := v.(string)
					return []string{s}
				}
			}
			if key == "primary" {
				return []string{"false"}
			}
			return []string{""}
		}}
		g.boolean = key == "primary"
		g.caseExact = name == "locations"
		out[key] = g
	}
	return out
}

func (p *patcher) doMulti(kind, path, name string, t target, val json.RawMessage) *scimError {
	p.touched[name] = true
	list := p.multiList(name)
	if t.where == nil {
		if t.sub != "" {
			return errf(http.StatusBadRequest, "invalidPath", "path %q needs a value filter", path)
		}
		if kind == "remove" {
			p.multi[name] = nil
			return nil
		}
		var vals []map[string]any
		if serr := decodeStrict(val, &vals); serr != nil {
			var one map[string]any
			if decodeStrict(val, &one) != nil || one == nil {
				return invalidValue("%s: value must be an array of objects", path)
			}
			vals = []map[string]any{one}
		}
		if kind == "replace" {
			p.multi[name] = vals
			return nil
		}
		if name == "locations" {
			p.multi[name] = upsertByValue(list, vals)
			return nil
		}
		p.multi[name] = append(list, vals...)
		return nil
	}
	match, serr := compileExpr(t.where, elemFilterAttrs(name), "")
	if serr != nil {
		return errf(http.StatusBadRequest, "invalidPath", "path %q: %s", path, serr.Detail)
	}
	var hits []int
	for i, m := range list {
		if match(m) {
			hits = append(hits, i)
		}
	}
	if kind == "remove" {
		if t.sub != "" {
			return errf(http.StatusBadRequest, "invalidPath", "remove of %q is not supported; remove the whole entry", path)
		}
		var keep []map[string]any
		for i, m := range list {
			if !contains(hits, i) {
				keep = append(keep, m)
			}
		}
		p.multi[name] = keep
		return nil
	}
	var v any
	if serr := decodeStrict(val, &v); serr != nil {
		return serr
	}
	if len(hits) == 0 {
		if kind == "replace" {
			return errf(http.StatusBadRequest, "noTarget", "path %q matches nothing", path)
		}
		// add through a filter creates the entry the filter describes.
		m := eqFields(t.where)
		if m == nil {
			return errf(http.StatusBadRequest, "noTarget", "path %q matches nothing and does not describe a new entry", path)
		}
		hits = []int{len(list)}
		list = append(list, m)
	}
	for _, i := range hits {
		if t.sub == "" {
			obj, ok := v.(map[string]any)
			if !ok {
				return invalidValue("%s: value must be an object", path)
			}
			list[i] = obj
			continue
		}
		list[i][t.sub] = v
	}
	p.multi[name] = list
	return nil
}

func contains(a []int, x int) bool {
	for _, v := range a {
		if v == x {
			return true
		}
	}
	return false
}

// eqFields reads `a eq "x" and b eq "y"` as the fields of a new entry.
func eqFields(e filter.Expression) map[string]any {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		if e.Operator != filter.EQ || e.AttributePath.SubAttribute != nil {
			return nil
		}
		return map[string]any{e.AttributePath.AttributeName: e.CompareValue}
	case *filter.LogicalExpression:
		if e.Operator != filter.AND {
			return nil
		}
		l, r := eqFields(e.Left), eqFields(e.Right)
		if l == nil || r == nil {
			return nil
		}
		for k, v := range r {
			l[k] = v
		}
		return l
	}
	return nil
}

func upsertByValue(list, vals []map[string]any) []map[string]any {
	for _, v := range vals {
		replaced := false
		for i, m := range list {
			a, aok := m["value"].(string)
			b, bok := v["value"].(string)
			if aok && bok && a == b {
				list[i] = v
				replaced = true
			}
		}
		if !replaced {
			list = append(list, v)
		}
	}
	return list
}
