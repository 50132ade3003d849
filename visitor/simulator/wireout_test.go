package simulator

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// The hand-written encoder gives valid JSON that decodes to the resource
// docs/visitor-scim.md describes, whatever the strings hold, and a cached
// location list is the list it was made from.
func TestAppendUser(t *testing.T) {
	s := New(Options{Token: "t"})
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		u    User
	}{
		{"plain", User{ID: "u1", ExternalID: "condeco:1", UserName: "ana@example.com", GivenName: "Ana", FamilyName: "Silva",
			Emails: []Email{{Value: "ana@example.com", Type: "work", Primary: true}}, Active: true,
			DefaultLocation: "loc-1", Locations: []LocationRole{{"loc-1", "admin"}, {"loc-2", "user"}}}},
		{"hostile strings", User{ID: "u2", ExternalID: `condeco:9" or 1=1 \`, UserName: "zoë@example.com", GivenName: "Zoë <b>&</b>",
			FamilyName: "O\"Brien\\\t\x01", Emails: []Email{{Value: "zoë@example.com"}}, PhoneNumbers: []Phone{{Value: "+442079460123", Type: "work"}},
			PreferredLanguage: "en-GB", Title: "\u202eRTL", Active: false}},
		{"invalid utf-8", User{ID: "u3", UserName: "x@example.com", GivenName: "bad \xff byte", FamilyName: "F"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.u
			u.Created, u.LastModified = t0, t0.Add(time.Hour)
			s.idx.init()
			u.Locations = s.idx.sharedList(u.Locations)
			for range 2 { // the second time from the cached list
				b := s.appendUser(nil, &u, "http://127.0.0.1/scim/v2")
				var got map[string]any
				if err := json.Unmarshal(b, &got); err != nil {
					t.Fatalf("not JSON: %v\n%s", err, b)
				}
				want := map[string]any{
					"schemas":  []any{coreUserSchema, s.opts.UserSchema},
					"id":       u.ID,
					"userName": u.UserName,
					"name":     map[string]any{"givenName": clean(u.GivenName), "familyName": u.FamilyName},
					"active":   u.Active,
					"meta": map[string]any{"resourceType": "User", "created": "2026-12-03T09:00:00Z",
						"lastModified": "2026-12-03T10:00:00Z", "location": "http://127.0.0.1/scim/v2/Users/" + u.ID},
				}
				emails := []any{}
				for _, e := range u.Emails {
					m := map[string]any{"value": e.Value}
					if e.Type != "" {
						m["type"] = e.Type
					}
					if e.Primary {
						m["primary"] = true
					}
					emails = append(emails, m)
				}
				want["emails"] = emails
				if u.ExternalID != "" {
					want["externalId"] = u.ExternalID
				}
				if len(u.PhoneNumbers) > 0 {
					want["phoneNumbers"] = []any{map[string]any{"value": u.PhoneNumbers[0].Value, "type": u.PhoneNumbers[0].Type}}
				}
				if u.PreferredLanguage != "" {
					want["preferredLanguage"] = u.PreferredLanguage
				}
				if u.Title != "" {
					want["title"] = u.Title
				}
				locs := []any{}
				for _, l := range u.Locations {
					locs = append(locs, map[string]any{"value": l.Value, "role": l.Role})
				}
				ext := map[string]any{"locations": locs}
				if u.DefaultLocation != "" {
					ext["defaultLocation"] = u.DefaultLocation
				}
				want[s.opts.UserSchema] = ext
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("decoded\n%v\nwant\n%v", got, want)
				}
			}
		})
	}
}

// clean is what encoding/json makes of invalid UTF-8.
func clean(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}
