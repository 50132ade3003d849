package simulator

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// samplePayload is the example of Eptura's "Manage users via API (Generic
// SCIM integration)" page, verbatim.
// It is kept once, in testdata/eptura/generic-scim-sample.json.
var samplePayload = readSample("../../testdata/eptura/generic-scim-sample.json")

func newGeneric(t testing.TB, o Options) *harness {
	t.Helper()
	o.API = APIGenericV1
	return newHarness(t, o)
}

// genericUser builds a valid generic-v1 POST body; edit tweaks it.
func genericUser(email string, edit ...func(map[string]any)) map[string]any {
	u := map[string]any{
		"schemas":  []any{genericSchema},
		"userName": email,
		"name":     map[string]any{"formatted": "Ana Silva", "givenName": "Ana", "familyName": "Silva"},
		"emails":   []any{map[string]any{"value": email, "type": "work", "primary": true}},
		"phoneNumbers": []any{
			map[string]any{"type": "mobile", "value": "+447700900123"},
			map[string]any{"type": "work", "value": "+442079460000"},
		},
		"addresses":         []any{map[string]any{"primary": true, "locality": "London"}},
		"title":             "Engineer",
		"preferredLanguage": "en-GB",
		"active":            true,
	}
	for _, e := range edit {
		e(u)
	}
	return u
}

// expectGeneric fails unless the answer has the status and, for errors,
// the SCIM 1.1 error body naming that status, and no SCIM 2.0 one.
func (h *harness) expectGeneric(a answer, status int) {
	h.t.Helper()
	if a.status != status {
		h.t.Fatalf("status %d, want %d: %s", a.status, status, a.raw)
	}
	if ct := a.header.Get("Content-Type"); len(a.raw) > 0 && ct != "application/json" {
		h.t.Fatalf("Content-Type %q, want application/json", ct)
	}
	if status < 400 {
		return
	}
	var body struct {
		Errors []struct {
			Description string `json:"description"`
			Code        string `json:"code"`
		}
	}
	if err := json.Unmarshal(a.raw, &body); err != nil || len(body.Errors) != 1 {
		h.t.Fatalf("not a SCIM 1.1 error body: %s", a.raw)
	}
	if e := body.Errors[0]; e.Code != strconv.Itoa(status) || e.Description == "" {
		h.t.Fatalf("error %+v, want code %d and a description", e, status)
	}
	if _, ok := a.body["schemas"]; ok {
		h.t.Fatalf("a SCIM 2.0 error body: %s", a.raw)
	}
}

// description is the first error's text.
func (a answer) description() string {
	errs, _ := a.body["Errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	d, _ := e["description"].(string)
	return d
}

func (h *harness) createGeneric(body map[string]any) string {
	h.t.Helper()
	a := h.do("POST", "/Users", body)
	h.expectGeneric(a, http.StatusCreated)
	return a.str("id")
}

// sortedNames lists the userNames of a ListResponse's resources, lower-cased
// and sorted.
func sortedNames(a answer) []string {
	res, _ := a.body["Resources"].([]any)
	out := []string{}
	for _, r := range res {
		m, _ := r.(map[string]any)
		n, _ := m["userName"].(string)
		out = append(out, strings.ToLower(n))
	}
	slices.Sort(out)
	return out
}

// handmade makes a user as if by hand in the Visitor UI.
func (h *harness) handmade(email string) User {
	return h.srv.AddHandmadeUser(User{UserName: email, GivenName: "Hand", FamilyName: "Made", Active: true,
		Emails: []Email{{Value: email, Type: "work", Primary: true}}})
}

// readSample reads a fixture every test of the package needs; without it
// none can run.
func readSample(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}
