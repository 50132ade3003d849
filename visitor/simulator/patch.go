package simulator

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	filter "github.com/scim2/filter-parser/v2"
)

type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

type patchBody struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

// patcher applies PatchOp operations to a copy of a user. Multi-valued
// attributes an operation touches are held as generic maps while patching
// so value filters (emails[type eq "work"].value) work on them, and are
// decoded back, with type checks, at the end. Untouched ones are left as
// they are: turning 1 000 locations into maps and back on every PATCH,
// under the server's lock, would make a bench's day of updates measure the
// simulator rather than the client.
type patcher struct {
	s       *Server
	u       *User
	multi   map[string][]map[string]any // "emails", "phonenumbers", "locations"
	touched map[string]bool
}

// readPatch reads a PatchOp request body with at least one operation.
func readPatch(r *http.Request) (patchBody, *scimError) {
	var body patchBody
	b, serr := readBody(r)
	if serr != nil {
		return body, serr
	}
	if serr := decodeStrict(b, &body); serr != nil {
		return body, serr
	}
	if !containsFold(body.Schemas, patchOpSchema) {
		return body, errf(http.StatusBadRequest, "invalidSyntax", "schemas must be [%s]", patchOpSchema)
	}
	if len(body.Operations) == 0 {
		return body, errf(http.StatusBadRequest, "invalidSyntax", "Operations is empty")
	}
	return body, nil
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request) {
	body, serr := readPatch(r)
	if serr != nil {
		writeError(w, serr)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, serr := s.storedUser(r.PathValue("id"))
	if serr != nil {
		writeError(w, serr)
		return
	}
	u := old.clone()
	p := &patcher{s: s, u: &u, multi: map[string][]map[string]any{}, touched: map[string]bool{}}
	for i, op := range body.Operations {
		if serr := p.do(op); serr != nil {
			serr.Detail = "operation " + strconv.Itoa(i+1) + ": " + serr.Detail
			writeError(w, serr)
			return
		}
	}
	if serr := p.finish(); serr != nil {
		writeError(w, serr)
		return
	}
	s.commitUser(w, r, old, &u)
}

// multiList is the named attribute as maps, made from the user the first
// time an operation needs it.
func (p *patcher) multiList(name string) []map[string]any {
	if l, ok := p.multi[name]; ok {
		return l
	}
	var l []map[string]any
	switch name {
	case "emails":
		l = toMaps(p.u.Emails)
	case "phonenumbers":
		l = toMaps(p.u.PhoneNumbers)
	case "locations":
		l = toMaps(p.u.Locations)
	}
	p.multi[name] = l
	return l
}

func toMaps[T any](in []T) []map[string]any {
	out := []map[string]any{}
	b, _ := json.Marshal(in)
	_ = json.Unmarshal(b, &out)
	return out
}

func (p *patcher) do(op patchOp) *scimError {
	kind := strings.ToLower(op.Op)
	switch kind {
	case "add", "replace", "remove":
	default:
		return errf(http.StatusBadRequest, "invalidSyntax", "op %q is not add, replace or remove", op.Op)
	}
	if op.Path == "" {
		if kind == "remove" {
			return errf(http.StatusBadRequest, "noTarget", "remove needs a path")
		}
		return p.doObject(kind, op.Value)
	}
	return p.doPath(kind, op.Path, op.Value)
}

// doObject handles add/replace without a path: every key of the value is a
// path of its own.
func (p *patcher) doObject(kind string, val json.RawMessage) *scimError {
	var obj map[string]json.RawMessage
	if serr := decodeStrict(val, &obj); serr != nil || obj == nil {
		return invalidValue("a %s without path needs an object value", kind)
	}
	for k, v := range obj {
		switch {
		case strings.EqualFold(k, p.s.opts.UserSchema):
			var ext map[string]json.RawMessage
			if serr := decodeStrict(v, &ext); serr != nil {
				return serr
			}
			for ek, ev := range ext {
				if serr := p.doPath(kind, p.s.opts.UserSchema+":"+ek, ev); serr != nil {
					return serr
				}
			}
		case strings.EqualFold(k, "schemas"), strings.EqualFold(k, "meta"):
		case strings.EqualFold(k, "id"):
			var id string
			if serr := decodeStrict(v, &id); serr != nil || id != p.u.ID {
				return errf(http.StatusBadRequest, "mutability", "id cannot be changed")
			}
		default:
			if serr := p.doPath(kind, k, v); serr != nil {
				return serr
			}
		}
	}
	return nil
}

// target is a resolved PATCH path.
type target struct {
	ext   bool              // in the Visitor extension
	attr  string            // lower-case attribute name
	sub   string            // lower-case sub-attribute, or ""
	where filter.Expression // value filter on a multi-valued attribute
}

func (p *patcher) resolve(path string) (target, *scimError) {
	var t target
	lower := strings.ToLower(path)
	rest := path
	switch {
	case strings.HasPrefix(lower, strings.ToLower(p.s.opts.UserSchema)+":"):
		t.ext = true
		rest = path[len(p.s.opts.UserSchema)+1:]
	case strings.HasPrefix(lower, strings.ToLower(coreUserSchema)+":"):
		rest = path[len(coreUserSchema)+1:]
	case strings.HasPrefix(lower, "urn:"):
		return t, errf(http.StatusBadRequest, "invalidPath", "path %q names an unknown schema", path)
	}
	pp, err := parsePath(rest)
	if err != nil {
		return t, errf(http.StatusBadRequest, "invalidPath", "path %q does not parse: %v", path, err)
	}
	if pp.AttributePath.URIPrefix != nil {
		return t, errf(http.StatusBadRequest, "invalidPath", "path %q names an unknown schema", path)
	}
	t.attr = strings.ToLower(pp.AttributePath.AttributeName)
	t.where = pp.ValueExpression
	switch {
	case pp.AttributePath.SubAttribute != nil && pp.SubAttribute != nil:
		return t, errf(http.StatusBadRequest, "invalidPath", "path %q is too deep", path)
	case pp.AttributePath.SubAttribute != nil:
		t.sub = strings.ToLower(*pp.AttributePath.SubAttribute)
	case pp.SubAttribute != nil:
		t.sub = strings.ToLower(*pp.SubAttribute)
	}
	return t, nil
}

func (p *patcher) doPath(kind, path string, val json.RawMessage) *scimError {
	t, serr := p.resolve(path)
	if serr != nil {
		return serr
	}
	bad := errf(http.StatusBadRequest, "invalidPath", "path %q is not supported", path)
	if t.ext {
		switch {
		case t.attr == "defaultlocation" && t.sub == "" && t.where == nil:
			return p.setString(kind, path, val, &p.u.DefaultLocation)
		case t.attr == "locations":
			return p.doMulti(kind, path, "locations", t, val)
		case t.attr == "sendinvitation" && t.sub == "" && t.where == nil:
			return nil // write-only, honoured on POST only
		}
		return bad
	}
	if t.where == nil {
		switch t.attr + "." + t.sub {
		case "username.":
			p.touched["username"] = true
			return p.setString(kind, path, val, &p.u.UserName)
		case "externalid.":
			return p.setString(kind, path, val, &p.u.ExternalID)
		case "name.givenname":
			return p.setString(kind, path, val, &p.u.GivenName)
		case "name.familyname":
			return p.setString(kind, path, val, &p.u.FamilyName)
		case "name.":
			return p.setName(kind, val)
		case "preferredlanguage.":
			return p.setString(kind, path, val, &p.u.PreferredLanguage)
		case "title.":
			return p.setString(kind, path, val, &p.u.Title)
		case "active.":
			if kind == "remove" {
				return invalidValue("active cannot be removed")
			}
			var b bool
			if serr := decodeStrict(val, &b); serr != nil {
				return invalidValue("%s: value must be true or false", path)
			}
			p.u.Active = b
			return nil
		}
	}
	switch t.attr {
	case "emails", "phonenumbers":
		return p.doMulti(kind, path, t.attr, t, val)
	}
	return bad
}

func (p *patcher) setString(kind, path string, val json.RawMessage, dst *string) *scimError {
	if kind == "remove" {
		*dst = ""
		return nil
	}
	var v string
	if serr := decodeStrict(val, &v); serr != nil {
		return invalidValue("%s: value must be a string", path)
	}
	*dst = v
	return nil
}

func (p *patcher) setName(kind string, val json.RawMessage) *scimError {
	if kind == "remove" {
		p.u.GivenName, p.u.FamilyName = "", ""
		return nil
	}
	var n map[string]json.RawMessage
	if serr := decodeStrict(val, &n); serr != nil || n == nil {
		return invalidValue("name: value must be an object")
	}
	for k, v := range n {
		var dst *string
		switch strings.ToLower(k) {
		case "givenname":
			dst = &p.u.GivenName
		case "familyname":
			dst = &p.u.FamilyName
		case "formatted":
			continue
		default:
			return errf(http.StatusBadRequest, "invalidPath", "name.%s is not supported", k)
		}
		if serr := p.setString("replace", "name."+k, v, dst); serr != nil {
			return serr
		}
	}
	return nil
}

// finish decodes the multi-valued attributes back and keeps userName and
// the primary work email in step: changing one changes the other (field
// facts), changing both to different values is an error caught later.
func (p *patcher) finish() *scimError {
	u := p.u
	if l, ok := p.multi["emails"]; ok {
		if serr := fromMaps(l, &u.Emails, "emails"); serr != nil {
			return serr
		}
	}
	if l, ok := p.multi["phonenumbers"]; ok {
		var phones []Phone
		if serr := fromMaps(l, &phones, "phoneNumbers"); serr != nil {
			return serr
		}
		u.PhoneNumbers = keepE164(phones)
	}
	if l, ok := p.multi["locations"]; ok {
		if serr := fromMaps(l, &u.Locations, "locations"); serr != nil {
			return serr
		}
	}
	i, ok := u.primaryWorkEmail()
	switch {
	case p.touched["username"] && !p.touched["emails"] && ok:
		u.Emails[i].Value = u.UserName
	case p.touched["emails"] && !p.touched["username"] && ok:
		u.UserName = u.Emails[i].Value
	}
	return nil
}

func fromMaps[T any](in []map[string]any, dst *[]T, attr string) *scimError {
	b, _ := json.Marshal(in)
	var out []T
	if err := json.Unmarshal(b, &out); err != nil {
		return invalidValue("%s: %v", attr, err)
	}
	*dst = out
	return nil
}

// parsedPaths keeps the parse of the few distinct paths a client sends:
// the filter grammar's parser cost a third of a PATCH's CPU, under the
// server's lock (a day's updates at 1 000 locations). Bounded, so a
// client sending ever new paths only misses the cache.
var parsedPaths = struct {
	sync.Mutex
	m map[string]filter.Path
}{m: map[string]filter.Path{}}

const maxParsedPaths = 256

func parsePath(rest string) (filter.Path, error) {
	parsedPaths.Lock()
	pp, ok := parsedPaths.m[rest]
	parsedPaths.Unlock()
	if ok {
		return pp, nil
	}
	pp, err := filter.ParsePath([]byte(rest))
	if err != nil {
		return pp, err
	}
	parsedPaths.Lock()
	if len(parsedPaths.m) < maxParsedPaths {
		parsedPaths.m[rest] = pp
	}
	parsedPaths.Unlock()
	return pp, nil
}
