package simulator

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestGenericSamplePayload posts the page's example verbatim: it must be
// stored as sent and come back with an id and meta, from POST and GET.
func TestGenericSamplePayload(t *testing.T) {
	h := newGeneric(t, Options{})
	a := h.do("POST", "/Users", samplePayload)
	h.expectGeneric(a, http.StatusCreated)
	id := a.str("id")
	if id == "" {
		t.Fatalf("no id: %s", a.raw)
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(samplePayload), &want); err != nil {
		t.Fatal(err)
	}
	meta, _ := a.body["meta"].(map[string]any)
	loc, _ := meta["location"].(string)
	if loc != h.url+"/Users/"+id || a.header.Get("Location") != loc {
		t.Fatalf("meta.location %q, Location %q, want %s/Users/%s", loc, a.header.Get("Location"), h.url, id)
	}
	if meta["created"] != "2026-01-02T03:04:05Z" || meta["lastModified"] != "2026-01-02T03:04:05Z" {
		t.Fatalf("meta %v", meta)
	}
	for _, got := range []struct {
		name   string
		a      answer
		status int
	}{{"POST", a, http.StatusCreated}, {"GET", h.do("GET", "/Users/"+id, nil), http.StatusOK}} {
		h.expectGeneric(got.a, got.status)
		delete(got.a.body, "id")
		delete(got.a.body, "meta")
		if !reflect.DeepEqual(got.a.body, want) {
			t.Fatalf("%s answered\n%v\nwant\n%v", got.name, got.a.body, want)
		}
	}
	if u, ok := h.srv.User(id); !ok || u.Formatted != "James Bond" || len(u.Addresses) != 1 || !u.ViaSCIM {
		t.Fatalf("stored %+v", u)
	}
}

// TestGenericUserRules checks each rule of the page on a POST: a refusal
// is a 400 (409 for uniqueness) with the 1.1 error body naming the
// attribute.
func TestGenericUserRules(t *testing.T) {
	cases := []struct {
		name   string
		body   any
		status int
		says   string
		ctype  string // "" is application/json
	}{
		{"valid", genericUser("ana@x.org"), 201, "", ""},
		{"userName differs from the email in case only", genericUser("ana@x.org", func(u map[string]any) {
			u["userName"] = "ANA@X.org"
		}), 201, "", ""},
		{"scim+json accepted too", genericUser("ana@x.org"), 201, "", "application/scim+json"},
		{"other media type", genericUser("ana@x.org"), 415, "application/json", "text/plain"},
		{"no schemas", genericUser("ana@x.org", func(u map[string]any) { delete(u, "schemas") }), 400, "schemas", ""},
		{"SCIM 2.0 schema only", genericUser("ana@x.org", func(u map[string]any) {
			u["schemas"] = []any{coreUserSchema}
		}), 400, "urn:scim:schemas:core:1.0", ""},
		{"no userName", genericUser("ana@x.org", func(u map[string]any) { delete(u, "userName") }), 400, "userName", ""},
		{"userName is not the email", genericUser("ana@x.org", func(u map[string]any) {
			u["userName"] = "ana.silva"
		}), 400, "userName", ""},
		{"no work email", genericUser("ana@x.org", func(u map[string]any) {
			u["emails"] = []any{map[string]any{"value": "ana@x.org", "type": "home", "primary": true}}
		}), 400, "work", ""},
		{"no emails", genericUser("ana@x.org", func(u map[string]any) { delete(u, "emails") }), 400, "emails", ""},
		{"formatted name alone", genericUser("ana@x.org", func(u map[string]any) {
			u["name"] = map[string]any{"formatted": "Ana Silva"}
		}), 400, "name.givenName", ""},
		{"no familyName", genericUser("ana@x.org", func(u map[string]any) {
			u["name"] = map[string]any{"givenName": "Ana"}
		}), 400, "name.familyName", ""},
		{"userName not a string", genericUser("ana@x.org", func(u map[string]any) { u["userName"] = 7 }), 400, "userName", ""},
		{"not JSON", `{"schemas":`, 400, "JSON", ""},
		{"taken userName, other case", genericUser("TAKEN@x.org"), 409, "userName", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newGeneric(t, Options{})
			h.createGeneric(genericUser("taken@x.org"))
			if tc.ctype != "" {
				h.ctype = tc.ctype
			}
			a := h.do("POST", "/Users", tc.body)
			h.expectGeneric(a, tc.status)
			if !strings.Contains(a.description(), tc.says) {
				t.Fatalf("description %q does not name %q", a.description(), tc.says)
			}
		})
	}
}

// TestGenericIgnoredAttributes checks that externalId, unknown attributes,
// an extension and a meta in the body are neither stored nor returned.
func TestGenericIgnoredAttributes(t *testing.T) {
	h := newGeneric(t, Options{})
	a := h.do("POST", "/Users", genericUser("ana@x.org", func(u map[string]any) {
		u["externalId"] = "condeco:1"
		u["nickName"] = "Ani"
		u[DefaultUserSchema] = map[string]any{"locations": []any{}}
		u["meta"] = map[string]any{"created": "1999-01-01T00:00:00Z", "attributes": 5}
	}))
	h.expectGeneric(a, http.StatusCreated)
	for _, k := range []string{"externalId", "nickName", DefaultUserSchema} {
		if _, ok := a.body[k]; ok {
			t.Errorf("%s returned: %s", k, a.raw)
		}
	}
	if m, _ := a.body["meta"].(map[string]any); m["created"] != "2026-01-02T03:04:05Z" {
		t.Errorf("meta from the body kept: %v", m)
	}
	if u, _ := h.srv.User(a.str("id")); u.ExternalID != "" || len(u.Locations) != 0 {
		t.Errorf("stored %+v", u)
	}
}

// TestGenericPhoneNumbers checks that only E.164 numbers of type mobile or
// work are kept, the rest dropped without failing the request.
func TestGenericPhoneNumbers(t *testing.T) {
	cases := []struct {
		name  string
		phone map[string]any
		kept  bool
	}{
		{"E.164 mobile", map[string]any{"type": "mobile", "value": "+447700900123"}, true},
		{"E.164 work", map[string]any{"type": "work", "value": "+14155552671"}, true},
		{"the page's own number", map[string]any{"type": "mobile", "value": "+44007007007"}, true},
		{"national format", map[string]any{"type": "mobile", "value": "07700 900123"}, false},
		{"spaces", map[string]any{"type": "mobile", "value": "+44 7700 900123"}, false},
		{"leading zero after plus", map[string]any{"type": "mobile", "value": "+0447700900123"}, false},
		{"sixteen digits", map[string]any{"type": "mobile", "value": "+4477009001234567"}, false},
		{"type home", map[string]any{"type": "home", "value": "+447700900123"}, false},
		{"no type", map[string]any{"value": "+447700900123"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newGeneric(t, Options{})
			a := h.do("POST", "/Users", genericUser("ana@x.org", func(u map[string]any) {
				u["phoneNumbers"] = []any{tc.phone}
			}))
			h.expectGeneric(a, http.StatusCreated)
			got, returned := a.body["phoneNumbers"].([]any)
			u, _ := h.srv.User(a.str("id"))
			if tc.kept != returned || tc.kept != (len(u.PhoneNumbers) == 1) {
				t.Fatalf("kept %v: answer %v, stored %v", tc.kept, got, u.PhoneNumbers)
			}
			if tc.kept && u.PhoneNumbers[0].Value != tc.phone["value"] {
				t.Fatalf("stored %v", u.PhoneNumbers)
			}
		})
	}
}

// TestGenericUniqueness checks userName is unique without case, against
// users made by hand too, on POST and PUT.
func TestGenericUniqueness(t *testing.T) {
	h := newGeneric(t, Options{})
	h.createGeneric(genericUser("ana@x.org"))
	h.handmade("hand@x.org")
	bob := h.createGeneric(genericUser("bob@x.org"))
	cases := []struct {
		name, method, path string
		body               any
	}{
		{"POST, other case", "POST", "/Users", genericUser("Ana@X.ORG")},
		{"POST, hand-made user's", "POST", "/Users", genericUser("HAND@x.org")},
		{"PUT onto a taken name", "PUT", "/Users/" + bob, genericUser("ana@x.org")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.expectGeneric(h.do(tc.method, tc.path, tc.body), http.StatusConflict)
		})
	}
	if n := len(h.srv.Users()); n != 3 {
		t.Fatalf("%d users stored, want 3", n)
	}
}

// TestGenericRoutes checks what answers where: /Users and the plural
// /ServiceProviderConfigs, /Groups refused with 501 on any method and
// sub-path, every other path 404 (the SCIM 2.0 singular name included).
func TestGenericRoutes(t *testing.T) {
	h := newGeneric(t, Options{})
	cases := []struct {
		method, path string
		status       int
	}{
		{"GET", "/Users", 200},
		{"GET", "/ServiceProviderConfigs", 200},
		{"GET", "/Groups", 501},
		{"POST", "/Groups", 501},
		{"GET", "/Groups/g1", 501},
		{"DELETE", "/Groups/g1", 501},
		{"PATCH", "/Groups/g1/members", 501},
		{"GET", "/ServiceProviderConfig", 404},
		{"GET", "/ResourceTypes", 404},
		{"GET", "/Schemas", 404},
		{"GET", "/Locations", 404},
		{"GET", "/Users/nope", 404},
		{"DELETE", "/Users", 405},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			h.expectGeneric(h.do(tc.method, tc.path, nil), tc.status)
		})
	}
	t.Run("no route outside the base", func(t *testing.T) {
		for _, p := range []string{BasePath + "/Users", "/oauth/token"} {
			a := h.doWith("GET", h.root+p, nil, map[string]string{"Authorization": "Bearer " + h.token})
			h.expectGeneric(a, http.StatusNotFound)
		}
	})
}

// TestScim2RefusesGenericNames checks the scim2 flavour answers 404 where
// generic-v1 answers: how a client tells the flavours apart.
func TestScim2RefusesGenericNames(t *testing.T) {
	h := newHarness(t, Options{})
	h.expect(h.do("GET", "/ServiceProviderConfigs", nil), http.StatusNotFound, "")
	h.expect(h.do("GET", "/ServiceProviderConfig", nil), http.StatusOK, "")
}

// TestGenericServiceProviderConfigs checks the 1.1 document and that
// patch.supported follows Options.GenericPatch.
func TestGenericServiceProviderConfigs(t *testing.T) {
	for _, patch := range []bool{false, true} {
		h := newGeneric(t, Options{GenericPatch: patch})
		a := h.do("GET", "/ServiceProviderConfigs", nil)
		h.expectGeneric(a, http.StatusOK)
		var doc struct {
			Schemas []string
			Patch   struct{ Supported bool }
			Bulk    struct{ Supported bool }
			Filter  struct {
				Supported  bool
				MaxResults int
			}
			XMLDataFormat struct {
				Supported *bool
			} `json:"xmlDataFormat"`
			AuthenticationSchemes []struct {
				Name    string
				Primary bool
			}
		}
		if err := json.Unmarshal(a.raw, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Schemas) != 1 || doc.Schemas[0] != genericSchema || doc.Patch.Supported != patch || doc.Bulk.Supported ||
			!doc.Filter.Supported || doc.Filter.MaxResults != 200 || doc.XMLDataFormat.Supported == nil ||
			len(doc.AuthenticationSchemes) != 1 || doc.AuthenticationSchemes[0].Name != "OAuth Bearer Token" {
			t.Fatalf("patch %v: %s", patch, a.raw)
		}
	}
}
