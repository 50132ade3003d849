package simulator

import (
	"fmt"
	"net/url"
	"testing"
)

// addUsers makes 5 SCIM users (u0..u4, u3 inactive) and one hand-made one.
func addUsers(h *harness) {
	h.t.Helper()
	for i := range 5 {
		body := user(fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("condeco:%d", i))
		if i == 3 {
			body["active"] = false
		}
		h.create(body)
	}
	h.srv.AddHandmadeUser(User{UserName: "hand@example.com", ExternalID: "ui:1", Active: true,
		Emails: []Email{{Value: "hand@example.com", Type: "work", Primary: true}}})
}

func userNames(a answer) []string {
	var out []string
	res, _ := a.body["Resources"].([]any)
	for _, r := range res {
		out = append(out, r.(map[string]any)["userName"].(string))
	}
	return out
}

func TestListUsersFilter(t *testing.T) {
	cases := []struct {
		name   string
		filter string
		want   []string
	}{
		{"no filter: active SCIM users only", "", []string{"u0@example.com", "u1@example.com", "u2@example.com", "u4@example.com"}},
		{"userName eq ignores case", `userName eq "U1@EXAMPLE.COM"`, []string{"u1@example.com"}},
		{"attribute name ignores case", `USERNAME eq "u1@example.com"`, []string{"u1@example.com"}},
		{"full URN attribute", `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "u2@example.com"`, []string{"u2@example.com"}},
		{"externalId sw lists inactive too", `externalId sw "condeco:"`, []string{"u0@example.com", "u1@example.com", "u2@example.com", "u3@example.com", "u4@example.com"}},
		{"externalId is case exact", `externalId sw "CONDECO:"`, nil},
		{"filter finds hand-made users", `userName eq "hand@example.com"`, []string{"hand@example.com"}},
		{"emails.value co", `emails.value co "4@EX"`, []string{"u4@example.com"}},
		{"ew", `userName ew "3@example.com"`, []string{"u3@example.com"}},
		{"ne", `externalId ne "condeco:0" and externalId sw "condeco"`, []string{"u1@example.com", "u2@example.com", "u3@example.com", "u4@example.com"}},
		{"active eq false", `active eq false`, []string{"u3@example.com"}},
		{"and", `externalId sw "condeco:" and active eq true and userName sw "u1"`, []string{"u1@example.com"}},
		{"or of externalId eq (batched re-read), inactive included", `externalId eq "condeco:3" or externalId eq "condeco:1" or externalId eq "nope"`, []string{"u1@example.com", "u3@example.com"}},
		{"or set lookup stays case exact on externalId", `externalId eq "CONDECO:1" or externalId eq "condeco:2"`, []string{"u2@example.com"}},
		{"or on userName ignores case", `userName eq "U0@example.com" or userName eq "u4@EXAMPLE.com"`, []string{"u0@example.com", "u4@example.com"}},
		{"mixed or and and", `(userName sw "u1" or userName sw "u2") and active eq true`, []string{"u1@example.com", "u2@example.com"}},
	}
	h := newHarness(t, Options{})
	addUsers(h)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := ""
			if tc.filter != "" {
				q = "?filter=" + url.QueryEscape(tc.filter)
			}
			a := h.do("GET", "/Users"+q, nil)
			h.expect(a, 200, "")
			got := userNames(a)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if a.num("totalResults") != len(tc.want) || a.num("itemsPerPage") != len(tc.want) || a.num("startIndex") != 1 {
				t.Fatalf("list header %s", a.raw)
			}
		})
	}
}

// A compValue is a JSON string (RFC 7644 §3.4.2.2): `\"` and `\\` in a
// filter are a quote and a backslash in the value, and an injected
// `" or externalId pr` stays part of one value.
func TestListUsersFilterEscapes(t *testing.T) {
	h := newHarness(t, Options{})
	addUsers(h)
	h.create(user("quote@example.com", `condeco:7" or externalId pr or externalId eq "`))
	h.create(user("slash@example.com", `condeco:8\`))
	cases := []struct {
		name, filter string
		want         []string
	}{
		{"escaped quote", `externalId eq "condeco:7\" or externalId pr or externalId eq \""`, []string{"quote@example.com"}},
		{"escaped backslash", `externalId eq "condeco:8\\"`, []string{"slash@example.com"}},
		{"both in an or set", `externalId eq "condeco:8\\" or externalId eq "condeco:7\" or externalId pr or externalId eq \"" or externalId eq "condeco:1"`,
			[]string{"u1@example.com", "quote@example.com", "slash@example.com"}},
		{"unicode escape", `userName eq "\u0071uote@example.com"`, []string{"quote@example.com"}},
		{"sw with an escaped backslash", `externalId sw "condeco:8\\"`, []string{"slash@example.com"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := h.do("GET", "/Users?filter="+url.QueryEscape(tc.filter), nil)
			h.expect(a, 200, "")
			if got := userNames(a); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	h.expect(h.do("GET", "/Users?filter="+url.QueryEscape(`externalId eq "bad \x escape"`), nil), 400, "invalidFilter")
}

func TestListUsersBadFilter(t *testing.T) {
	cases := []struct{ name, filter string }{
		{"not", `not (userName eq "a")`},
		{"gt", `userName gt "a"`},
		{"pr", `userName pr`},
		{"unsupported attribute", `name.givenName eq "Ana"`},
		{"value path", `emails[type eq "work"]`},
		{"active co", `active co "t"`},
		{"active with a string", `active eq "true"`},
		{"userName with a number", `userName eq 1`},
		{"does not parse", `userName eq`},
		{"foreign schema", `urn:example:User:userName eq "a"`},
	}
	h := newHarness(t, Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.expect(h.do("GET", "/Users?filter="+url.QueryEscape(tc.filter), nil), 400, "invalidFilter")
		})
	}
}

func TestListUsersPaging(t *testing.T) {
	h := newHarness(t, Options{MaxResults: 2})
	addUsers(h) // 4 listed without filter
	cases := []struct {
		name                  string
		query                 string
		want                  []string
		total, start, perPage int
	}{
		{"default count is MaxResults", "", []string{"u0@example.com", "u1@example.com"}, 4, 1, 2},
		{"second page", "?startIndex=3&count=2", []string{"u2@example.com", "u4@example.com"}, 4, 3, 2},
		{"count capped", "?startIndex=2&count=500", []string{"u1@example.com", "u2@example.com"}, 4, 2, 2},
		{"past the end", "?startIndex=9", nil, 4, 9, 0},
		{"startIndex below 1 is 1", "?startIndex=0&count=1", []string{"u0@example.com"}, 4, 1, 1},
		{"count 0 gives only the total", "?count=0", nil, 4, 1, 0},
		{"last partial page", "?startIndex=4&count=2", []string{"u4@example.com"}, 4, 4, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := h.do("GET", "/Users"+tc.query, nil)
			h.expect(a, 200, "")
			if got := userNames(a); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if a.num("totalResults") != tc.total || a.num("startIndex") != tc.start || a.num("itemsPerPage") != tc.perPage {
				t.Fatalf("list header %s", a.raw)
			}
			if s, _ := a.body["schemas"].([]any); len(s) != 1 || s[0] != listResponseSchema {
				t.Fatalf("schemas %v", a.body["schemas"])
			}
		})
	}
	for _, q := range []string{"?count=x", "?startIndex=1.5"} {
		h.expect(h.do("GET", "/Users"+q, nil), 400, "invalidValue")
	}
}

func TestServiceProviderConfig(t *testing.T) {
	h := newHarness(t, Options{MaxResults: 50})
	a := h.do("GET", "/ServiceProviderConfig", nil)
	h.expect(a, 200, "")
	f := a.body["filter"].(map[string]any)
	if f["supported"] != true || f["maxResults"] != float64(50) {
		t.Fatalf("filter %v", f)
	}
	if a.body["bulk"].(map[string]any)["supported"] != false || a.body["patch"].(map[string]any)["supported"] != true {
		t.Fatalf("%s", a.raw)
	}
}

func TestResourceTypes(t *testing.T) {
	h := newHarness(t, Options{UserSchema: "urn:example:visitor:User", LocationsEndpoint: "/Sites"})
	a := h.do("GET", "/ResourceTypes", nil)
	h.expect(a, 200, "")
	res := a.body["Resources"].([]any)
	user := res[0].(map[string]any)
	ext := user["schemaExtensions"].([]any)[0].(map[string]any)
	if len(res) != 2 || ext["schema"] != "urn:example:visitor:User" || res[1].(map[string]any)["endpoint"] != "/Sites" {
		t.Fatalf("%s", a.raw)
	}
}
