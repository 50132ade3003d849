package simulator

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// clientBody is a user as the sync's client writes it, with n locations.
func clientBody(ext string, n int) string {
	var locs []string
	for i := range n {
		locs = append(locs, fmt.Sprintf(`{"value":"loc-%04d","role":"user"}`, i))
	}
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + ext + `"],"externalId":"condeco:1",` +
		`"userName":"ana@example.com","name":{"givenName":"Ana","familyName":"Silva"},` +
		`"emails":[{"value":"ana@example.com","type":"work","primary":true}],"phoneNumbers":[{"value":"+442079460123","type":"work"}],` +
		`"preferredLanguage":"en-GB","active":true,"` + ext + `":{"defaultLocation":"loc-0000","locations":[` +
		strings.Join(locs, ",") + `],"sendInvitation":false}}`
}

// The one-pass reader takes the bodies the client writes, and wherever it
// answers, it answers what the general decoder does.
func TestDecodeUserFast(t *testing.T) {
	s := New(Options{Token: "t"})
	ext := s.opts.UserSchema
	cases := []struct {
		name string
		body string
		fast bool
	}{
		{"client body, 1000 locations", clientBody(ext, 1000), true},
		{"client body, no locations", clientBody(ext, 0), true},
		{"no extension", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@b.c"}`, true},
		{"white space", " {\n \"userName\" : \"a@b.c\" , \"" + ext + "\" : { \"locations\" : [ { \"role\" : \"admin\" , \"value\" : \"l1\" } ] } } ", true},
		{"extension twice", `{"` + ext + `":{},"` + strings.ToUpper(ext) + `":{}}`, false},
		{"key spelt otherwise", `{"` + ext + `":{"Locations":[]}}`, false},
		{"escaped string", `{"` + ext + `":{"defaultLocation":"l\u0031"}}`, false},
		{"unknown urn", `{"urn:x":{}}`, false},
		{"not JSON", `{"userName":"a@b.c",}`, false},
		{"type error", `{"active":"yes"}`, false},
		{"null", `null`, false},
		{"location with a third key", `{"` + ext + `":{"locations":[{"value":"a","role":"user","x":1}]}}`, false},
		{"sendInvitation not a bool", `{"` + ext + `":{"sendInvitation":1}}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := s.decodeUserFast([]byte(tc.body))
			if ok != tc.fast {
				t.Fatalf("fast path taken: %v, want %v", ok, tc.fast)
			}
			if ok {
				want, err := s.decodeUserSlow([]byte(tc.body))
				if err != nil {
					t.Fatalf("the general decoder refuses what the fast one read: %v", err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("fast %+v\nslow %+v", got, want)
				}
			}
		})
	}
}

// FuzzDecodeUserFast: on any body, the one-pass reader either declines or
// agrees with the general decoder.
func FuzzDecodeUserFast(f *testing.F) {
	s := New(Options{Token: "t"})
	ext := s.opts.UserSchema
	for _, b := range []string{clientBody(ext, 3), clientBody(ext, 0), `{}`, `{"a":[1,{"b":"]"}],"c":"\"}"}`,
		`{"` + ext + `":{"locations":[{"value":"a","role":"user"}],"defaultLocation":"a"}}`} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, ok := s.decodeUserFast([]byte(body))
		if !ok {
			return
		}
		want, err := s.decodeUserSlow([]byte(body))
		if err != nil {
			t.Fatalf("fast path read %q; the general decoder says %v", body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: fast %+v\nslow %+v", body, got, want)
		}
	})
}
