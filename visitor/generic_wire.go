package visitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// CoreSchemaV1 is the one schema of Eptura's Generic SCIM integration
// (SCIM 1.1 core schema); every body it is sent carries it.
const CoreSchemaV1 = "urn:scim:schemas:core:1.0"

// mediaTypeV1 is SCIM 1.1's media type.
const mediaTypeV1 = "application/json"

type wireNameV1 struct {
	Formatted  string `json:"formatted,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
	GivenName  string `json:"givenName,omitempty"`
}

type wireAddressV1 struct {
	Primary  bool   `json:"primary,omitempty"`
	Locality string `json:"locality,omitempty"`
}

type wireMetaV1 struct {
	LastModified string `json:"lastModified,omitempty"`
}

// wireUserV1 is a SCIM 1.1 user as the Generic integration documents it.
// It has no externalId: the integration neither stores nor returns one.
type wireUserV1 struct {
	Schemas           []string        `json:"schemas"`
	ID                string          `json:"id,omitempty"`
	UserName          string          `json:"userName"`
	Name              *wireNameV1     `json:"name,omitempty"`
	Emails            []wireMulti     `json:"emails,omitempty"`
	PhoneNumbers      []wireMulti     `json:"phoneNumbers,omitempty"`
	Addresses         []wireAddressV1 `json:"addresses,omitempty"`
	Title             string          `json:"title,omitempty"`
	PreferredLanguage string          `json:"preferredLanguage,omitempty"`
	Active            *bool           `json:"active,omitempty"`
	Meta              *wireMetaV1     `json:"meta,omitempty"`
}

// nameV1 gives name.formatted too, which the integration documents
// beside the two parts (given name first, as Visitor shows it).
func nameV1(u User) *wireNameV1 {
	if u.GivenName == "" && u.FamilyName == "" {
		return nil
	}
	return &wireNameV1{Formatted: strings.TrimSpace(u.GivenName + " " + u.FamilyName), FamilyName: u.FamilyName, GivenName: u.GivenName}
}

// phonesV1 lists mobile before work, as the integration's sample does.
func phonesV1(u User) []wireMulti {
	var out []wireMulti
	if u.Mobile != "" {
		out = append(out, wireMulti{Type: "mobile", Value: u.Mobile})
	}
	if u.Phone != "" {
		out = append(out, wireMulti{Type: "work", Value: u.Phone})
	}
	return out
}

func addressesV1(u User) []wireAddressV1 {
	if u.City == "" {
		return nil
	}
	return []wireAddressV1{{Primary: true, Locality: u.City}}
}

// encodeUserV1 is the body of a POST or PUT: the whole resource, since a
// PUT clears what it leaves out. userName and the primary work email are
// one value (the integration's rule); externalId is never sent.
func encodeUserV1(u User) json.RawMessage {
	active := u.Active
	return appendJSON(nil, wireUserV1{
		Schemas:           []string{CoreSchemaV1},
		UserName:          u.UserName,
		Name:              nameV1(u),
		Emails:            []wireMulti{{Value: u.UserName, Type: "work", Primary: true}},
		PhoneNumbers:      phonesV1(u),
		Addresses:         addressesV1(u),
		Title:             u.Title,
		PreferredLanguage: u.Language,
		Active:            &active,
	})
}

// decodeUserV1 reads a SCIM 1.1 user, ignoring attributes it does not
// know (and so any externalId a server might send: ownership comes from
// the record only).
func decodeUserV1(raw []byte) (User, error) {
	var w wireUserV1
	if err := json.Unmarshal(raw, &w); err != nil {
		return User{}, fmt.Errorf("decoding user: %w", err)
	}
	if err := strictMembers(raw, "user"); err != nil {
		return User{}, fmt.Errorf("decoding user %q: %w", w.ID, err)
	}
	u := User{
		ID:       w.ID,
		UserName: w.UserName,
		Email:    primaryEmail(w.Emails),
		Title:    w.Title,
		Language: w.PreferredLanguage,
		Active:   w.Active != nil && *w.Active,
	}
	if u.Email == u.UserName {
		u.Email = u.UserName
	}
	if w.Name != nil {
		u.GivenName, u.FamilyName = w.Name.GivenName, w.Name.FamilyName
	}
	setPhones(&u, w.PhoneNumbers)
	u.City = primaryLocality(w.Addresses)
	if w.Meta != nil {
		u.LastModified = parseTime(w.Meta.LastModified)
	}
	return u, nil
}

// primaryLocality is the primary address's locality, else the first's.
func primaryLocality(as []wireAddressV1) string {
	for _, a := range as {
		if a.Primary {
			return a.Locality
		}
	}
	if len(as) > 0 {
		return as[0].Locality
	}
	return ""
}

// userAnswerV1 is a user answer decoded inside call: a syntax error means
// the answer is garbled (sent again, or an unknown outcome for a POST);
// valid JSON that is not a user is kept for the caller.
type userAnswerV1 struct {
	got  bool
	user User
	err  error
}

func (a *userAnswerV1) decodeAnswer(data []byte) error {
	u, err := decodeUserV1(data)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return err
	}
	a.got, a.user, a.err = true, u, err
	return nil
}

func (a *userAnswerV1) result() (User, error) {
	if !a.got {
		return User{}, errors.New("decoding user: empty answer")
	}
	return a.user, a.err
}

// patchV1 is a SCIM 1.1 PATCH body (API 1.1 §3.3.2) with only the
// attributes in fields: meta.attributes names those removed first. A
// multi-valued attribute that changes (emails with the userName, the
// phone numbers, the address) is removed and sent whole: SCIM 1.1 merges
// multi-valued entries, and servers match them by value or by type, so a
// new work email or number sent alone could sit beside the old one. The
// name goes whole (both parts are required, and formatted follows them).
func patchV1(u User, fields []Field) (map[string]any, error) {
	body := map[string]any{"schemas": []string{CoreSchemaV1}}
	var remove []string
	removeAttr := func(a string) {
		for _, r := range remove {
			if r == a {
				return
			}
		}
		remove = append(remove, a)
	}
	phonesChanged := false
	for _, f := range fields {
		switch f {
		case FieldUserName:
			body["userName"] = u.UserName
			removeAttr("emails")
			body["emails"] = []wireMulti{{Value: u.UserName, Type: "work", Primary: true}}
		case FieldGivenName, FieldFamilyName:
			n := nameV1(u)
			if n == nil {
				n = &wireNameV1{}
			}
			body["name"] = n
		case FieldPhone, FieldMobile:
			phonesChanged = true
		case FieldLanguage:
			if u.Language == "" {
				removeAttr("preferredLanguage")
			} else {
				body["preferredLanguage"] = u.Language
			}
		case FieldTitle:
			if u.Title == "" {
				removeAttr("title")
			} else {
				body["title"] = u.Title
			}
		case FieldCity:
			removeAttr("addresses")
			if u.City != "" {
				body["addresses"] = addressesV1(u)
			}
		case FieldActive:
			body["active"] = u.Active
		case FieldExternalID:
			// Kept in the ownership record, never on the wire.
		case FieldDefaultLocation, FieldAccess:
			return nil, fmt.Errorf("field %q: %w (generic-v1 has no locations)", f, ErrNotSupported)
		default:
			return nil, fmt.Errorf("unknown field %q", f)
		}
	}
	if phonesChanged {
		removeAttr("phoneNumbers")
		if phones := phonesV1(u); len(phones) > 0 {
			body["phoneNumbers"] = phones
		}
	}
	if len(remove) > 0 {
		body["meta"] = map[string]any{"attributes": remove}
	}
	return body, nil
}

func containsType(ms []wireMulti, typ string) bool {
	for _, m := range ms {
		if m.Type == typ {
			return true
		}
	}
	return false
}
