package visitor

import (
	"encoding/json"
	"fmt"
	"strings"
	gosync "sync"
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

func accessOf(u User) []wireAccess {
	out := make([]wireAccess, 0, len(u.Access))
	for _, a := range u.Access {
		out = append(out, wireAccess{Value: a.LocationID, Role: string(a.Role)})
	}
	return out
}

func (c *Client) encodeUser(u User) map[string]any {
	active := u.Active
	w := wireUser{
		Schemas:           []string{CoreUserSchema, c.userSchema},
		ExternalID:        u.ExternalID,
		UserName:          u.UserName,
		Name:              &wireName{GivenName: u.GivenName, FamilyName: u.FamilyName},
		Emails:            emailsOf(u),
		PreferredLanguage: u.Language,
		Active:            &active,
	}
	if p := phonesOf(u); len(p) > 0 {
		w.PhoneNumbers = p
	}
	m := toMap(w)
	ext := wireUserExt{DefaultLocation: u.DefaultLocation, SendInvitation: u.SendInvitation}
	if len(u.Access) > 0 {
		ext.Locations = accessOf(u)
	}
	m[c.userSchema] = ext
	return m
}

func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs of strings and bools get here
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

// decodeUser reads a SCIM user, ignoring attributes it does not know. The
// Visitor extension holds the user's location list, as long as the tenant
// has locations and nearly always one of a few lists, so it is split off
// first, read through the client's pool, and never scanned twice.
func (c *Client) decodeUser(raw json.RawMessage) (User, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return User{}, fmt.Errorf("decoding user: %w", err)
	}
	ext, hasExt := top[c.userSchema]
	core := raw
	if hasExt {
		delete(top, c.userSchema)
		var err error
		if core, err = json.Marshal(top); err != nil {
			return User{}, fmt.Errorf("decoding user: %w", err)
		}
	}
	var w wireUser
	if err := json.Unmarshal(core, &w); err != nil {
		return User{}, fmt.Errorf("decoding user: %w", err)
	}
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
	for _, p := range w.PhoneNumbers {
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
	if w.Meta != nil && w.Meta.LastModified != "" {
		if t, err := time.Parse(time.RFC3339Nano, w.Meta.LastModified); err == nil {
			u.LastModified = t
		}
	}
	if hasExt && string(ext) != "null" {
		e, err := c.ext.decode(ext)
		if err != nil {
			return User{}, fmt.Errorf("decoding user %q: visitor extension: %w", w.ID, err)
		}
		u.DefaultLocation, u.Access = e.defaultLocation, e.access
	}
	return u, nil
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
	mu    gosync.Mutex
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
			add(c.userSchema+":locations", accessOf(u))
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
	return Location{ID: w.ID, ExternalID: w.ExternalID, Name: w.Name, CompanyID: w.CompanyID, Default: w.Default}, nil
}

type listResponse struct {
	TotalResults int               `json:"totalResults"`
	StartIndex   int               `json:"startIndex"`
	ItemsPerPage int               `json:"itemsPerPage"`
	Resources    []json.RawMessage `json:"Resources"`
}
