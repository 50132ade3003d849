package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

const testToken = "test-token"

// clock is an injectable clock that only moves when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	t     testing.TB
	srv   *Server
	url   string // SCIM base
	root  string // server root
	token string
	clock *clock
	ctype string // request Content-Type; "" is application/scim+json
}

func newHarness(t testing.TB, o Options) *harness {
	t.Helper()
	c := newClock()
	if o.Now == nil {
		o.Now = c.Now
	}
	if o.Token == "" && o.ClientID == "" {
		o.Token = testToken
	}
	s := New(o)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	h := &harness{t: t, srv: s, url: ts.URL + s.basePath(), root: ts.URL, token: o.Token, clock: c}
	if s.generic() {
		h.ctype = "application/json" // SCIM 1.1's media type
	}
	return h
}

type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends a raw request; body may be a string, []byte or a value to
// marshal.
func (h *harness) do(method, path string, body any) answer {
	h.t.Helper()
	ct := h.ctype
	if ct == "" {
		ct = "application/scim+json"
	}
	return h.doWith(method, h.url+path, body, map[string]string{
		"Authorization": "Bearer " + h.token, "Content-Type": ct})
}

func (h *harness) doWith(method, url string, body any, headers map[string]string) answer {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			h.t.Fatalf("%s %s: answer is not JSON: %v: %s", method, url, err, raw)
		}
	}
	return a
}

func (a answer) str(key string) string {
	s, _ := a.body[key].(string)
	return s
}

func (a answer) num(key string) int {
	f, _ := a.body[key].(float64)
	return int(f)
}

// expect fails unless the answer has the status and, for errors, scimType.
func (h *harness) expect(a answer, status int, scimType string) {
	h.t.Helper()
	if a.status != status {
		h.t.Fatalf("status %d, want %d: %s", a.status, status, a.raw)
	}
	if status >= 400 {
		if a.str("scimType") != scimType {
			h.t.Fatalf("scimType %q, want %q: %s", a.str("scimType"), scimType, a.raw)
		}
		if a.str("status") != strconv.Itoa(status) {
			h.t.Fatalf("error status %q, want %d: %s", a.str("status"), status, a.raw)
		}
	}
}

// user builds a valid POST body; edit tweaks it before sending.
func user(email, ext string, edit ...func(map[string]any)) map[string]any {
	u := map[string]any{
		"schemas":    []any{coreUserSchema, DefaultUserSchema},
		"externalId": ext,
		"userName":   email,
		"name":       map[string]any{"givenName": "Ana", "familyName": "Silva"},
		"emails":     []any{map[string]any{"value": email, "type": "work", "primary": true}},
		"active":     true,
		DefaultUserSchema: map[string]any{
			"defaultLocation": "loc-0001",
			"locations":       []any{map[string]any{"value": "loc-0001", "role": "user"}},
		},
	}
	for _, e := range edit {
		e(u)
	}
	return u
}

func (h *harness) create(body map[string]any) string {
	h.t.Helper()
	a := h.do("POST", "/Users", body)
	h.expect(a, http.StatusCreated, "")
	return a.str("id")
}

func patch(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []any{patchOpSchema}, "Operations": list}
}

func op(kind, path string, value any) map[string]any {
	m := map[string]any{"op": kind, "path": path}
	if value != nil {
		m["value"] = value
	}
	return m
}
