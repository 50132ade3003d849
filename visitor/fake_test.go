package visitor

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	filter "github.com/scim2/filter-parser/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

const testToken = "secret-token-value-0123"

// fakeSCIM is a small in-memory SCIM Users/Locations server for the client
// tests. fault, when set, sees every request first and may answer it.
type fakeSCIM struct {
	t          testing.TB
	mu         sync.Mutex
	users      []map[string]any
	locations  []map[string]any
	nextID     int
	maxResults int // 0: ServiceProviderConfig answers 404
	pageCap    int // server-side cap on items per page, 0 = none
	refuseOver int // a count above this gets 400 tooMany instead of a page, 0 = none
	token      string
	calls      map[string]int // "GET /Users"
	bodies     map[string][]string
	fault      func(w http.ResponseWriter, r *http.Request, n int) bool
	srv        *httptest.Server
}

func newFake(t testing.TB) *fakeSCIM {
	f := &fakeSCIM{t: t, token: testToken, calls: map[string]int{}, bodies: map[string][]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSCIM) url() string { return f.srv.URL + "/scim/v2" }

func (f *fakeSCIM) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

func (f *fakeSCIM) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.calls {
		n += v
	}
	return n
}

func (f *fakeSCIM) userCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.users)
}

func (f *fakeSCIM) addUser(u map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	u["id"] = fmt.Sprintf("u%04d", f.nextID)
	f.users = append(f.users, u)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func scimErr(w http.ResponseWriter, status int, scimType, detail string) {
	writeJSON(w, status, map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status":   strconv.Itoa(status),
		"scimType": scimType,
		"detail":   detail,
	})
}

// dropConn closes the connection without an answer.
func dropConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("no hijacker")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

func (f *fakeSCIM) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/scim/v2")
	key := r.Method + " " + path
	if strings.HasPrefix(path, "/Users/") {
		key = r.Method + " /Users/{id}"
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls[key]++
	n := f.calls[key]
	f.bodies[key] = append(f.bodies[key], string(body))
	fault := f.fault
	tok := f.token
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+tok {
		scimErr(w, http.StatusUnauthorized, "", "bad token")
		return
	}
	if fault != nil && fault(w, r, n) {
		return
	}
	f.handle(w, r, path, body)
}

func (f *fakeSCIM) handle(w http.ResponseWriter, r *http.Request, path string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case path == "/ServiceProviderConfig":
		if f.maxResults == 0 {
			scimErr(w, http.StatusNotFound, "", "no such endpoint")
			return
		}
		writeJSON(w, 200, map[string]any{"filter": map[string]any{"supported": true, "maxResults": f.maxResults}})
	case path == "/Users" && r.Method == http.MethodGet:
		f.listUsers(w, r)
	case path == "/Users" && r.Method == http.MethodPost:
		var u map[string]any
		if err := json.Unmarshal(body, &u); err != nil {
			scimErr(w, 400, "invalidSyntax", err.Error())
			return
		}
		for _, o := range f.users {
			if strings.EqualFold(fmt.Sprint(o["userName"]), fmt.Sprint(u["userName"])) {
				scimErr(w, 409, "uniqueness", "userName taken")
				return
			}
		}
		f.nextID++
		u["id"] = fmt.Sprintf("u%04d", f.nextID)
		f.users = append(f.users, u)
		writeJSON(w, 201, u)
	case strings.HasPrefix(path, "/Users/"):
		id := strings.TrimPrefix(path, "/Users/")
		for i, u := range f.users {
			if u["id"] != id {
				continue
			}
			switch r.Method {
			case http.MethodGet, http.MethodPatch:
				writeJSON(w, 200, u)
			case http.MethodDelete:
				f.users = append(f.users[:i], f.users[i+1:]...)
				w.WriteHeader(http.StatusNoContent)
			}
			return
		}
		scimErr(w, 404, "", "no user "+id)
	case path == "/Locations" && r.Method == http.MethodGet:
		writeJSON(w, 200, map[string]any{"schemas": []string{ListResponseSchema},
			"totalResults": len(f.locations), "Resources": f.locations})
	case path == "/Locations" && r.Method == http.MethodPost:
		var l map[string]any
		_ = json.Unmarshal(body, &l)
		f.nextID++
		l["id"] = fmt.Sprintf("loc-%04d", f.nextID)
		f.locations = append(f.locations, l)
		writeJSON(w, 201, l)
	default:
		scimErr(w, 404, "", "no route")
	}
}

// listUsers pages and filters with the same parser a real server would use.
func (f *fakeSCIM) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	match := func(map[string]any) bool { return true }
	if fs := q.Get("filter"); fs != "" {
		exp, err := filter.ParseAttrExp([]byte(fs))
		if err != nil {
			scimErr(w, 400, "invalidFilter", err.Error())
			return
		}
		var want string
		if err := json.Unmarshal([]byte(`"`+exp.CompareValue.(string)+`"`), &want); err != nil {
			scimErr(w, 400, "invalidFilter", err.Error())
			return
		}
		attr := exp.AttributePath.AttributeName
		op := string(exp.Operator)
		match = func(u map[string]any) bool {
			got, _ := u[attr].(string)
			switch op {
			case "eq":
				return got == want
			case "sw":
				return strings.HasPrefix(got, want)
			}
			return false
		}
	}
	var all []map[string]any
	for _, u := range f.users {
		if match(u) {
			all = append(all, u)
		}
	}
	start, _ := strconv.Atoi(q.Get("startIndex"))
	count, _ := strconv.Atoi(q.Get("count"))
	if start < 1 {
		start = 1
	}
	if f.refuseOver > 0 && count > f.refuseOver {
		scimErr(w, http.StatusBadRequest, "tooMany", fmt.Sprintf("count %d is above the maximum %d", count, f.refuseOver))
		return
	}
	if f.pageCap > 0 && count > f.pageCap {
		count = f.pageCap
	}
	page := []map[string]any{}
	for i := start - 1; i < len(all) && len(page) < count; i++ {
		page = append(page, all[i])
	}
	writeJSON(w, 200, map[string]any{"schemas": []string{ListResponseSchema},
		"totalResults": len(all), "startIndex": start, "itemsPerPage": len(page), "Resources": page})
}

// testOptions are fast-retrying options for the fake.
func testOptions(base string) Options {
	return Options{
		BaseURL:      base,
		Token:        testToken,
		RateLimit:    600000,
		RetryMax:     3,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 5 * time.Millisecond,
		Timeout:      5 * time.Second,
	}
}

// observed returns a debug logger whose entries the test can inspect.
func observed() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return zap.New(core), logs
}

func newClient(t *testing.T, o Options) (*Client, *observer.ObservedLogs) {
	t.Helper()
	log, logs := observed()
	c, err := New(o, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { assertNoSecrets(t, logs, testToken, "client-secret-xyz") })
	return c, logs
}

// assertNoSecrets fails when any log message or field holds a secret.
func assertNoSecrets(t *testing.T, logs *observer.ObservedLogs, secrets ...string) {
	t.Helper()
	for _, e := range logs.All() {
		text := e.Message + fmt.Sprint(e.ContextMap())
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("log entry %q leaks a secret", e.Message)
			}
		}
	}
}

func sampleUser(n int) User {
	email := fmt.Sprintf("user%d@example.com", n)
	return User{
		ExternalID: fmt.Sprintf("condeco:%d", n),
		UserName:   email,
		Email:      email,
		GivenName:  "Ana",
		FamilyName: "Silva",
		Phone:      "+442071234567",
		Mobile:     "+447700900123",
		Language:   "en-GB",
		Active:     true,
	}
}

func (f *fakeSCIM) body(key string, i int) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []byte(f.bodies[key][i])
}
