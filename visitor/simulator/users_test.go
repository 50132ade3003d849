package simulator

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func set(key string, v any) func(map[string]any) {
	return func(m map[string]any) { m[key] = v }
}

func setExt(key string, v any) func(map[string]any) {
	return func(m map[string]any) { m[DefaultUserSchema].(map[string]any)[key] = v }
}

func del(key string) func(map[string]any) {
	return func(m map[string]any) { delete(m, key) }
}

func TestCreateUserRules(t *testing.T) {
	long := strings.Repeat("a", 65)
	cases := []struct {
		name     string
		body     any
		status   int
		scimType string
	}{
		{"valid", user("ana@example.com", "condeco:1"), 201, ""},
		{"userName differs from work email", user("ana@example.com", "condeco:1", set("userName", "bob@example.com")), 400, "invalidValue"},
		{"userName equals email ignoring case", user("ana@example.com", "condeco:1", set("userName", "ANA@Example.com")), 201, ""},
		{"missing userName", user("ana@example.com", "condeco:1", del("userName")), 400, "invalidValue"},
		{"missing emails", user("ana@example.com", "condeco:1", del("emails")), 400, "invalidValue"},
		{"no work email", user("ana@example.com", "condeco:1", set("emails", []any{map[string]any{"value": "ana@example.com", "type": "home"}})), 400, "invalidValue"},
		{"missing name", user("ana@example.com", "condeco:1", del("name")), 400, "invalidValue"},
		{"missing familyName", user("ana@example.com", "condeco:1", set("name", map[string]any{"givenName": "Ana"})), 400, "invalidValue"},
		{"underscore in givenName", user("ana@example.com", "condeco:1", set("name", map[string]any{"givenName": "An_a", "familyName": "Silva"})), 400, "invalidValue"},
		{"underscore in familyName", user("ana@example.com", "condeco:1", set("name", map[string]any{"givenName": "Ana", "familyName": "Sil_va"})), 400, "invalidValue"},
		{"givenName of 65 characters", user("ana@example.com", "condeco:1", set("name", map[string]any{"givenName": long, "familyName": "Silva"})), 400, "invalidValue"},
		{"givenName of 64 multibyte characters", user("ana@example.com", "condeco:1", set("name", map[string]any{"givenName": strings.Repeat("é", 64), "familyName": "Silva"})), 201, ""},
		{"externalId of 65 characters", user("ana@example.com", long), 400, "invalidValue"},
		{"preferredLanguage of 65 characters", user("ana@example.com", "condeco:1", set("preferredLanguage", long)), 400, "invalidValue"},
		{"email with #", user("a#na@example.com", "condeco:1"), 400, "invalidValue"},
		{"email with comma", user("a,na@example.com", "condeco:1"), 400, "invalidValue"},
		{"email with slash", user("a/na@example.com", "condeco:1"), 400, "invalidValue"},
		{"email with quote", user(`a"na@example.com`, "condeco:1"), 400, "invalidValue"},
		{"email without @", user("ana.example.com", "condeco:1"), 400, "invalidValue"},
		{"unknown default location", user("ana@example.com", "condeco:1", setExt("defaultLocation", "loc-9999")), 400, "invalidValue"},
		{"unknown location grant", user("ana@example.com", "condeco:1", setExt("locations", []any{map[string]any{"value": "loc-0042", "role": "user"}})), 400, "invalidValue"},
		{"unknown role", user("ana@example.com", "condeco:1", setExt("locations", []any{map[string]any{"value": "loc-0001", "role": "boss"}})), 400, "invalidValue"},
		{"location listed twice", user("ana@example.com", "condeco:1", setExt("locations", []any{map[string]any{"value": "loc-0001", "role": "user"}, map[string]any{"value": "loc-0001", "role": "admin"}})), 400, "invalidValue"},
		{"hand-set role beside user on one location", user("ana@example.com", "condeco:1", setExt("locations", []any{map[string]any{"value": "loc-0001", "role": "reception"}, map[string]any{"value": "loc-0001", "role": "user"}})), 400, "invalidValue"},
		{"active as string", user("ana@example.com", "condeco:1", set("active", "true")), 400, "invalidValue"},
		{"core schema missing", user("ana@example.com", "condeco:1", set("schemas", []any{DefaultUserSchema})), 400, "invalidSyntax"},
		{"extension used but not listed", user("ana@example.com", "condeco:1", set("schemas", []any{coreUserSchema})), 400, "invalidSyntax"},
		{"unknown extension", user("ana@example.com", "condeco:1", set("urn:example:other:2.0:User", map[string]any{})), 400, "invalidSyntax"},
		{"not JSON", "{not json", 400, "invalidSyntax"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			a := h.do("POST", "/Users", tc.body)
			h.expect(a, tc.status, tc.scimType)
			want := 0
			if tc.status == 201 {
				want = 1
			}
			if n := len(h.srv.Users()); n != want {
				t.Fatalf("%d users stored, want %d", n, want)
			}
		})
	}
}

func TestCreateUserStoresAndAnswers(t *testing.T) {
	h := newHarness(t, Options{})
	body := user("ana@example.com", "condeco:1", set("phoneNumbers", []any{
		map[string]any{"value": "+442071234567", "type": "work"},
		map[string]any{"value": "020 7123 4567", "type": "mobile"},
		map[string]any{"value": "+44207", "type": "other"},
	}), setExt("sendInvitation", true))
	a := h.do("POST", "/Users", body)
	h.expect(a, 201, "")
	id := a.str("id")
	if a.header.Get("Location") != h.url+"/Users/"+id {
		t.Errorf("Location header %q", a.header.Get("Location"))
	}
	meta, _ := a.body["meta"].(map[string]any)
	if meta["location"] != h.url+"/Users/"+id || meta["resourceType"] != "User" || meta["created"] != "2026-01-02T03:04:05Z" {
		t.Errorf("meta %v", meta)
	}
	ext, _ := a.body[DefaultUserSchema].(map[string]any)
	if _, ok := ext["sendInvitation"]; ok {
		t.Errorf("sendInvitation is write-only but was returned: %v", ext)
	}
	phones, _ := a.body["phoneNumbers"].([]any)
	if len(phones) != 1 {
		t.Fatalf("phones %v, want only the E.164 one", phones)
	}
	us := h.srv.Users()
	if len(us) != 1 || len(us[0].PhoneNumbers) != 1 || us[0].PhoneNumbers[0].Value != "+442071234567" || !us[0].ViaSCIM {
		t.Fatalf("stored %+v", us)
	}
	out := h.srv.Outbox()
	if len(out) != 1 || out[0].To != "ana@example.com" || out[0].Subject != InvitationSubject || out[0].UserID != id {
		t.Fatalf("outbox %+v", out)
	}
	h.create(user("bob@example.com", "condeco:2"))
	if n := len(h.srv.Outbox()); n != 1 {
		t.Fatalf("outbox has %d mails after a create without sendInvitation", n)
	}
	g := h.do("GET", "/Users/"+id, nil)
	h.expect(g, 200, "")
	if g.str("userName") != "ana@example.com" || g.str("externalId") != "condeco:1" {
		t.Fatalf("GET %s", g.raw)
	}
	h.expect(h.do("GET", "/Users/nope", nil), 404, "")
}

func TestUniqueness(t *testing.T) {
	cases := []struct {
		name   string
		second map[string]any
		status int
	}{
		{"same userName", user("ana@example.com", "condeco:2"), 409},
		{"same userName other case", user("ANA@EXAMPLE.COM", "condeco:2"), 409},
		{"same externalId", user("bob@example.com", "condeco:1"), 409},
		{"externalId differs in case only", user("bob@example.com", "CONDECO:1"), 201},
		{"different", user("bob@example.com", "condeco:2"), 201},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.create(user("ana@example.com", "condeco:1"))
			a := h.do("POST", "/Users", tc.second)
			if tc.status == 409 {
				h.expect(a, 409, "uniqueness")
			} else {
				h.expect(a, tc.status, "")
			}
		})
	}
}

func TestHandmadeUserCountsForUniqueness(t *testing.T) {
	h := newHarness(t, Options{})
	h.srv.AddHandmadeUser(User{UserName: "ana@example.com", Emails: []Email{{Value: "ana@example.com", Type: "work"}}, Active: true})
	h.expect(h.do("POST", "/Users", user("Ana@example.com", "condeco:1")), 409, "uniqueness")
}

func TestDelete(t *testing.T) {
	h := newHarness(t, Options{})
	hand := h.srv.AddHandmadeUser(User{UserName: "boss@example.com", GivenName: "Bo", FamilyName: "Ss",
		Emails: []Email{{Value: "boss@example.com", Type: "work", Primary: true}}, Active: true,
		Locations: []LocationRole{{Value: "loc-0001", Role: "admin"}}})
	id := h.create(user("ana@example.com", "condeco:1"))
	cases := []struct {
		name   string
		id     string
		status int
	}{
		{"hand-made user", hand.ID, 403},
		{"unknown user", "nope", 404},
		{"scim user", id, 204},
		{"already deleted", id, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := h.do("DELETE", "/Users/"+tc.id, nil)
			h.expect(a, tc.status, "")
			if tc.status == 204 && len(a.raw) != 0 {
				t.Fatalf("204 with a body: %s", a.raw)
			}
		})
	}
	if us := h.srv.Users(); len(us) != 1 || us[0].ID != hand.ID {
		t.Fatalf("left %+v", us)
	}
}

func TestLastActiveAdmin(t *testing.T) {
	admin := setExt("locations", []any{map[string]any{"value": "loc-0001", "role": "admin"}})
	cases := []struct {
		name      string
		handAdmin bool // an admin made in the UI exists too
		req       func(h *harness, id string) answer
		status    int
	}{
		{"delete last admin", false, func(h *harness, id string) answer { return h.do("DELETE", "/Users/"+id, nil) }, 409},
		{"deactivate last admin", false, func(h *harness, id string) answer {
			return h.do("PATCH", "/Users/"+id, patch(op("replace", "active", false)))
		}, 409},
		{"demote last admin", false, func(h *harness, id string) answer {
			return h.do("PATCH", "/Users/"+id, patch(op("replace", DefaultUserSchema+":locations",
				[]any{map[string]any{"value": "loc-0001", "role": "user"}})))
		}, 409},
		{"remove grants of last admin", false, func(h *harness, id string) answer {
			return h.do("PATCH", "/Users/"+id, patch(op("remove", DefaultUserSchema+":locations", nil)))
		}, 409},
		{"put without admin role", false, func(h *harness, id string) answer {
			return h.do("PUT", "/Users/"+id, user("ana@example.com", "condeco:1"))
		}, 409},
		{"rename last admin", false, func(h *harness, id string) answer {
			return h.do("PATCH", "/Users/"+id, patch(op("replace", "name.givenName", "Anna")))
		}, 200},
		{"delete admin when a hand-made admin remains", true, func(h *harness, id string) answer { return h.do("DELETE", "/Users/"+id, nil) }, 204},
		{"deactivate admin when a hand-made admin remains", true, func(h *harness, id string) answer {
			return h.do("PATCH", "/Users/"+id, patch(op("replace", "active", false)))
		}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			if tc.handAdmin {
				h.srv.AddHandmadeUser(User{UserName: "boss@example.com", Active: true,
					Locations: []LocationRole{{Value: "loc-0001", Role: "admin"}}})
			} else {
				// an inactive hand-made admin does not count
				h.srv.AddHandmadeUser(User{UserName: "old@example.com", Active: false,
					Locations: []LocationRole{{Value: "loc-0001", Role: "admin"}}})
			}
			id := h.create(user("ana@example.com", "condeco:1", admin))
			a := tc.req(h, id)
			if tc.status == 409 {
				h.expect(a, 409, "mutability")
			} else {
				h.expect(a, tc.status, "")
			}
		})
	}
}

func TestNoAdminsToStartWith(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.create(user("ana@example.com", "condeco:1"))
	h.expect(h.do("DELETE", "/Users/"+id, nil), http.StatusNoContent, "")
}

// A client configured with another extension URN than the server's must
// fail loudly, not have its locations silently ignored.
func TestConfiguredUserSchema(t *testing.T) {
	const urn = "urn:example:eptura:visitor:User"
	h := newHarness(t, Options{UserSchema: urn})
	h.expect(h.do("POST", "/Users", user("ana@example.com", "condeco:1")), 400, "invalidSyntax")
	body := user("ana@example.com", "condeco:1", func(m map[string]any) {
		m[urn] = m[DefaultUserSchema]
		delete(m, DefaultUserSchema)
		m["schemas"] = []any{coreUserSchema, urn}
	})
	a := h.do("POST", "/Users", body)
	h.expect(a, 201, "")
	if _, ok := a.body[urn]; !ok {
		t.Fatalf("answer lacks %s: %s", urn, a.raw)
	}
	id := a.str("id")
	h.expect(h.do("PATCH", "/Users/"+id, patch(op("replace", urn+":defaultLocation", "loc-0001"))), 200, "")
	h.expect(h.do("PATCH", "/Users/"+id, patch(op("replace", DefaultUserSchema+":defaultLocation", "loc-0001"))), 400, "invalidPath")
}

// A deactivated user can be brought back; a deleted one cannot.
func TestReactivateAndDeleteForever(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.create(user("ana@example.com", "condeco:1"))
	h.expect(h.do("PATCH", "/Users/"+id, patch(op("replace", "active", false))), 200, "")
	h.expect(h.do("PATCH", "/Users/"+id, patch(op("replace", "active", true))), 200, "")
	if !h.srv.Users()[0].Active {
		t.Fatal("not reactivated")
	}
	h.expect(h.do("DELETE", "/Users/"+id, nil), 204, "")
	h.expect(h.do("PATCH", "/Users/"+id, patch(op("replace", "active", true))), 404, "")
	h.expect(h.do("GET", "/Users/"+id, nil), 404, "")
	// the userName is free again, under a new id
	if id2 := h.create(user("ana@example.com", "condeco:1")); id2 == id {
		t.Fatal("id reused")
	}
}

// Deleted users leave gaps in the listing order, compacted once they are
// half of it: listings, the user snapshot and a re-added id see each user
// once, in creation order.
func TestDeleteKeepsOrderWithGaps(t *testing.T) {
	h := newHarness(t, Options{})
	var ids []string
	for i := range 10 {
		ids = append(ids, h.create(user(fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("condeco:%d", i))))
	}
	check := func(step string, want []string) {
		t.Helper()
		var got []string
		for _, u := range h.srv.Users() {
			got = append(got, u.ID)
		}
		a := h.do("GET", `/Users?filter=externalId%20sw%20%22condeco:%22&count=200`, nil)
		h.expect(a, http.StatusOK, "")
		var listed []string
		for _, r := range a.body["Resources"].([]any) {
			listed = append(listed, r.(map[string]any)["id"].(string))
		}
		if !slices.Equal(got, want) || !slices.Equal(listed, want) {
			t.Fatalf("%s: users %v, listed %v, want %v", step, got, listed, want)
		}
	}
	for _, i := range []int{3, 0, 7} { // gaps, no compaction yet
		h.expect(h.do("DELETE", "/Users/"+ids[i], nil), http.StatusNoContent, "")
	}
	check("three gaps", []string{ids[1], ids[2], ids[4], ids[5], ids[6], ids[8], ids[9]})
	if h.srv.orderGaps != 3 {
		t.Errorf("%d gaps, want 3", h.srv.orderGaps)
	}
	for _, i := range []int{1, 2, 4} { // the sixth gap compacts
		h.expect(h.do("DELETE", "/Users/"+ids[i], nil), http.StatusNoContent, "")
	}
	check("compacted", []string{ids[5], ids[6], ids[8], ids[9]})
	if h.srv.orderGaps != 0 || len(h.srv.userOrder) != 4 {
		t.Errorf("after compaction: %d gaps, order %v", h.srv.orderGaps, h.srv.userOrder)
	}
	h.expect(h.do("DELETE", "/Users/"+ids[9], nil), http.StatusNoContent, "")
	h.srv.AddHandmadeUser(User{ID: ids[9], UserName: "hand@example.com", GivenName: "H", FamilyName: "M"})
	var got []string
	for _, u := range h.srv.Users() {
		got = append(got, u.ID)
	}
	if want := []string{ids[5], ids[6], ids[8], ids[9]}; !slices.Equal(got, want) {
		t.Errorf("re-added id: users %v, want %v", got, want)
	}
}
