package visitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Schema URNs and endpoint names from docs/visitor-scim.md. The Visitor
// ones are the project's guess at a non-public format, hence configurable.
const (
	CoreUserSchema           = "urn:ietf:params:scim:schemas:core:2.0:User"
	PatchOpSchema            = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	ListResponseSchema       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	DefaultUserSchema        = "urn:ietf:params:scim:schemas:extension:eptura:visitor:2.0:User"
	DefaultLocationSchema    = "urn:ietf:params:scim:schemas:extension:eptura:visitor:2.0:Location"
	DefaultLocationsEndpoint = "Locations"
)

type wireName struct {
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
}

type wireMulti struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

type wireAccess struct {
	Value string `json:"value"`
	Role  string `json:"role,omitempty"`
}

type wireUserExt struct {
	DefaultLocation string       `json:"defaultLocation,omitempty"`
	Locations       []wireAccess `json:"locations,omitempty"`
	SendInvitation  bool         `json:"sendInvitation,omitempty"`
}

type wireMeta struct {
	LastModified string `json:"lastModified,omitempty"`
}

// wireUser is the core part of a SCIM user; the Visitor extension sits
// under a configurable key and is handled beside it.
type wireUser struct {
	Schemas           []string    `json:"schemas,omitempty"`
	ID                string      `json:"id,omitempty"`
	ExternalID        string      `json:"externalId,omitempty"`
	UserName          string      `json:"userName"`
	Name              *wireName   `json:"name,omitempty"`
	Emails            []wireMulti `json:"emails,omitempty"`
	PhoneNumbers      []wireMulti `json:"phoneNumbers,omitempty"`
	PreferredLanguage string      `json:"preferredLanguage,omitempty"`
	Active            *bool       `json:"active,omitempty"`
	Meta              *wireMeta   `json:"meta,omitempty"`
}

// checkIdentity enforces Visitor's rule that userName is the primary work
// email, filling one from the other, before the server has to refuse it.
func checkIdentity(u User) (User, error) {
	switch {
	case u.UserName == "" && u.Email == "":
		return u, fmt.Errorf("user %q: userName and email are empty", u.ExternalID)
	case u.UserName == "":
		u.UserName = u.Email
	case u.Email == "":
		u.Email = u.UserName
	case !strings.EqualFold(u.UserName, u.Email):
		return u, fmt.Errorf("user %q: userName %q must equal the work email %q", u.ExternalID, u.UserName, u.Email)
	}
	return u, nil
}

func emailsOf(u User) []wireMulti {
	return []wireMulti{{Value: u.Email, Type: "work", Primary: true}}
}

// phonesOf gives the whole phoneNumbers list; it is replaced as one value
// because the contract patches it by its top-level path.
func phonesOf(u User) []wireMulti {
	out := []wireMulti{}
	if u.Phone != "" {
		out = append(out, wireMulti{Value: u.Phone, Type: "work"})
	}
	if u.Mobile != "" {
		out = append(out, wireMulti{Value: u.Mobile, Type: "mobile"})
	}
	return out
}

// locationList is a user's location list as the Visitor extension's
// "locations" value. It writes itself (appendJSON) in the bytes
// json.Marshal would give a []wireAccess, without reflecting on or copying
// 1 000 entries per user.
type locationList []Access

func (l locationList) appendJSON(dst []byte) []byte {
	dst = append(dst, '[')
	for i, a := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"value":`...)
		dst = appendString(dst, a.LocationID)
		if a.Role != "" {
			dst = append(dst, `,"role":`...)
			dst = appendString(dst, string(a.Role))
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// MarshalJSON serves anything that marshals a patch through encoding/json.
func (l locationList) MarshalJSON() ([]byte, error) { return l.appendJSON(nil), nil }

// appender is a value that writes its own JSON, byte for byte what
// encoding/json would write, and much faster for location lists.
type appender interface{ appendJSON([]byte) []byte }

// createUser is the core of a POST /Users body. Its members are declared
// in sorted order, nested objects' too, so the body is byte for byte what
// json.Marshal of the equivalent map would write: the golden request
// bodies under testdata/ and servers that log bodies see one stable form.
type createUser struct {
	Active            bool          `json:"active"`
	Emails            []sortedMulti `json:"emails,omitempty"`
	ExternalID        string        `json:"externalId,omitempty"`
	Name              sortedName    `json:"name"`
	PhoneNumbers      []sortedMulti `json:"phoneNumbers,omitempty"`
	PreferredLanguage string        `json:"preferredLanguage,omitempty"`
	Schemas           []string      `json:"schemas,omitempty"`
	UserName          string        `json:"userName"`
}

type sortedName struct {
	FamilyName string `json:"familyName,omitempty"`
	GivenName  string `json:"givenName,omitempty"`
}

type sortedMulti struct {
	Primary bool   `json:"primary,omitempty"`
	Type    string `json:"type,omitempty"`
	Value   string `json:"value"`
}

func sorted(ms []wireMulti) []sortedMulti {
	out := make([]sortedMulti, len(ms))
	for i, m := range ms {
		out[i] = sortedMulti{Primary: m.Primary, Type: m.Type, Value: m.Value}
	}
	return out
}

// encodeUser writes the body of a create: encoding/json for the small
// core, the extension (wireUserExt's members, in its order) written
// directly and spliced in where a map would have put its key.
func (c *Client) encodeUser(u User) json.RawMessage {
	core := appendJSON(nil, createUser{
		Active:            u.Active,
		Emails:            sorted(emailsOf(u)),
		ExternalID:        u.ExternalID,
		Name:              sortedName{FamilyName: u.FamilyName, GivenName: u.GivenName},
		PhoneNumbers:      sorted(phonesOf(u)),
		PreferredLanguage: u.Language,
		Schemas:           []string{CoreUserSchema, c.userSchema},
		UserName:          u.UserName,
	})
	at, end, commaBefore, commaAfter := insertPoint(core, c.userSchema)
	out := make([]byte, 0, len(core)+len(c.userSchema)+64+40*len(u.Access))
	out = append(out, core[:at]...)
	if commaBefore {
		out = append(out, ',')
	}
	if at == end { // a new member, not a value replaced
		out = appendString(out, c.userSchema)
		out = append(out, ':')
	}
	out = append(out, '{')
	n := len(out)
	if u.DefaultLocation != "" {
		out = append(out, `"defaultLocation":`...)
		out = appendString(out, u.DefaultLocation)
	}
	if len(u.Access) > 0 {
		if len(out) > n {
			out = append(out, ',')
		}
		out = append(out, `"locations":`...)
		out = locationList(u.Access).appendJSON(out)
	}
	if u.SendInvitation {
		if len(out) > n {
			out = append(out, ',')
		}
		out = append(out, `"sendInvitation":true`...)
	}
	out = append(out, '}')
	if commaAfter {
		out = append(out, ',')
	}
	return append(out, core[end:]...)
}

// insertPoint says where key's member goes in the object core so that its
// members stay sorted: out = core[:at], the member (or, when core already
// has key, only its value), core[end:]. A map with the same key would have
// held only the extension, so a core member of that name is replaced.
func insertPoint(core []byte, key string) (at, end int, commaBefore, commaAfter bool) {
	at, end = -1, -1
	n := 0
	_ = members(core, func(m member) bool {
		n++
		switch k := string(m.key); {
		case k == key:
			at, end = m.valStart, m.valEnd
			return false
		case k > key:
			at, end, commaAfter = m.keyStart, m.keyStart, true
			return false
		}
		return true
	})
	if at < 0 { // after the last member
		at = bytes.LastIndexByte(core, '}')
		end, commaBefore = at, n > 0
	}
	return at, end, commaBefore, commaAfter
}

// decodeUser reads a SCIM user, ignoring attributes it does not know. The
// Visitor extension holds the user's location list, as long as the tenant
// has locations and nearly always one of a few lists, so it is cut out of
// the raw bytes first (its value replaced by null for encoding/json, which
// then reads only the small rest), read through the client's pool, and
// never scanned twice. Bytes that are not an object go to encoding/json
// whole, for its error.
func (c *Client) decodeUser(raw json.RawMessage) (User, error) {
	core, ext, err := cutMember(raw, c.userSchema)
	if err != nil {
		return User{}, fmt.Errorf("decoding user: %w", err)
	}
	var w wireUser
	if err := json.Unmarshal(core, &w); err != nil {
		return User{}, fmt.Errorf("decoding user: %w", err)
	}
	// The core is small once the extension is cut out; the extension is
	// checked by the pool, once per distinct list.
	if err := strictMembers(core, "user"); err != nil {
		return User{}, fmt.Errorf("decoding user %q: %w", w.ID, err)
	}
	u := userOf(w)
	if ext != nil && string(ext) != "null" {
		e, err := c.ext.decode(ext)
		if err != nil {
			return User{}, fmt.Errorf("decoding user %q: visitor extension: %w", w.ID, err)
		}
		u.DefaultLocation, u.Access = e.defaultLocation, e.access
	}
	return u, nil
}

// cutMember splits the object raw into the value of its member key (the
// last one, as a map would keep) and the rest, that member's value
// replaced by null. Without such a member, or when raw is not an object,
// core is raw itself.
func cutMember(raw []byte, key string) (core, val []byte, err error) {
	var found member
	ok := false
	err = members(raw, func(m member) bool {
		if m.is(key) {
			found, ok = m, true
		}
		return true
	})
	switch {
	case err != nil && !errors.Is(err, errNotObject) && json.Valid(raw):
		return nil, nil, err // never drop the extension of a valid user
	case err != nil || !ok:
		return raw, nil, nil // encoding/json says what is wrong, if anything
	}
	val = raw[found.valStart:found.valEnd]
	core = make([]byte, 0, len(raw)-len(val)+4)
	core = append(append(append(core, raw[:found.valStart]...), "null"...), raw[found.valEnd:]...)
	return core, val, nil
}

// userOf maps the core attributes; the sync sees work and mobile phones
// and the primary email only.
func userOf(w wireUser) User {
	u := User{
		ID:         w.ID,
		ExternalID: w.ExternalID,
		UserName:   w.UserName,
		Language:   w.PreferredLanguage,
		Active:     w.Active != nil && *w.Active,
	}
	if w.Name != nil {
		u.GivenName, u.FamilyName = w.Name.GivenName, w.Name.FamilyName
	}
	u.Email = primaryEmail(w.Emails)
	if u.Email == u.UserName {
		// Visitor keeps them equal: one string for both, not two copies
		// held for every listed user of the run.
		u.Email = u.UserName
	}
	setPhones(&u, w.PhoneNumbers)
	if w.Meta != nil {
		u.LastModified = parseTime(w.Meta.LastModified)
	}
	return u
}

// setPhones takes the first work and the first mobile number, as both
// profiles carry them.
func setPhones(u *User, ps []wireMulti) {
	for _, p := range ps {
		switch strings.ToLower(p.Type) {
		case "work":
			if u.Phone == "" {
				u.Phone = p.Value
			}
		case "mobile":
			if u.Mobile == "" {
				u.Mobile = p.Value
			}
		}
	}
}

// parseTime reads a meta timestamp; an absent or unreadable one is zero.
func parseTime(v string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, v)
	return t
}

// extPool lets users share their Visitor extension (default location and
// location list). Every user has every location (the integration's rule),
// so 100 000 users at 1 000 locations would otherwise hold 100 million
// access entries that are nearly all copies of two lists, and decode each
// copy again. An extension is keyed by its raw JSON. Shared lists are
// clipped (len == cap): an append copies, and the sync never changes an
// Access slice in place. The zero value is ready; it is safe for
// concurrent use.
type extPool struct {
	mu    sync.Mutex
	m     map[string]userExt
	bytes int
}

// maxExtPoolBytes bounds the raw JSON the pool keeps as keys; when full it
// starts over, so a long-running daemon keeps the lists of today's
// locations, not every list it ever saw.
const maxExtPoolBytes = 8 << 20

type userExt struct {
	defaultLocation string
	access          []Access
}

func (p *extPool) decode(raw json.RawMessage) (userExt, error) {
	p.mu.Lock()
	e, ok := p.m[string(raw)]
	p.mu.Unlock()
	if ok {
		return e, nil
	}
	var w wireUserExt
	if err := json.Unmarshal(raw, &w); err != nil {
		return userExt{}, err
	}
	if err := strictMembers(raw, "extension"); err != nil {
		return userExt{}, err
	}
	e = userExt{defaultLocation: w.DefaultLocation}
	if len(w.Locations) > 0 {
		e.access = make([]Access, len(w.Locations))
		for i, a := range w.Locations {
			e.access[i] = Access{LocationID: a.Value, Role: Role(a.Role)}
		}
	}
	if len(raw) > maxExtPoolBytes/4 {
		return e, nil // a list this long is not worth a quarter of the pool
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil || p.bytes+len(raw) > maxExtPoolBytes {
		p.m, p.bytes = map[string]userExt{}, 0
	}
	p.m[string(raw)] = e
	p.bytes += len(raw)
	return e, nil
}

// primaryEmail picks the primary email, else the work one, else the first.
func primaryEmail(es []wireMulti) string {
	for _, e := range es {
		if e.Primary {
			return e.Value
		}
	}
	for _, e := range es {
		if strings.EqualFold(e.Type, "work") {
			return e.Value
		}
	}
	if len(es) > 0 {
		return es[0].Value
	}
	return ""
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

type patchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

// appendJSON writes the request as json.Marshal would, except that a
// value that writes itself (a location list) is not reflected on and then
// scanned again, as encoding/json does with a Marshaler's output.
func (r patchRequest) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"schemas":`...)
	dst = appendJSON(dst, r.Schemas)
	dst = append(dst, `,"Operations":`...)
	if r.Operations == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, op := range r.Operations {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"op":`...)
			dst = appendString(dst, op.Op)
			dst = append(dst, `,"path":`...)
			dst = appendString(dst, op.Path)
			dst = append(dst, `,"value":`...)
			if a, ok := op.Value.(appender); ok {
				dst = a.appendJSON(dst)
			} else {
				dst = appendJSON(dst, op.Value)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendJSON appends json.Marshal(v) for the plain values of this file.
func appendJSON(dst []byte, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only strings, bools and slices of them get here
	}
	return append(dst, b...)
}

// patchOps turns the fields the sync says differ into replace operations.
// userName and emails always travel together because Visitor treats them
// as one identifier; work and mobile phones share one list.
func (c *Client) patchOps(u User, fields []Field) ([]patchOp, error) {
	var ops []patchOp
	seen := map[string]bool{}
	add := func(path string, v any) {
		if !seen[path] {
			seen[path] = true
			ops = append(ops, patchOp{Op: "replace", Path: path, Value: v})
		}
	}
	for _, f := range fields {
		switch f {
		case FieldUserName:
			add("userName", u.UserName)
			add("emails", emailsOf(u))
		case FieldGivenName:
			add("name.givenName", u.GivenName)
		case FieldFamilyName:
			add("name.familyName", u.FamilyName)
		case FieldPhone, FieldMobile:
			add("phoneNumbers", phonesOf(u))
		case FieldLanguage:
			add("preferredLanguage", u.Language)
		case FieldActive:
			add("active", u.Active)
		case FieldDefaultLocation:
			add(c.userSchema+":defaultLocation", u.DefaultLocation)
		case FieldAccess:
			add(c.userSchema+":locations", locationList(u.Access))
		case FieldExternalID:
			// Only ever sent to claim an adopted user whose externalId is
			// empty; Visitor refuses to change one that is set.
			if u.ExternalID == "" {
				return nil, fmt.Errorf("user %q: refusing to clear externalId", u.UserName)
			}
			add("externalId", u.ExternalID)
		default:
			return nil, fmt.Errorf("user %q: unknown field %q", u.ExternalID, f)
		}
	}
	return ops, nil
}

type wireLocation struct {
	Schemas    []string `json:"schemas,omitempty"`
	ID         string   `json:"id,omitempty"`
	ExternalID string   `json:"externalId,omitempty"`
	Name       string   `json:"name"`
	CompanyID  string   `json:"companyId,omitempty"`
	Default    bool     `json:"default,omitempty"`
}

func decodeLocation(raw json.RawMessage) (Location, error) {
	var w wireLocation
	if err := json.Unmarshal(raw, &w); err != nil {
		return Location{}, fmt.Errorf("decoding location: %w", err)
	}
	if err := strictMembers(raw, "location"); err != nil {
		return Location{}, fmt.Errorf("decoding location %q: %w", w.ID, err)
	}
	return Location{ID: w.ID, ExternalID: w.ExternalID, Name: w.Name, CompanyID: w.CompanyID, Default: w.Default}, nil
}

type listResponse struct {
	TotalResults int               `json:"totalResults"`
	StartIndex   int               `json:"startIndex"`
	ItemsPerPage int               `json:"itemsPerPage"`
	Resources    []json.RawMessage `json:"Resources"`
	// malformed is set when the page itself is ambiguous (a member twice);
	// list refuses such a page.
	malformed error
}

// decodeAnswer reads a page as json.Unmarshal would, in one scan instead
// of two and without copying it: a page of 200 users with 1 000 locations
// each is 7 MB, a listing of 100 000 users 3.5 GB. The page is checked
// whole, then Resources (matched as encoding/json matches a field name,
// case folded) is split into its elements in place, and encoding/json
// reads the small rest. Any error means the page is garbled.
func (p *listResponse) decodeAnswer(data []byte) error {
	if !json.Valid(data) {
		return json.Unmarshal(data, &listResponse{}) // for its syntax error
	}
	var res []member
	seen := map[string]bool{}
	var dup string
	if err := members(data, func(m member) bool {
		name := strings.ToLower(m.name())
		if seen[name] {
			dup = m.name()
		}
		seen[name] = true
		if name == "resources" {
			res = append(res, m)
		}
		return true
	}); err != nil || len(res) == 0 {
		// Not an object, or no Resources: encoding/json reads it whole.
		if err := json.Unmarshal(data, p); err != nil {
			return err
		}
		if dup != "" {
			p.malformed = fmt.Errorf("%w: member %q appears twice in the list response", ErrMalformed, dup)
		}
		return nil
	}

	core := make([]byte, 0, 256)
	at := 0
	for _, m := range res {
		if v := data[m.valStart:m.valEnd]; v[0] != '[' && string(v) != "null" {
			return json.Unmarshal(data, p) // for its type error
		}
		core = append(append(core, data[at:m.valStart]...), "null"...)
		at = m.valEnd
	}
	last := data[res[len(res)-1].valStart:res[len(res)-1].valEnd]
	core = append(core, data[at:]...)
	*p = listResponse{}
	if err := json.Unmarshal(core, p); err != nil {
		return err
	}
	if dup != "" {
		p.malformed = fmt.Errorf("%w: member %q appears twice in the list response", ErrMalformed, dup)
	}
	if last[0] == '[' {
		p.Resources = []json.RawMessage{}
		return elements(last, func(e []byte) { p.Resources = append(p.Resources, e) })
	}
	return nil
}
