package simulator

import (
	"net/http"
	"strings"
)

// genericPatchUser is SCIM 1.1 PATCH (API 1.1 §3.3.2), served only with
// Options.GenericPatch: Eptura's page documents none, so by default a
// client must manage with PUT.
func (s *Server) genericPatchUser(w http.ResponseWriter, r *http.Request) {
	if !s.opts.GenericPatch {
		writeGenericError(w, errf(http.StatusNotImplemented, "", "PATCH is not supported; use PUT"))
		return
	}
	in, serr := readGeneric(r)
	if serr != nil {
		writeGenericError(w, serr)
		return
	}
	var meta struct {
		Attributes []string `json:"attributes"`
	}
	if len(in.Meta) > 0 {
		if serr := decodeStrict(in.Meta, &meta); serr != nil {
			writeGenericError(w, serr)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, serr := s.storedUser(r.PathValue("id"))
	if serr != nil {
		writeGenericError(w, serr)
		return
	}
	u := old.clone()
	for _, a := range meta.Attributes {
		if serr := removeGeneric(&u, a); serr != nil {
			writeGenericError(w, serr)
			return
		}
	}
	in.merge(&u)
	s.genericCommit(w, r, old, &u)
}

// removeGeneric clears one attribute named in meta.attributes. An
// unknown name is refused rather than ignored: a client that means to
// clear something and names it wrongly would otherwise never learn it.
func removeGeneric(u *User, attr string) *scimError {
	name := strings.ToLower(attr)
	if rest, ok := strings.CutPrefix(name, genericSchema+":"); ok {
		name = rest
	}
	switch name {
	case "username":
		u.UserName = ""
	case "name":
		u.GivenName, u.FamilyName, u.Formatted = "", "", ""
	case "name.givenname":
		u.GivenName = ""
	case "name.familyname":
		u.FamilyName = ""
	case "name.formatted":
		u.Formatted = ""
	case "emails":
		u.Emails = nil
	case "phonenumbers":
		u.PhoneNumbers = nil
	case "addresses":
		u.Addresses = nil
	case "title":
		u.Title = ""
	case "preferredlanguage":
		u.PreferredLanguage = ""
	case "active":
		u.Active = true // absent means active, as in a POST
	default:
		return invalidValue("meta.attributes: %q is not an attribute of the user", attr)
	}
	return nil
}

// merge applies a PATCH body to u after meta.attributes: simple
// attributes given replace, name's sub-attributes one by one, and
// multi-valued ones merge entry by entry.
func (in genericIn) merge(u *User) {
	if in.UserName != nil {
		u.UserName = *in.UserName
	}
	if n := in.Name; n != nil {
		for _, f := range [...]struct {
			from *string
			to   *string
		}{{n.GivenName, &u.GivenName}, {n.FamilyName, &u.FamilyName}, {n.Formatted, &u.Formatted}} {
			if f.from != nil {
				*f.to = *f.from
			}
		}
	}
	if in.Title != nil {
		u.Title = *in.Title
	}
	if in.PreferredLanguage != nil {
		u.PreferredLanguage = *in.PreferredLanguage
	}
	if in.Active != nil {
		u.Active = *in.Active
	}
	for _, e := range in.Emails {
		u.Emails = mergeTyped(u.Emails, e, func(x Email) string { return x.Type },
			Email{Value: e.Value, Type: e.Type, Primary: e.Primary})
	}
	for _, p := range in.PhoneNumbers {
		if p.deletes() || keptPhone(p) { // a dropped number changes nothing
			u.PhoneNumbers = mergeTyped(u.PhoneNumbers, p, func(x Phone) string { return x.Type },
				Phone{Value: p.Value, Type: p.Type})
		}
	}
	for _, a := range in.Addresses {
		u.Addresses = mergeAddress(u.Addresses, a)
	}
}

// mergeTyped applies one PATCH entry to a list keyed by type: delete
// removes the entries of that type, anything else replaces the first of
// that type or is added.
func mergeTyped[T any](list []T, e genericEntry, typeOf func(T) string, v T) []T {
	if e.deletes() {
		var out []T
		for _, x := range list {
			if !strings.EqualFold(typeOf(x), e.Type) {
				out = append(out, x)
			}
		}
		return out
	}
	for i, x := range list {
		if strings.EqualFold(typeOf(x), e.Type) {
			list[i] = v
			return list
		}
	}
	return append(list, v)
}

// mergeAddress applies one PATCH entry to addresses, which Eptura keys by
// primary: delete removes the primary address, anything else replaces it
// or is added. With none marked primary the first stands for it.
func mergeAddress(list []Address, e genericEntry) []Address {
	i := -1
	for j, a := range list {
		if a.Primary {
			i = j
			break
		}
	}
	if i < 0 && len(list) > 0 {
		i = 0
	}
	switch {
	case e.deletes():
		if i >= 0 {
			list = append(list[:i:i], list[i+1:]...)
		}
	case e.Locality == "":
	case i >= 0:
		list[i] = Address{Locality: e.Locality, Primary: e.Primary}
	default:
		list = append(list, Address{Locality: e.Locality, Primary: e.Primary})
	}
	return list
}
