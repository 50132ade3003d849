package simulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// genericIn is a generic-v1 request body: a whole user (POST, PUT) or a
// partial one (PATCH). Pointers tell "absent" from "empty", which PUT's
// clearing and PATCH's merging need. Keys not named here (externalId, a
// Visitor extension, anything else) are ignored, as Eptura's page says.
type genericIn struct {
	Schemas           []string        `json:"schemas"`
	UserName          *string         `json:"userName"`
	Name              *genericName    `json:"name"`
	Emails            []genericEntry  `json:"emails"`
	PhoneNumbers      []genericEntry  `json:"phoneNumbers"`
	Addresses         []genericEntry  `json:"addresses"`
	Title             *string         `json:"title"`
	PreferredLanguage *string         `json:"preferredLanguage"`
	Active            *bool           `json:"active"`
	Meta              json.RawMessage `json:"meta"` // read by PATCH only
}

type genericName struct {
	Formatted  *string `json:"formatted"`
	FamilyName *string `json:"familyName"`
	GivenName  *string `json:"givenName"`
}

// genericEntry is one entry of emails, phoneNumbers or addresses; each
// reads the fields it documents. Operation is SCIM 1.1 PATCH's "delete".
type genericEntry struct {
	Value     string `json:"value"`
	Type      string `json:"type"`
	Primary   bool   `json:"primary"`
	Locality  string `json:"locality"`
	Operation string `json:"operation"`
}

func (e genericEntry) deletes() bool { return strings.EqualFold(e.Operation, "delete") }

// readGeneric reads a generic-v1 body: JSON, an object, listing the SCIM
// 1.1 core schema.
func readGeneric(r *http.Request) (genericIn, *scimError) {
	var in genericIn
	b, serr := readBody(r)
	if serr != nil && serr.Status == http.StatusUnsupportedMediaType {
		serr = errf(serr.Status, "", "content type %q is not application/json", r.Header.Get("Content-Type"))
	}
	if serr != nil {
		return in, serr
	}
	if serr := decodeStrict(b, &in); serr != nil {
		return in, serr
	}
	if !containsFold(in.Schemas, genericSchema) {
		return in, errf(http.StatusBadRequest, "invalidSyntax", "schemas must contain %s", genericSchema)
	}
	return in, nil
}

// replace copies a whole-user body onto u (POST, PUT): documented
// attributes absent from the body are cleared.
func (in genericIn) replace(u *User) {
	u.UserName = deref(in.UserName)
	u.GivenName, u.FamilyName, u.Formatted = "", "", ""
	if in.Name != nil {
		u.GivenName, u.FamilyName, u.Formatted = deref(in.Name.GivenName), deref(in.Name.FamilyName), deref(in.Name.Formatted)
	}
	u.Emails = nil
	for _, e := range in.Emails {
		u.Emails = append(u.Emails, Email{Value: e.Value, Type: e.Type, Primary: e.Primary})
	}
	u.PhoneNumbers = nil
	for _, p := range in.PhoneNumbers {
		if keptPhone(p) {
			u.PhoneNumbers = append(u.PhoneNumbers, Phone{Value: p.Value, Type: p.Type})
		}
	}
	u.Addresses = nil
	for _, a := range in.Addresses {
		if a.Locality != "" {
			u.Addresses = append(u.Addresses, Address{Locality: a.Locality, Primary: a.Primary})
		}
	}
	u.Title = deref(in.Title)
	u.PreferredLanguage = deref(in.PreferredLanguage)
	u.Active = in.Active == nil || *in.Active
	u.ExternalID, u.DefaultLocation, u.Locations = "", "", nil
}

// keptPhone says whether Eptura keeps a phone number: type mobile or
// work, value E.164 by the page's pattern alone (its own sample,
// +44007007007, is not a number libphonenumber calls possible, and the
// page stores it). Others are dropped without an error.
func keptPhone(p genericEntry) bool {
	typed := strings.EqualFold(p.Type, "mobile") || strings.EqualFold(p.Type, "work")
	return typed && e164.MatchString(p.Value)
}

// validateGeneric checks the rules Eptura's page gives for a user, each
// refusal naming the attribute.
func validateGeneric(u *User) *scimError {
	if u.UserName == "" {
		return invalidValue("userName is required")
	}
	i, ok := u.primaryWorkEmail()
	if !ok {
		return invalidValue("emails: an email of type work is required")
	}
	if !strings.EqualFold(u.Emails[i].Value, u.UserName) {
		return invalidValue("userName %q must be the work email %q", u.UserName, u.Emails[i].Value)
	}
	if u.GivenName == "" || u.FamilyName == "" {
		return invalidValue("name.givenName and name.familyName are required")
	}
	return nil
}

// genericOut is the stored resource as generic-v1 answers it; empty
// optional attributes are left out.
type genericOut struct {
	Schemas           []string         `json:"schemas"`
	ID                string           `json:"id"`
	UserName          string           `json:"userName"`
	Name              *genericNameOut  `json:"name,omitempty"`
	Emails            []Email          `json:"emails,omitempty"`
	PhoneNumbers      []genericPhone   `json:"phoneNumbers,omitempty"`
	Addresses         []genericAddress `json:"addresses,omitempty"`
	Title             string           `json:"title,omitempty"`
	PreferredLanguage string           `json:"preferredLanguage,omitempty"`
	Active            bool             `json:"active"`
	Meta              genericMeta      `json:"meta"`
}

type genericNameOut struct {
	Formatted  string `json:"formatted,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
	GivenName  string `json:"givenName,omitempty"`
}

type genericPhone struct {
	Type  string `json:"type,omitempty"`
	Value string `json:"value"`
}

type genericAddress struct {
	Primary  bool   `json:"primary,omitempty"`
	Locality string `json:"locality"`
}

type genericMeta struct {
	Created      string `json:"created"`
	LastModified string `json:"lastModified"`
	Location     string `json:"location"`
}

// genericResource is u as generic-v1 answers it; base is the SCIM base URL
// for meta.location.
func genericResource(u *User, base string) genericOut {
	out := genericOut{
		Schemas: []string{genericSchema}, ID: u.ID, UserName: u.UserName,
		Emails: u.Emails, Title: u.Title, PreferredLanguage: u.PreferredLanguage, Active: u.Active,
		Meta: genericMeta{
			Created:      u.Created.UTC().Format(time.RFC3339),
			LastModified: u.LastModified.UTC().Format(time.RFC3339),
			Location:     base + "/Users/" + u.ID,
		},
	}
	if n := (genericNameOut{Formatted: u.Formatted, FamilyName: u.FamilyName, GivenName: u.GivenName}); n != (genericNameOut{}) {
		out.Name = &n
	}
	for _, p := range u.PhoneNumbers {
		out.PhoneNumbers = append(out.PhoneNumbers, genericPhone{Type: p.Type, Value: p.Value})
	}
	for _, a := range u.Addresses {
		out.Addresses = append(out.Addresses, genericAddress{Primary: a.Primary, Locality: a.Locality})
	}
	return out
}

// genericList is a SCIM 1.1 ListResponse.
type genericList struct {
	Schemas      []string     `json:"schemas"`
	TotalResults int          `json:"totalResults"`
	ItemsPerPage int          `json:"itemsPerPage"`
	StartIndex   int          `json:"startIndex"`
	Resources    []genericOut `json:"Resources"`
}
