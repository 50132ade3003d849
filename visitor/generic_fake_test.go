package visitor

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeV1 answers as /work/shared-i16/wire.md says a generic-v1 server
// does (SCIM 1.1, users only), with just what the client tests need: its
// filters are eq clauses joined by "or" (and refuse the 2.0 operators).
type fakeV1 struct {
	t        testing.TB
	mu       sync.Mutex
	users    []map[string]any // stored resources, in creation order
	scim     map[string]bool  // id -> created through SCIM (listed without a filter)
	nextID   int
	patch    bool // ServiceProviderConfigs says patch.supported
	noSPC    bool // ServiceProviderConfigs answers 404
	maxRes   int  // count is clamped to this (200)
	reqs     []fakeReq
	fault    func(w http.ResponseWriter, r *http.Request) bool
	srv      *httptest.Server
	sawMedia []string // Content-Type of bodies sent
}

type fakeReq struct{ Method, Path, Query, Body string }

func newFakeV1(t testing.TB) *fakeV1 {
	f := &fakeV1{t: t, scim: map[string]bool{}, maxRes: 200}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeV1) url() string { return f.srv.URL + "/scim/v1" }

// requests are those sent so far, ServiceProviderConfigs included.
func (f *fakeV1) requests() []fakeReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// seed stores a user as if created (scim true) or made by hand.
func (f *fakeV1) seed(userName string, scim bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.storeLocked(map[string]any{"schemas": []any{CoreSchemaV1}, "userName": userName,
		"name":   map[string]any{"givenName": "G", "familyName": "F", "formatted": "G F"},
		"emails": []any{map[string]any{"value": userName, "type": "work", "primary": true}}, "active": true}, scim)
	f.users[len(f.users)-1]["meta"].(map[string]any)["created"] = "2026-12-05T10:00:00Z"
	return id
}

func (f *fakeV1) storeLocked(u map[string]any, scim bool) string {
	f.nextID++
	id := fmt.Sprintf("g%04d", f.nextID)
	u["id"] = id
	// Stored now, as a server stamps a create; seed backdates its users
	// (made before the run, by hand or by another client).
	now := time.Now().UTC().Format(time.RFC3339)
	u["meta"] = map[string]any{"created": now, "lastModified": now, "location": f.url() + "/Users/" + id}
	f.users = append(f.users, u)
	f.scim[id] = scim
	return id
}

func v1Error(w http.ResponseWriter, status int, desc string) {
	w.Header().Set("Content-Type", mediaTypeV1)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"Errors": []any{map[string]any{"description": desc, "code": strconv.Itoa(status)}}})
}

func v1JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", mediaTypeV1)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// documented are the attributes the integration keeps; the rest of a
// body is ignored.
var documented = []string{"userName", "name", "emails", "phoneNumbers", "addresses", "title", "preferredLanguage", "active"}

func (f *fakeV1) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, fakeReq{r.Method, strings.TrimPrefix(r.URL.Path, "/scim/v1"), r.URL.RawQuery, string(body)})
	if len(body) > 0 {
		f.sawMedia = append(f.sawMedia, r.Header.Get("Content-Type"))
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		v1Error(w, http.StatusUnauthorized, "invalid bearer token")
		return
	}
	if f.fault != nil && f.fault(w, r) {
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/scim/v1/")
	switch {
	case path == "ServiceProviderConfigs" && !f.noSPC:
		v1JSON(w, 200, map[string]any{"schemas": []any{CoreSchemaV1}, "patch": map[string]any{"supported": f.patch},
			"filter": map[string]any{"supported": true, "maxResults": f.maxRes}})
	case path == "Users" && r.Method == http.MethodGet:
		f.list(w, r)
	case path == "Users" && r.Method == http.MethodPost:
		u, ok := f.check(w, body)
		if !ok {
			return
		}
		id := f.storeLocked(u, true)
		w.Header().Set("Location", f.url()+"/Users/"+id)
		v1JSON(w, http.StatusCreated, u)
	case strings.HasPrefix(path, "Users/"):
		f.one(w, r, strings.TrimPrefix(path, "Users/"), body)
	case strings.HasPrefix(path, "Groups"):
		v1Error(w, http.StatusNotImplemented, "groups are not supported")
	default:
		v1Error(w, http.StatusNotFound, "no such endpoint")
	}
}

// check applies the integration's rules to a POST or PUT body and gives
// what is stored: documented attributes only, phones E.164 only.
func (f *fakeV1) check(w http.ResponseWriter, body []byte, except ...string) (map[string]any, bool) {
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		v1Error(w, 400, "body is not JSON")
		return nil, false
	}
	if s, _ := in["schemas"].([]any); !slices.Contains(s, any(CoreSchemaV1)) {
		v1Error(w, 400, "schemas must contain "+CoreSchemaV1)
		return nil, false
	}
	u := map[string]any{"schemas": []any{CoreSchemaV1}}
	for _, k := range documented {
		if v, ok := in[k]; ok {
			u[k] = v
		}
	}
	if msg := f.invalid(u, except...); msg != "" {
		code := 400
		if strings.Contains(msg, "taken") {
			code = 409
		}
		v1Error(w, code, msg)
		return nil, false
	}
	return u, true
}

func (f *fakeV1) invalid(u map[string]any, except ...string) string {
	name, _ := u["userName"].(string)
	if name == "" {
		return "userName: required"
	}
	work := ""
	es, _ := u["emails"].([]any)
	for _, e := range es {
		if m, _ := e.(map[string]any); m["type"] == "work" {
			work, _ = m["value"].(string)
		}
	}
	if !strings.EqualFold(work, name) {
		return "userName: must equal the work email"
	}
	n, _ := u["name"].(map[string]any)
	if n["givenName"] == nil || n["familyName"] == nil {
		return "name: givenName and familyName required"
	}
	for _, o := range f.users {
		if strings.EqualFold(o["userName"].(string), name) && !slices.Contains(except, o["id"].(string)) {
			return "userName: " + name + " is taken"
		}
	}
	if ps, ok := u["phoneNumbers"].([]any); ok {
		kept := []any{}
		for _, p := range ps {
			m, _ := p.(map[string]any)
			if v, _ := m["value"].(string); (m["type"] == "mobile" || m["type"] == "work") && e164.MatchString(v) {
				kept = append(kept, map[string]any{"type": m["type"], "value": v})
			}
		}
		u["phoneNumbers"] = kept
	}
	return ""
}

func (f *fakeV1) find(id string) int {
	return slices.IndexFunc(f.users, func(u map[string]any) bool { return u["id"] == id })
}

func (f *fakeV1) one(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	i := f.find(id)
	if i < 0 {
		v1Error(w, http.StatusNotFound, "no user "+id)
		return
	}
	switch r.Method {
	case http.MethodGet:
		v1JSON(w, 200, f.users[i])
	case http.MethodDelete:
		f.users = slices.Delete(f.users, i, i+1)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut:
		u, ok := f.check(w, body, id)
		if !ok {
			return
		}
		u["id"], u["meta"] = id, f.users[i]["meta"]
		f.users[i] = u
		v1JSON(w, 200, u)
	case http.MethodPatch:
		if !f.patch {
			v1Error(w, http.StatusNotImplemented, "patch is not supported")
			return
		}
		f.applyPatch(w, i, body)
	}
}

// applyPatch is SCIM 1.1 PATCH as wire.md has it: meta.attributes
// removed first; simple attributes replace; multi-valued ones merge by
// type (addresses: the primary one); the name replaces whole.
func (f *fakeV1) applyPatch(w http.ResponseWriter, i int, body []byte) {
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		v1Error(w, 400, "body is not JSON")
		return
	}
	if s, _ := in["schemas"].([]any); !slices.Contains(s, any(CoreSchemaV1)) {
		v1Error(w, 400, "schemas must contain "+CoreSchemaV1)
		return
	}
	u := map[string]any{}
	for k, v := range f.users[i] {
		u[k] = v
	}
	if m, ok := in["meta"].(map[string]any); ok {
		as, _ := m["attributes"].([]any)
		for _, a := range as {
			delete(u, a.(string))
		}
	}
	for _, k := range documented {
		v, ok := in[k]
		if !ok {
			continue
		}
		list, multi := v.([]any)
		if !multi {
			u[k] = v
			continue
		}
		old, _ := u[k].([]any)
		merged := slices.Clone(old)
		for _, e := range list {
			m := e.(map[string]any)
			j := slices.IndexFunc(merged, func(o any) bool {
				om := o.(map[string]any)
				if k == "addresses" {
					return om["primary"] == true
				}
				return om["type"] == m["type"]
			})
			switch {
			case m["operation"] == "delete" && j >= 0:
				merged = slices.Delete(merged, j, j+1)
			case m["operation"] == "delete":
			case j >= 0:
				merged[j] = m
			default:
				merged = append(merged, m)
			}
		}
		u[k] = merged
	}
	if msg := f.invalid(u, u["id"].(string)); msg != "" {
		v1Error(w, 400, msg)
		return
	}
	f.users[i] = u
	v1JSON(w, 200, u)
}

// list pages a listing; without a filter, SCIM-created users only.
func (f *fakeV1) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var match []map[string]any
	if flt := q.Get("filter"); flt != "" {
		clauses := strings.Split(flt, " or ")
		for _, u := range f.users {
			for _, c := range clauses {
				parts := strings.SplitN(c, " ", 3)
				if len(parts) != 3 || parts[1] != "eq" {
					v1Error(w, 400, "filter: operator "+strconv.Quote(parts[min(1, len(parts)-1)])+" is not supported")
					return
				}
				want, err := strconv.Unquote(parts[2])
				if err != nil {
					v1Error(w, 400, "filter: bad value")
					return
				}
				if got, _ := u[parts[0]].(string); strings.EqualFold(got, want) {
					match = append(match, u)
					break
				}
			}
		}
	} else {
		for _, u := range f.users {
			if f.scim[u["id"].(string)] {
				match = append(match, u)
			}
		}
	}
	start, _ := strconv.Atoi(q.Get("startIndex"))
	start = max(start, 1)
	count, err := strconv.Atoi(q.Get("count"))
	if err != nil || count > f.maxRes {
		count = f.maxRes
	}
	page := []map[string]any{}
	if start <= len(match) {
		page = match[start-1 : min(len(match), start-1+count)]
	}
	v1JSON(w, 200, map[string]any{"schemas": []any{CoreSchemaV1}, "totalResults": len(match), "itemsPerPage": len(page), "startIndex": start, "Resources": page})
}

// memBook is an OwnershipBook in memory; addErr fails every Add.
type memBook struct {
	mu     sync.Mutex
	m      map[string]Owned
	exists bool
	addErr error
}

func newBook(entries ...Owned) *memBook {
	b := &memBook{m: map[string]Owned{}, exists: entries != nil}
	for _, e := range entries {
		b.m[e.ID] = e
	}
	return b
}

func (b *memBook) Owned() (map[string]Owned, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]Owned{}
	for k, v := range b.m {
		out[k] = v
	}
	return out, b.exists, nil
}

func (b *memBook) Add(o Owned) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.addErr != nil {
		return b.addErr
	}
	for id, e := range b.m {
		if e.ExternalID == o.ExternalID {
			delete(b.m, id)
		}
	}
	b.m[o.ID], b.exists = o, true
	return nil
}

func (b *memBook) Remove(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, id)
	return nil
}

func (b *memBook) get(id string) (Owned, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.m[id]
	return o, ok
}

// newGeneric builds a Generic on f with the test options.
func newGeneric(t *testing.T, f *fakeV1, book OwnershipBook) *Generic {
	t.Helper()
	log, logs := observed()
	g, err := NewGeneric(testOptions(f.url()), book, log)
	if err != nil {
		t.Fatalf("NewGeneric: %v", err)
	}
	t.Cleanup(func() { assertNoSecrets(t, logs, testToken) })
	return g
}
