package simulator

import (
	"fmt"
	"testing"
)

func TestPatchUser(t *testing.T) {
	ext := DefaultUserSchema
	cases := []struct {
		name     string
		body     any
		status   int
		scimType string
		check    func(u User) error
	}{
		{"replace givenName", patch(op("replace", "name.givenName", "Anna")), 200, "", func(u User) error {
			return want(u.GivenName == "Anna" && u.FamilyName == "Silva", "name %q %q", u.GivenName, u.FamilyName)
		}},
		{"op and path ignore case", patch(op("Replace", "NAME.FAMILYNAME", "Souza")), 200, "", func(u User) error {
			return want(u.FamilyName == "Souza", "familyName %q", u.FamilyName)
		}},
		{"replace name object keeps the rest", patch(op("replace", "name", map[string]any{"familyName": "Souza"})), 200, "", func(u User) error {
			return want(u.GivenName == "Ana" && u.FamilyName == "Souza", "name %q %q", u.GivenName, u.FamilyName)
		}},
		{"replace userName moves the work email", patch(op("replace", "userName", "ana.s@example.com")), 200, "", func(u User) error {
			return want(u.UserName == "ana.s@example.com" && u.Emails[0].Value == "ana.s@example.com", "%+v", u)
		}},
		{"replace emails moves userName", patch(op("replace", "emails", []any{map[string]any{"value": "x@example.com", "type": "work", "primary": true}})), 200, "", func(u User) error {
			return want(u.UserName == "x@example.com", "userName %q", u.UserName)
		}},
		{"replace both consistently", patch(op("replace", "userName", "y@example.com"), op("replace", "emails", []any{map[string]any{"value": "Y@example.com", "type": "work", "primary": true}})), 200, "", nil},
		{"replace both differently", patch(op("replace", "userName", "y@example.com"), op("replace", "emails", []any{map[string]any{"value": "z@example.com", "type": "work", "primary": true}})), 400, "invalidValue", nil},
		{"work email by value filter", patch(op("replace", `emails[type eq "work"].value`, "w@example.com")), 200, "", func(u User) error {
			return want(u.UserName == "w@example.com", "userName %q", u.UserName)
		}},
		{"userName taken", patch(op("replace", "userName", "BOB@example.com")), 409, "uniqueness", nil},
		{"bad email char", patch(op("replace", "userName", "a;b@example.com")), 400, "invalidValue", nil},
		{"replace phoneNumbers drops non E.164", patch(op("replace", "phoneNumbers", []any{
			map[string]any{"value": "+447700900123", "type": "mobile"}, map[string]any{"value": "07700 900123", "type": "work"}})), 200, "", func(u User) error {
			return want(len(u.PhoneNumbers) == 1 && u.PhoneNumbers[0].Type == "mobile", "%+v", u.PhoneNumbers)
		}},
		{"add mobile through a value filter", patch(op("add", `phoneNumbers[type eq "mobile"].value`, "+447700900123")), 200, "", func(u User) error {
			return want(len(u.PhoneNumbers) == 1 && u.PhoneNumbers[0].Value == "+447700900123", "%+v", u.PhoneNumbers)
		}},
		{"replace through a filter matching nothing", patch(op("replace", `phoneNumbers[type eq "fax"].value`, "+447700900123")), 400, "noTarget", nil},
		{"remove phoneNumbers", patch(op("remove", "phoneNumbers", nil)), 200, "", func(u User) error {
			return want(len(u.PhoneNumbers) == 0, "%+v", u.PhoneNumbers)
		}},
		{"replace preferredLanguage", patch(op("replace", "preferredLanguage", "pt-BR")), 200, "", func(u User) error {
			return want(u.PreferredLanguage == "pt-BR", "%q", u.PreferredLanguage)
		}},
		{"deactivate", patch(op("replace", "active", false)), 200, "", func(u User) error { return want(!u.Active, "still active") }},
		{"active as string", patch(op("replace", "active", "False")), 400, "invalidValue", nil},
		{"replace defaultLocation", patch(op("replace", ext+":defaultLocation", "loc-0002")), 200, "", func(u User) error {
			return want(u.DefaultLocation == "loc-0002", "%q", u.DefaultLocation)
		}},
		{"unknown defaultLocation", patch(op("replace", ext+":defaultLocation", "loc-0099")), 400, "invalidValue", nil},
		{"replace locations", patch(op("replace", ext+":locations", []any{map[string]any{"value": "loc-0002", "role": "reception"}})), 200, "", func(u User) error {
			return want(len(u.Locations) == 1 && u.Locations[0] == LocationRole{"loc-0002", "reception"}, "%+v", u.Locations)
		}},
		{"add a location keeps the others", patch(op("add", ext+":locations", []any{map[string]any{"value": "loc-0002", "role": "user"}})), 200, "", func(u User) error {
			return want(len(u.Locations) == 2, "%+v", u.Locations)
		}},
		{"remove one location by filter", patch(op("remove", ext+`:locations[value eq "loc-0001"]`, nil)), 200, "", func(u User) error {
			return want(len(u.Locations) == 0, "%+v", u.Locations)
		}},
		{"unknown location", patch(op("add", ext+":locations", []any{map[string]any{"value": "loc-0077", "role": "user"}})), 400, "invalidValue", nil},
		{"no path, object value", patch(op("replace", "", map[string]any{"name": map[string]any{"givenName": "Anita"}, ext: map[string]any{"defaultLocation": "loc-0002"}})), 200, "", func(u User) error {
			return want(u.GivenName == "Anita" && u.DefaultLocation == "loc-0002", "%+v", u)
		}},
		{"externalId same value", patch(op("replace", "externalId", "condeco:1")), 200, "", nil},
		{"externalId changed", patch(op("replace", "externalId", "condeco:9")), 400, "mutability", nil},
		{"externalId removed", patch(op("remove", "externalId", nil)), 400, "mutability", nil},
		{"underscore in name", patch(op("replace", "name.givenName", "A_na")), 400, "invalidValue", nil},
		{"unknown path", patch(op("replace", "nickName", "x")), 400, "invalidPath", nil},
		{"unknown schema path", patch(op("replace", "urn:example:x:User:foo", "x")), 400, "invalidPath", nil},
		{"bad op", patch(op("move", "userName", "x")), 400, "invalidSyntax", nil},
		{"no operations", patch(), 400, "invalidSyntax", nil},
		{"wrong schema", map[string]any{"schemas": []any{coreUserSchema}, "Operations": []any{op("replace", "active", true)}}, 400, "invalidSyntax", nil},
		{"remove without path", patch(op("remove", "", nil)), 400, "noTarget", nil},
		{"second op fails, first not applied", patch(op("replace", "name.givenName", "Zed"), op("replace", "nickName", "x")), 400, "invalidPath", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.do("POST", "/Locations", map[string]any{"schemas": []any{DefaultLocationSchema}, "name": "Paris"})
			h.create(user("bob@example.com", "condeco:2"))
			id := h.create(user("ana@example.com", "condeco:1"))
			before := h.srv.Users()[1]
			a := h.do("PATCH", "/Users/"+id, tc.body)
			h.expect(a, tc.status, tc.scimType)
			after := h.srv.Users()[1]
			if tc.status != 200 {
				if fmt.Sprint(before) != fmt.Sprint(after) {
					t.Fatalf("failed PATCH changed the user:\n%+v\n%+v", before, after)
				}
				return
			}
			if a.str("id") != id {
				t.Fatalf("answer %s", a.raw)
			}
			if tc.check != nil {
				if err := tc.check(after); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func want(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

func TestPatchLastModified(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.create(user("ana@example.com", "condeco:1"))
	h.clock.Advance(90 * 60e9)
	a := h.do("PATCH", "/Users/"+id, patch(op("replace", "name.givenName", "Anna")))
	h.expect(a, 200, "")
	meta := a.body["meta"].(map[string]any)
	if meta["created"] != "2026-01-02T03:04:05Z" || meta["lastModified"] != "2026-01-02T04:34:05Z" {
		t.Fatalf("meta %v", meta)
	}
	h.expect(h.do("PATCH", "/Users/nope", patch(op("replace", "active", true))), 404, "")
}

func TestPutUser(t *testing.T) {
	cases := []struct {
		name     string
		body     map[string]any
		status   int
		scimType string
	}{
		{"same externalId, new name", user("ana@example.com", "condeco:1", set("name", map[string]any{"givenName": "Anna", "familyName": "Silva"})), 200, ""},
		{"externalId omitted keeps it", user("ana@example.com", "condeco:1", del("externalId")), 200, ""},
		{"externalId changed", user("ana@example.com", "condeco:7"), 400, "mutability"},
		{"userName of another user", user("bob@example.com", "condeco:1"), 409, "uniqueness"},
		{"userName not the work email", user("ana@example.com", "condeco:1", set("userName", "x@example.com")), 400, "invalidValue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.create(user("bob@example.com", "condeco:2"))
			id := h.create(user("ana@example.com", "condeco:1"))
			h.expect(h.do("PUT", "/Users/"+id, tc.body), tc.status, tc.scimType)
			if got := h.srv.Users()[1].ExternalID; got != "condeco:1" {
				t.Fatalf("externalId now %q", got)
			}
		})
	}
}
