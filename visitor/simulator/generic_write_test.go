package simulator

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// TestGenericPut checks PUT replaces the whole user: attributes the body
// leaves out are cleared, id and created stay, the rules still hold.
func TestGenericPut(t *testing.T) {
	cases := []struct {
		name   string
		body   map[string]any
		status int
		check  func(User) bool
	}{
		{"absent title, phones, addresses, language are cleared", genericUser("ana@x.org", func(u map[string]any) {
			for _, k := range []string{"title", "phoneNumbers", "addresses", "preferredLanguage"} {
				delete(u, k)
			}
		}), 200, func(u User) bool {
			return u.Title == "" && u.PhoneNumbers == nil && u.Addresses == nil && u.PreferredLanguage == ""
		}},
		{"absent formatted name is cleared", genericUser("ana@x.org", func(u map[string]any) {
			u["name"] = map[string]any{"givenName": "Ana", "familyName": "Silva"}
		}), 200, func(u User) bool { return u.Formatted == "" && u.GivenName == "Ana" }},
		{"absent active means active", genericUser("ana@x.org", func(u map[string]any) { delete(u, "active") }), 200,
			func(u User) bool { return u.Active }},
		{"deactivate", genericUser("ana@x.org", func(u map[string]any) { u["active"] = false }), 200,
			func(u User) bool { return !u.Active }},
		{"rename with the email", genericUser("ana.silva@x.org"), 200,
			func(u User) bool { return u.UserName == "ana.silva@x.org" }},
		{"externalId ignored", genericUser("ana@x.org", func(u map[string]any) { u["externalId"] = "condeco:9" }), 200,
			func(u User) bool { return u.ExternalID == "" }},
		{"userName not the email", genericUser("ana@x.org", func(u map[string]any) { u["userName"] = "bob@x.org" }), 400,
			func(u User) bool { return u.Title == "Engineer" }},
		{"no schemas", genericUser("ana@x.org", func(u map[string]any) { delete(u, "schemas") }), 400,
			func(u User) bool { return u.Title == "Engineer" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newGeneric(t, Options{})
			id := h.createGeneric(genericUser("ana@x.org"))
			h.clock.Advance(time.Minute)
			a := h.do("PUT", "/Users/"+id, tc.body)
			h.expectGeneric(a, tc.status)
			u, _ := h.srv.User(id)
			if !tc.check(u) {
				t.Fatalf("stored %+v", u)
			}
			if tc.status != http.StatusOK {
				return
			}
			if _, ok := a.body["title"]; ok != (u.Title != "") {
				t.Fatalf("answer %s does not match the stored title %q", a.raw, u.Title)
			}
			if a.str("id") != id || !u.ViaSCIM || !u.LastModified.After(u.Created) {
				t.Fatalf("id %q, stored %+v", a.str("id"), u)
			}
		})
	}
	t.Run("unknown id", func(t *testing.T) {
		h := newGeneric(t, Options{})
		h.expectGeneric(h.do("PUT", "/Users/nope", genericUser("ana@x.org")), http.StatusNotFound)
	})
}

// TestGenericPatchOff checks PATCH is refused with 501 while
// patch.supported is false (the default), whatever the body.
func TestGenericPatchOff(t *testing.T) {
	h := newGeneric(t, Options{})
	id := h.createGeneric(genericUser("ana@x.org"))
	for name, path := range map[string]string{"known user": "/Users/" + id, "unknown user": "/Users/nope"} {
		t.Run(name, func(t *testing.T) {
			h.expectGeneric(h.do("PATCH", path, map[string]any{"schemas": []any{genericSchema}, "title": "x"}), http.StatusNotImplemented)
		})
	}
	if u, _ := h.srv.User(id); u.Title != "Engineer" {
		t.Fatalf("title %q changed", u.Title)
	}
}

// TestGenericPatch checks SCIM 1.1 PATCH when on: meta.attributes removes
// first, simple attributes replace, multi-valued ones merge by type (or
// the primary address), operation "delete" removes, the rules still hold.
func TestGenericPatch(t *testing.T) {
	body := func(kv ...any) map[string]any {
		b := map[string]any{"schemas": []any{genericSchema}}
		for i := 0; i < len(kv); i += 2 {
			b[kv[i].(string)] = kv[i+1]
		}
		return b
	}
	phones := func(u User) []string {
		var out []string
		for _, p := range u.PhoneNumbers {
			out = append(out, p.Type+"="+p.Value)
		}
		return out
	}
	cases := []struct {
		name   string
		body   map[string]any
		status int
		check  func(User) bool
	}{
		{"meta.attributes removes title", body("meta", map[string]any{"attributes": []any{"title"}}), 200,
			func(u User) bool { return u.Title == "" && u.Formatted == "Ana Silva" && len(u.PhoneNumbers) == 2 }},
		{"meta.attributes removes, then given values add", body(
			"meta", map[string]any{"attributes": []any{"phoneNumbers", "addresses"}},
			"phoneNumbers", []any{map[string]any{"type": "work", "value": "+14155552671"}}), 200,
			func(u User) bool {
				return slices.Equal(phones(u), []string{"work=+14155552671"}) && u.Addresses == nil
			}},
		{"simple attribute replaces", body("title", "Lead", "preferredLanguage", "pt"), 200,
			func(u User) bool { return u.Title == "Lead" && u.PreferredLanguage == "pt" }},
		{"active false", body("active", false), 200, func(u User) bool { return !u.Active }},
		{"name sub-attribute replaces alone", body("name", map[string]any{"givenName": "Anabela"}), 200,
			func(u User) bool {
				return u.GivenName == "Anabela" && u.FamilyName == "Silva" && u.Formatted == "Ana Silva"
			}},
		{"delete the mobile number", body("phoneNumbers", []any{map[string]any{"type": "mobile", "operation": "delete"}}), 200,
			func(u User) bool { return slices.Equal(phones(u), []string{"work=+442079460000"}) }},
		{"replace the work number", body("phoneNumbers", []any{map[string]any{"type": "work", "value": "+14155552671"}}), 200,
			func(u User) bool {
				return slices.Equal(phones(u), []string{"mobile=+447700900123", "work=+14155552671"})
			}},
		{"non-E.164 number dropped, stored one kept", body("phoneNumbers", []any{map[string]any{"type": "work", "value": "020 7946 0000"}}), 200,
			func(u User) bool {
				return slices.Equal(phones(u), []string{"mobile=+447700900123", "work=+442079460000"})
			}},
		{"delete the primary address", body("addresses", []any{map[string]any{"primary": true, "operation": "delete"}}), 200,
			func(u User) bool { return u.Addresses == nil }},
		{"replace the primary address", body("addresses", []any{map[string]any{"primary": true, "locality": "Lisbon"}}), 200,
			func(u User) bool { return len(u.Addresses) == 1 && u.Addresses[0].Locality == "Lisbon" }},
		{"new work email with the userName", body("userName", "ana.silva@x.org",
			"emails", []any{map[string]any{"type": "work", "value": "ana.silva@x.org", "primary": true}}), 200,
			func(u User) bool { return u.UserName == "ana.silva@x.org" && len(u.Emails) == 1 }},
		{"new work email alone breaks userName = email", body(
			"emails", []any{map[string]any{"type": "work", "value": "ana.silva@x.org", "primary": true}}), 400,
			func(u User) bool { return u.Emails[0].Value == "ana@x.org" }},
		{"removing familyName breaks the name rule", body("meta", map[string]any{"attributes": []any{"name.familyName"}}), 400,
			func(u User) bool { return u.FamilyName == "Silva" }},
		{"unknown attribute in meta.attributes", body("meta", map[string]any{"attributes": []any{"nickName"}}), 400,
			func(u User) bool { return u.Title == "Engineer" }},
		{"taken userName", body("userName", "bob@x.org",
			"emails", []any{map[string]any{"type": "work", "value": "bob@x.org", "primary": true}}), 409,
			func(u User) bool { return u.UserName == "ana@x.org" }},
		{"no schemas", map[string]any{"title": "Lead"}, 400, func(u User) bool { return u.Title == "Engineer" }},
		{"externalId ignored", body("externalId", "condeco:1"), 200, func(u User) bool { return u.ExternalID == "" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newGeneric(t, Options{GenericPatch: true})
			id := h.createGeneric(genericUser("ana@x.org"))
			h.createGeneric(genericUser("bob@x.org"))
			a := h.do("PATCH", "/Users/"+id, tc.body)
			h.expectGeneric(a, tc.status)
			u, _ := h.srv.User(id)
			if !tc.check(u) {
				t.Fatalf("stored %+v", u)
			}
			if tc.status == http.StatusOK && (a.str("id") != id || a.str("userName") != u.UserName) {
				t.Fatalf("answer %s", a.raw)
			}
		})
	}
	t.Run("unknown id", func(t *testing.T) {
		h := newGeneric(t, Options{GenericPatch: true})
		h.expectGeneric(h.do("PATCH", "/Users/nope", body("title", "x")), http.StatusNotFound)
	})
}

// TestGenericDelete checks DELETE answers 204 then 404, for a user made by
// hand too (the page gives DELETE no exception).
func TestGenericDelete(t *testing.T) {
	h := newGeneric(t, Options{})
	ids := map[string]string{"through SCIM": h.createGeneric(genericUser("ana@x.org")), "by hand": h.handmade("hand@x.org").ID}
	for name, id := range ids {
		t.Run(name, func(t *testing.T) {
			h.expectGeneric(h.do("DELETE", "/Users/"+id, nil), http.StatusNoContent)
			h.expectGeneric(h.do("DELETE", "/Users/"+id, nil), http.StatusNotFound)
			h.expectGeneric(h.do("GET", "/Users/"+id, nil), http.StatusNotFound)
			if _, ok := h.srv.User(id); ok {
				t.Fatal("still stored")
			}
		})
	}
	h.createGeneric(genericUser("ana@x.org")) // the name is free again
}
