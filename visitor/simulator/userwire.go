package simulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"condeco-visitor-sync/visitor/internal/accessrule"
)

// maxString is the longest string Eptura SCIM servers accept (see
// docs/visitor-scim.md).
const maxString = 64

// emailForbidden are the characters Eptura SCIM servers reject in email
// addresses (see docs/visitor-scim.md).
const emailForbidden = "#%*()=[]|\\\";:<>,?/"

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// wireName, wireUser and wireExt are the JSON shapes of docs/visitor-scim.md.
// Pointers tell "absent" from "empty", which PUT and POST need.
type wireName struct {
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
	Formatted  string `json:"formatted,omitempty"`
}

type wireUser struct {
	Schemas           []string  `json:"schemas"`
	ID                string    `json:"id,omitempty"`
	ExternalID        *string   `json:"externalId,omitempty"`
	UserName          *string   `json:"userName,omitempty"`
	Name              *wireName `json:"name,omitempty"`
	Emails            []Email   `json:"emails,omitempty"`
	PhoneNumbers      []Phone   `json:"phoneNumbers,omitempty"`
	PreferredLanguage *string   `json:"preferredLanguage,omitempty"`
	Title             *string   `json:"title,omitempty"`
	Active            *bool     `json:"active,omitempty"`
}

type wireExt struct {
	DefaultLocation *string         `json:"defaultLocation,omitempty"`
	Locations       *[]LocationRole `json:"locations,omitempty"`
	SendInvitation  *bool           `json:"sendInvitation,omitempty"`
}

type wireMeta struct {
	ResourceType string `json:"resourceType"`
	Created      string `json:"created"`
	LastModified string `json:"lastModified"`
	Location     string `json:"location"`
}

// maxBodyHint caps the room made from a request's Content-Length (the
// body limit still applies while reading).
const maxBodyHint = 8 << 20

// readBody reads a request body within MaxBody and reports 413 or 400.
func readBody(r *http.Request) ([]byte, *scimError) {
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 && n <= maxBodyHint {
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead spare to see EOF
	}
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errf(http.StatusRequestEntityTooLarge, "", "body is over %d bytes", mbe.Limit)
		}
		return nil, errf(http.StatusBadRequest, "invalidSyntax", "reading body: %v", err)
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	if mt != "application/scim+json" && mt != "application/json" {
		return nil, errf(http.StatusUnsupportedMediaType, "", "content type %q is not application/scim+json", ct)
	}
	return buf.Bytes(), nil
}

// decodeStrict unmarshals and turns type errors into invalidValue naming the
// attribute.
func decodeStrict(b []byte, v any) *scimError {
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalidValue("attribute %q: %s is not a %s", te.Field, te.Value, te.Type)
		}
		return errf(http.StatusBadRequest, "invalidSyntax", "body is not JSON: %v", err)
	}
	return nil
}

// userInput is a decoded POST/PUT body.
type userInput struct {
	core   wireUser
	ext    *wireExt
	hasExt bool
}

func (s *Server) decodeUser(b []byte) (userInput, *scimError) {
	in, ok := s.decodeUserFast(b)
	if !ok {
		var err *scimError
		if in, err = s.decodeUserSlow(b); err != nil {
			return in, err
		}
	}
	if !containsFold(in.core.Schemas, coreUserSchema) {
		return in, errf(http.StatusBadRequest, "invalidSyntax", "schemas must list %s", coreUserSchema)
	}
	if in.hasExt && !containsFold(in.core.Schemas, s.opts.UserSchema) {
		return in, errf(http.StatusBadRequest, "invalidSyntax", "extension %s is used but not listed in schemas", s.opts.UserSchema)
	}
	return in, nil
}

// decodeUserSlow decodes any body, naming what is wrong with it.
func (s *Server) decodeUserSlow(b []byte) (userInput, *scimError) {
	var in userInput
	var raw map[string]json.RawMessage
	if err := decodeStrict(b, &raw); err != nil {
		return in, err
	}
	if raw == nil {
		return in, errf(http.StatusBadRequest, "invalidSyntax", "body must be a JSON object")
	}
	if err := decodeStrict(b, &in.core); err != nil {
		return in, err
	}
	for k, v := range raw {
		switch {
		case strings.EqualFold(k, s.opts.UserSchema):
			in.hasExt = true
			in.ext = &wireExt{}
			if err := decodeStrict(v, in.ext); err != nil {
				return in, err
			}
		case strings.EqualFold(k, enterpriseUserSchema):
		case strings.HasPrefix(strings.ToLower(k), "urn:"):
			return in, errf(http.StatusBadRequest, "invalidSyntax", "unknown schema extension %q", k)
		}
	}
	return in, nil
}

func containsFold(list []string, want string) bool {
	for _, s := range list {
		if strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

// apply copies the input onto u: every attribute for POST/PUT. Attributes
// absent from a PUT are cleared except externalId, which is immutable.
func (in userInput) apply(u *User) {
	c := in.core
	if c.ExternalID != nil {
		u.ExternalID = *c.ExternalID
	}
	u.UserName = deref(c.UserName)
	u.GivenName, u.FamilyName = "", ""
	if c.Name != nil {
		u.GivenName, u.FamilyName = c.Name.GivenName, c.Name.FamilyName
	}
	u.Emails = append([]Email(nil), c.Emails...)
	u.PhoneNumbers = keepE164(c.PhoneNumbers)
	u.PreferredLanguage = deref(c.PreferredLanguage)
	u.Title = deref(c.Title)
	u.Active = c.Active == nil || *c.Active
	u.DefaultLocation, u.Locations = "", nil
	if in.ext != nil {
		u.DefaultLocation = deref(in.ext.DefaultLocation)
		if in.ext.Locations != nil {
			u.Locations = append([]LocationRole(nil), (*in.ext.Locations)...)
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// keepE164 drops phone numbers that are not E.164, as Visitor does
// silently: the syntax must be +digits and libphonenumber must find the
// number possible for its country.
func keepE164(in []Phone) []Phone {
	var out []Phone
	for _, p := range in {
		if isE164(p.Value) {
			out = append(out, p)
		}
	}
	return out
}

func isE164(v string) bool {
	if !e164.MatchString(v) {
		return false
	}
	n, err := phonenumbers.Parse(v, "")
	if err != nil {
		return false
	}
	return phonenumbers.IsPossibleNumber(n) && phonenumbers.Format(n, phonenumbers.E164) == v
}

// validate checks the rules that need no other record.
func validateUser(u *User) *scimError {
	tooLong := func(attr, v string) *scimError {
		if n := utf8.RuneCountInString(v); n > maxString {
			return invalidValue("%s is %d characters, over %d", attr, n, maxString)
		}
		return nil
	}
	for _, f := range [...]struct{ attr, v string }{{"userName", u.UserName}, {"externalId", u.ExternalID},
		{"name.givenName", u.GivenName}, {"name.familyName", u.FamilyName}, {"preferredLanguage", u.PreferredLanguage},
		{"title", u.Title}, {"defaultLocation", u.DefaultLocation}} {
		if err := tooLong(f.attr, f.v); err != nil {
			return err
		}
	}
	for _, e := range u.Emails {
		if err := cmp.Or(tooLong("emails.value", e.Value), tooLong("emails.type", e.Type)); err != nil {
			return err
		}
	}
	for _, p := range u.PhoneNumbers {
		if err := tooLong("phoneNumbers.type", p.Type); err != nil {
			return err
		}
	}
	for _, l := range u.Locations {
		if err := cmp.Or(tooLong("locations.value", l.Value), tooLong("locations.role", l.Role)); err != nil {
			return err
		}
	}
	if u.UserName == "" {
		return invalidValue("userName is required")
	}
	if u.GivenName == "" || u.FamilyName == "" {
		return invalidValue("name.givenName and name.familyName are required")
	}
	if strings.Contains(u.GivenName, "_") {
		return invalidValue("name.givenName %q contains '_'", u.GivenName)
	}
	if strings.Contains(u.FamilyName, "_") {
		return invalidValue("name.familyName %q contains '_'", u.FamilyName)
	}
	for _, e := range u.Emails {
		if err := checkEmail(e.Value); err != nil {
			return err
		}
	}
	i, ok := u.primaryWorkEmail()
	if !ok {
		return invalidValue("a work email is required")
	}
	if !strings.EqualFold(u.Emails[i].Value, u.UserName) {
		return invalidValue("userName %q differs from the primary work email %q", u.UserName, u.Emails[i].Value)
	}
	primaries := 0
	for _, e := range u.Emails {
		if e.Primary {
			primaries++
		}
	}
	if primaries > 1 {
		return invalidValue("more than one email is primary")
	}
	// One role per location, known roles: the contract's rule, shared
	// with the sync (visitor.CheckAccess).
	if err := accessrule.Check(len(u.Locations), func(i int) (string, string) { return u.Locations[i].Value, u.Locations[i].Role }); err != nil {
		return invalidValue("locations: %v", err)
	}
	return nil
}

func checkEmail(v string) *scimError {
	if i := strings.IndexAny(v, emailForbidden); i >= 0 {
		return invalidValue("email %q contains %q", v, v[i:i+1])
	}
	local, domain, ok := strings.Cut(v, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || strings.ContainsAny(v, " \t") {
		return invalidValue("email %q is not an address", v)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// baseURL is the SCIM base as the client addressed it, for meta.location.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + BasePath
}
