package visitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"
)

// memUsers is an in-memory ResourceHandler for an independent SCIM server
// (elimity-com/scim), so the client is checked against someone else's
// reading of RFC 7644 rather than only our own fakes.
type memUsers struct {
	mu    sync.Mutex
	next  int
	users map[string]scim.ResourceAttributes
	order []string
}

func (h *memUsers) resource(id string, a scim.ResourceAttributes) scim.Resource {
	now := time.Now()
	r := scim.Resource{ID: id, Attributes: copyAttrs(a), Meta: scim.Meta{Created: &now, LastModified: &now}}
	if e, ok := a["externalId"].(string); ok {
		r.ExternalID = optional.NewString(e)
	}
	return r
}

func copyAttrs(a scim.ResourceAttributes) scim.ResourceAttributes {
	out := scim.ResourceAttributes{}
	for k, v := range a {
		out[k] = v
	}
	return out
}

func (h *memUsers) Create(r *http.Request, a scim.ResourceAttributes) (scim.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range h.users {
		if strings.EqualFold(fmt.Sprint(u["userName"]), fmt.Sprint(a["userName"])) {
			return scim.Resource{}, scimerrors.ScimErrorUniqueness
		}
	}
	h.next++
	id := fmt.Sprintf("e%03d", h.next)
	h.users[id] = a
	h.order = append(h.order, id)
	return h.resource(id, a), nil
}

func (h *memUsers) Get(r *http.Request, id string) (scim.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.users[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return h.resource(id, a), nil
}

func (h *memUsers) GetAll(r *http.Request, p scim.ListRequestParams) (scim.Page, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var match []string
	for _, id := range h.order {
		a, ok := h.users[id]
		if !ok {
			continue
		}
		if p.FilterValidator != nil {
			if err := p.FilterValidator.PassesFilter(a); err != nil {
				continue
			}
		}
		match = append(match, id)
	}
	page := scim.Page{TotalResults: len(match), Resources: []scim.Resource{}}
	for i := p.StartIndex - 1; i >= 0 && i < len(match) && len(page.Resources) < p.Count; i++ {
		page.Resources = append(page.Resources, h.resource(match[i], h.users[match[i]]))
	}
	return page, nil
}

func (h *memUsers) Replace(r *http.Request, id string, a scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, scimerrors.ScimError{Status: http.StatusNotImplemented}
}

func (h *memUsers) Delete(r *http.Request, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.users[id]; !ok {
		return scimerrors.ScimErrorResourceNotFound(id)
	}
	delete(h.users, id)
	return nil
}

func (h *memUsers) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.users[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	for _, op := range ops {
		if op.Op != scim.PatchOperationReplace || op.Path == nil {
			return scim.Resource{}, scimerrors.ScimErrorInvalidValue
		}
		ap := op.Path.AttributePath
		switch {
		case ap.URIPrefix != nil:
			ext, _ := a[*ap.URIPrefix].(map[string]interface{})
			if ext == nil {
				ext = map[string]interface{}{}
			}
			ext[ap.AttributeName] = op.Value
			a[*ap.URIPrefix] = ext
		case ap.SubAttribute != nil:
			parent, _ := a[ap.AttributeName].(map[string]interface{})
			if parent == nil {
				parent = map[string]interface{}{}
			}
			parent[*ap.SubAttribute] = op.Value
			a[ap.AttributeName] = parent
		default:
			a[ap.AttributeName] = op.Value
		}
	}
	return h.resource(id, a), nil
}

func visitorExtension() schema.Schema {
	rw := schema.AttributeMutabilityReadWrite()
	return schema.Schema{
		ID:   DefaultUserSchema,
		Name: optional.NewString("VisitorUser"),
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "defaultLocation", Mutability: rw})),
			schema.ComplexCoreAttribute(schema.ComplexParams{
				Name: "locations", MultiValued: true, Mutability: rw,
				SubAttributes: []schema.SimpleParams{
					schema.SimpleStringParams(schema.StringParams{Name: "value", Mutability: rw}),
					schema.SimpleStringParams(schema.StringParams{Name: "role", Mutability: rw}),
				},
			}),
			schema.SimpleCoreAttribute(schema.SimpleBooleanParams(schema.BooleanParams{Name: "sendInvitation", Mutability: schema.AttributeMutabilityWriteOnly()})),
		},
	}
}

// userSchemaWithExternalID lists externalId in the core schema: elimity
// adds it for validation but not for filters, and the client's managed
// listing filters on it.
func userSchemaWithExternalID() schema.Schema {
	s := schema.CoreUserSchema()
	s.Attributes = append(s.Attributes, schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		Name: "externalId", CaseExact: true, Mutability: schema.AttributeMutabilityReadWrite(),
	})))
	return s
}

func newElimityServer(t *testing.T, maxResults int) (*httptest.Server, *memUsers) {
	t.Helper()
	h := &memUsers{users: map[string]scim.ResourceAttributes{}}
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{MaxResults: maxResults, SupportFiltering: true, SupportPatch: true},
		ResourceTypes: []scim.ResourceType{{
			ID:               optional.NewString("User"),
			Name:             "User",
			Endpoint:         "/Users",
			Schema:           userSchemaWithExternalID(),
			SchemaExtensions: []scim.SchemaExtension{{Schema: visitorExtension()}},
			Handler:          h,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/scim/", http.StripPrefix("/scim", requireToken(srv)))
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return hs, h
}

// lastFilter holds the filter of the latest listing elimity received.
var lastFilter atomic.Value

func requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := r.URL.Query().Get("filter"); f != "" {
			lastFilter.Store(f)
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			scimErr(w, http.StatusUnauthorized, "", "no token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func TestConformanceElimity(t *testing.T) {
	hs, _ := newElimityServer(t, 3)
	c, _ := newClient(t, testOptions(hs.URL+"/scim/v2"))
	ctx := context.Background()

	var created []User
	for i := 1; i <= 7; i++ {
		u := sampleUser(i)
		u.DefaultLocation = "loc-1"
		u.Access = []Access{{LocationID: "loc-1", Role: RoleAdmin}}
		got, err := c.CreateUser(ctx, u)
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		if got.ID == "" || got.ExternalID != u.ExternalID || got.Email != u.Email || got.Phone != u.Phone ||
			got.Mobile != u.Mobile || got.DefaultLocation != "loc-1" || len(got.Access) != 1 || !got.Active {
			t.Fatalf("create %d returned %+v", i, got)
		}
		created = append(created, got)
	}
	if _, err := c.CreateUser(ctx, sampleUser(1)); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate create: %v", err)
	}

	got, err := c.GetUser(ctx, created[2].ID)
	if err != nil || got.UserName != "user3@example.com" || got.GivenName != "Ana" || got.Language != "en-GB" {
		t.Fatalf("get: %+v %v", got, err)
	}

	// maxResults 3 forces paging over 7 users.
	all, err := c.ListUsers(ctx, "")
	if err != nil || len(all) != 7 {
		t.Fatalf("list all: %d %v", len(all), err)
	}
	managed, err := c.ListManagedUsers(ctx, "condeco:")
	if err != nil || len(managed) != 7 {
		t.Fatalf("list managed: %d %v", len(managed), err)
	}
	found, err := c.FindUser(ctx, "userName", "user5@example.com")
	if err != nil || found == nil || found.ID != created[4].ID {
		t.Fatalf("find: %+v %v", found, err)
	}
	if none, err := c.FindUser(ctx, "externalId", `condeco:"7" or userName pr`); err != nil || none != nil {
		t.Fatalf("find with quotes: %+v %v", none, err)
	}
	// Values holding quotes and backslashes: elimity's parser
	// (scim2/filter-parser v2.2.0, attrexp.go) must see one string
	// compValue whose JSON reading is exactly the value, and the filter
	// must match nobody else. The parser keeps the escapes in the value it
	// compares (it only trims the outer quotes), so such a user cannot be
	// found there by any correctly escaped filter; finding them is checked
	// against the simulator (TestSimulatorFilterEscaping) instead.
	for _, ext := range []string{`condeco:q"uote`, `condeco:back\slash`, `condeco:\"both\" or userName pr`} {
		got, err := c.FindUser(ctx, "externalId", ext)
		if err != nil || got != nil {
			t.Fatalf("find %q: %+v %v", ext, got, err)
		}
		exp, err := filter.ParseAttrExp([]byte(lastFilter.Load().(string)))
		if err != nil {
			t.Fatalf("filter for %q does not parse: %v", ext, err)
		}
		raw, _ := exp.CompareValue.(string)
		var back string
		if err := json.Unmarshal([]byte(`"`+raw+`"`), &back); err != nil || back != ext || exp.AttributePath.AttributeName != "externalId" {
			t.Fatalf("filter for %q read back as %s %q (%v)", ext, exp.AttributePath, back, err)
		}
	}

	desired := created[0]
	desired.GivenName = "Anabela"
	desired.Mobile = ""
	desired.Active = false
	desired.Access = []Access{{LocationID: "loc-1", Role: RoleAdmin}, {LocationID: "loc-2", Role: RoleUser}}
	upd, err := c.UpdateUser(ctx, desired.ID, desired, []Field{FieldGivenName, FieldMobile, FieldActive, FieldAccess})
	if err != nil {
		t.Fatalf("patch: %v", err)
	}
	if upd.GivenName != "Anabela" || upd.FamilyName != "Silva" || upd.Mobile != "" || upd.Phone != created[0].Phone ||
		upd.Active || len(upd.Access) != 2 || upd.DefaultLocation != "loc-1" || upd.UserName != created[0].UserName {
		t.Fatalf("patched %+v", upd)
	}
	again, err := c.GetUser(ctx, desired.ID)
	if err != nil || fmt.Sprint(again.Access) != fmt.Sprint(upd.Access) || again.GivenName != "Anabela" {
		t.Fatalf("re-read after patch: %+v %v", again, err)
	}

	if err := c.DeleteUser(ctx, created[6].ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.GetUser(ctx, created[6].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := c.DeleteUser(ctx, created[6].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	all, err = c.ListUsers(ctx, "")
	if err != nil || len(all) != 6 {
		t.Fatalf("list after delete: %d %v", len(all), err)
	}
}
