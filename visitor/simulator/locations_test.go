package simulator

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func loc(name, ext string) map[string]any {
	m := map[string]any{"schemas": []any{DefaultLocationSchema}, "name": name}
	if ext != "" {
		m["externalId"] = ext
	}
	return m
}

func TestDefaultLocation(t *testing.T) {
	h := newHarness(t, Options{DefaultLocationName: "London"})
	ls := h.srv.Locations()
	if len(ls) != 1 || ls[0].ID != "loc-0001" || ls[0].Name != "London" || !ls[0].Default {
		t.Fatalf("%+v", ls)
	}
	if !regexp.MustCompile(`^CO-[0-9A-Z]{5}$`).MatchString(ls[0].CompanyID) {
		t.Fatalf("companyId %q", ls[0].CompanyID)
	}
}

func TestCreateLocation(t *testing.T) {
	cases := []struct {
		name     string
		body     any
		status   int
		scimType string
	}{
		{"valid", loc("Paris", "condeco-location:2"), 201, ""},
		{"without externalId", loc("Paris", ""), 201, ""},
		{"name taken, other case", loc("paris", "condeco-location:3"), 409, "uniqueness"},
		{"default name taken", loc("default LOCATION", ""), 409, "uniqueness"},
		{"externalId taken", loc("Lyon", "condeco-location:1"), 409, "uniqueness"},
		{"no name", loc("", "condeco-location:4"), 400, "invalidValue"},
		{"name over 64", loc(strings.Repeat("n", 65), ""), 400, "invalidValue"},
		{"wrong schema", map[string]any{"schemas": []any{coreUserSchema}, "name": "Lyon"}, 400, "invalidSyntax"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.expect(h.do("POST", "/Locations", loc("Paris", "condeco-location:1")), 201, "")
			if tc.name == "valid" || tc.name == "without externalId" {
				tc.body.(map[string]any)["name"] = "Berlin"
			}
			a := h.do("POST", "/Locations", tc.body)
			h.expect(a, tc.status, tc.scimType)
			if tc.status != 201 {
				return
			}
			if a.str("id") != "loc-0003" || !strings.HasPrefix(a.str("companyId"), "CO-") || a.body["default"] != false {
				t.Fatalf("answer %s", a.raw)
			}
			g := h.do("GET", "/Locations/loc-0003", nil)
			h.expect(g, 200, "")
			if g.str("name") != "Berlin" {
				t.Fatalf("GET %s", g.raw)
			}
		})
	}
}

func TestPutLocationExternalIDImmutable(t *testing.T) {
	h := newHarness(t, Options{})
	h.expect(h.do("POST", "/Locations", loc("Paris", "condeco-location:1")), 201, "")
	h.expect(h.do("PUT", "/Locations/loc-0002", loc("Paris", "condeco-location:9")), 400, "mutability")
	h.expect(h.do("PUT", "/Locations/loc-0002", loc("Paris 8e", "condeco-location:1")), 200, "")
	h.expect(h.do("PUT", "/Locations/loc-0002", loc("Default location", "")), 409, "uniqueness")
	if l := h.srv.Locations()[1]; l.Name != "Paris 8e" || l.ExternalID != "condeco-location:1" {
		t.Fatalf("%+v", l)
	}
}

func TestListLocations(t *testing.T) {
	h := newHarness(t, Options{LocationsEndpoint: "Sites"})
	for _, n := range []string{"A", "B", "C"} {
		h.expect(h.do("POST", "/Sites", loc(n, "condeco-location:"+n)), 201, "")
	}
	h.expect(h.do("GET", "/Locations", nil), 404, "")
	a := h.do("GET", "/Sites?startIndex=2&count=2", nil)
	h.expect(a, 200, "")
	res := a.body["Resources"].([]any)
	if a.num("totalResults") != 4 || len(res) != 2 || res[0].(map[string]any)["name"] != "A" {
		t.Fatalf("%s", a.raw)
	}
	a = h.do("GET", "/Sites?filter="+url.QueryEscape(`externalId eq "condeco-location:B"`), nil)
	if a.num("totalResults") != 1 {
		t.Fatalf("%s", a.raw)
	}
	h.expect(h.do("GET", "/Sites/loc-0009", nil), 404, "")
}
