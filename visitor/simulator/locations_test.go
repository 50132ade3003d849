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

func TestPatchLocation(t *testing.T) {
	cases := []struct {
		name     string
		id       string
		ops      []map[string]any
		status   int
		scimType string
		wantName string
		wantExt  string
	}{
		{"rename", "loc-0002", []map[string]any{op("replace", "name", "Paris 8e")}, 200, "", "Paris 8e", "condeco-location:1"},
		{"rename in another case", "loc-0002", []map[string]any{op("replace", "name", "PARIS")}, 200, "", "PARIS", "condeco-location:1"},
		{"claim an empty externalId", "loc-0003", []map[string]any{op("replace", "externalId", "condeco-location:7")}, 200, "", "Lyon", "condeco-location:7"},
		{"same externalId again", "loc-0002", []map[string]any{op("replace", "externalId", "condeco-location:1")}, 200, "", "Paris", "condeco-location:1"},
		{"externalId change", "loc-0002", []map[string]any{op("replace", "externalId", "condeco-location:9")}, 400, "mutability", "Paris", "condeco-location:1"},
		{"externalId removed", "loc-0002", []map[string]any{op("remove", "externalId", nil)}, 400, "mutability", "Paris", "condeco-location:1"},
		{"externalId another location has", "loc-0003", []map[string]any{op("replace", "externalId", "condeco-location:1")}, 409, "uniqueness", "Lyon", ""},
		{"name another location has", "loc-0002", []map[string]any{op("replace", "name", "lyon")}, 409, "uniqueness", "Paris", "condeco-location:1"},
		{"empty name", "loc-0002", []map[string]any{op("replace", "name", " ")}, 400, "invalidValue", "Paris", "condeco-location:1"},
		{"name not a string", "loc-0002", []map[string]any{op("replace", "name", 3)}, 400, "invalidValue", "Paris", "condeco-location:1"},
		{"other path", "loc-0002", []map[string]any{op("replace", "companyId", "CO-1")}, 400, "invalidPath", "Paris", "condeco-location:1"},
		{"all or nothing", "loc-0003", []map[string]any{op("replace", "name", "Lyon 2"), op("replace", "name", "")}, 400, "invalidValue", "Lyon", ""},
		{"unknown location", "loc-0009", []map[string]any{op("replace", "name", "X")}, 404, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.expect(h.do("POST", "/Locations", loc("Paris", "condeco-location:1")), 201, "")
			h.expect(h.do("POST", "/Locations", loc("Lyon", "")), 201, "")
			a := h.do("PATCH", "/Locations/"+tc.id, patch(tc.ops...))
			h.expect(a, tc.status, tc.scimType)
			if tc.status == 404 {
				return
			}
			for _, l := range h.srv.Locations() {
				if l.ID == tc.id && (l.Name != tc.wantName || l.ExternalID != tc.wantExt) {
					t.Fatalf("stored %+v, want name %q externalId %q", l, tc.wantName, tc.wantExt)
				}
			}
			if tc.status == 200 && (a.str("name") != tc.wantName || a.str("externalId") != tc.wantExt) {
				t.Fatalf("answer %s", a.raw)
			}
		})
	}
}

// A location made in the UI has no externalId, and its name is unique as
// through SCIM.
func TestAddHandmadeLocation(t *testing.T) {
	h := newHarness(t, Options{DefaultLocationName: "London"})
	l, ok := h.srv.AddHandmadeLocation("Manchester Piccadilly")
	if !ok || l.ID == "" || l.ExternalID != "" || l.Name != "Manchester Piccadilly" || l.Default {
		t.Fatalf("AddHandmadeLocation = %+v, %v", l, ok)
	}
	if _, ok := h.srv.AddHandmadeLocation("manchester PICCADILLY"); ok {
		t.Error("a second location with the same name (other case) was added")
	}
	if n := len(h.srv.Locations()); n != 2 {
		t.Errorf("Visitor holds %d locations, want 2", n)
	}
}
