package conformance

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fault is one way the proxy alters the server's answers. SCIMMY has no
// switch for any of them, so the proxy makes them from its real answers.
type fault string

const (
	noFault fault = ""

	// Listing faults (issue 14 point 1), on GET /Users listings.
	emptyPage2     fault = "empty page 2"          // pages after the first come back empty, totalResults kept
	shrinkingTotal fault = "shrinking total"       // later pages say totalResults is what has been sent so far
	negativeTotal  fault = "negative total"        // totalResults is -1 on every page
	repeatPage1    fault = "page 1 repeated"       // later pages hold page 1's resources, startIndex as asked
	repeatResource fault = "resource repeated"     // later pages start with page 1's first resource
	duplicateID    fault = "two resources, one id" // the second resource of page 1 carries the first one's id

	// Answers RFC 7643/7644 allow (issue 14 point 4).
	createNoBody fault = "201 without body"   // POST /Users and /Locations answer 201 with no body
	telPhones    fault = "tel: phone numbers" // GET answers carry phones as RFC 3966 tel: URIs
	swRefused    fault = "sw refused"         // a filter with sw gets 400 invalidFilter
	orRefused    fault = "or refused"         // a filter with or gets 400 invalidFilter

	// A faulty server (issue 14 point 2): 200 and nothing for a filter it
	// does not support, here any operator other than eq.
	unparsedEmpty fault = "unsupported filter answered empty"
)

// proxy stands between the binary and the server. It counts what reaches
// the server, so a test can say "nothing was written" from the server's
// side of the wire, and alters answers as its fault says.
type proxy struct {
	t        *testing.T
	upstream string // the server's base URL, …/scim/v2
	client   *http.Client
	url      string // what the binary is given

	mu     sync.Mutex
	fault  fault
	writes int // POST, PUT, PATCH, DELETE that reached the server
	hits   int // answers the fault altered: a case that never hit proves nothing
}

func startProxy(t *testing.T, upstream string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, upstream: upstream, client: &http.Client{Timeout: 30 * time.Second}}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	p.url = "http://" + ln.Addr().String() + "/scim/v2"
	return p
}

func (p *proxy) set(f fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

// writeCount is how many writes have reached the server so far.
func (p *proxy) writeCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writes
}

// hitCount is how many answers the fault has altered so far.
func (p *proxy) hitCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits
}

func (p *proxy) hit() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hits++
}

var idSegment = regexp.MustCompile(`^/(Users|Locations)/[^/]+$`)

// route is the request's path under the base URL with ids as {id}.
func route(path string) string {
	r := strings.TrimPrefix(path, "/scim/v2")
	if m := idSegment.FindStringSubmatch(r); m != nil {
		return "/" + m[1] + "/{id}"
	}
	return r
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	f := p.fault
	p.mu.Unlock()
	rt := route(r.URL.Path)
	status, hdr, body := p.answer(f, r, rt)
	for k, v := range hdr {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// answer is what the client gets: the server's answer, altered by f.
func (p *proxy) answer(f fault, r *http.Request, rt string) (int, http.Header, []byte) {
	filter := r.URL.Query().Get("filter")
	isList := r.Method == http.MethodGet && rt == "/Users"
	switch {
	case f == swRefused && r.Method == http.MethodGet && usesOperator(filter, "sw"):
		p.hit()
		return scimError(http.StatusBadRequest, "invalidFilter", "filter operator sw is not supported")
	case f == orRefused && r.Method == http.MethodGet && usesOperator(filter, "or"):
		p.hit()
		return scimError(http.StatusBadRequest, "invalidFilter", "logical operator or is not supported")
	case f == unparsedEmpty && r.Method == http.MethodGet && filter != "" && !onlyEq(filter):
		p.hit()
		return http.StatusOK, scimHeader(), mustJSON(listPage{Schemas: []string{listSchema}, StartIndex: 1, Resources: []json.RawMessage{}})
	}
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("startIndex"))
	if f == repeatPage1 && isList && start > 1 {
		q.Set("startIndex", "1")
	}
	status, hdr, body := p.forward(r, q)
	if r.Method != http.MethodGet && (rt == "/Users" || rt == "/Users/{id}" || rt == "/Locations" || rt == "/Locations/{id}") {
		p.mu.Lock()
		p.writes++
		p.mu.Unlock()
	}
	if status/100 != 2 {
		return status, hdr, body
	}
	switch {
	case f == createNoBody && r.Method == http.MethodPost && status == http.StatusCreated:
		p.hit()
		hdr.Del("Content-Type")
		return status, hdr, nil
	case f == telPhones && r.Method == http.MethodGet && (rt == "/Users" || rt == "/Users/{id}"):
		return status, hdr, p.rewrite(body, isList, func(u map[string]any) {
			if telOf(u) {
				p.hit()
			}
		})
	case isList && start > 1 && (f == emptyPage2 || f == shrinkingTotal || f == repeatPage1 || f == repeatResource):
		return status, hdr, p.page(body, func(pg *listPage) {
			switch f {
			case emptyPage2:
				pg.Resources = []json.RawMessage{}
			case shrinkingTotal:
				pg.TotalResults = start - 1 + len(pg.Resources)
			case repeatPage1:
				pg.StartIndex = start
			case repeatResource:
				first := p.firstOf(r, q)
				if first == nil || len(pg.Resources) == 0 {
					return
				}
				pg.Resources[0] = first
			}
			p.hit()
		})
	case isList && f == negativeTotal:
		return status, hdr, p.page(body, func(pg *listPage) { pg.TotalResults = -1; p.hit() })
	case isList && f == duplicateID && start <= 1:
		return status, hdr, p.page(body, func(pg *listPage) {
			if len(pg.Resources) < 2 {
				return
			}
			var a, b map[string]any
			p.unmarshal(pg.Resources[0], &a)
			p.unmarshal(pg.Resources[1], &b)
			b["id"] = a["id"]
			pg.Resources[1] = mustJSON(b)
			p.hit()
		})
	}
	return status, hdr, body
}

// forward sends r to the server with query q and reads the whole answer.
func (p *proxy) forward(r *http.Request, q url.Values) (int, http.Header, []byte) {
	in, err := io.ReadAll(r.Body)
	if err != nil {
		return scimError(http.StatusBadRequest, "invalidSyntax", err.Error())
	}
	return p.send(r, r.Method, q, in)
}

// send makes the request r describes, with method, query q and body in.
func (p *proxy) send(r *http.Request, method string, q url.Values, in []byte) (int, http.Header, []byte) {
	u := p.upstream + strings.TrimPrefix(r.URL.Path, "/scim/v2")
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(r.Context(), method, u, bytes.NewReader(in))
	if err != nil {
		return scimError(http.StatusBadGateway, "", err.Error())
	}
	for _, h := range []string{"Authorization", "Content-Type", "Accept"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return scimError(http.StatusBadGateway, "", err.Error())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return scimError(http.StatusBadGateway, "", err.Error())
	}
	hdr := http.Header{}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		hdr.Set("Content-Type", ct)
	}
	return resp.StatusCode, hdr, body
}

// firstOf is the first resource of page 1 of the listing r asks for.
func (p *proxy) firstOf(r *http.Request, q url.Values) json.RawMessage {
	q1 := url.Values{}
	for k, v := range q {
		q1[k] = v
	}
	q1.Set("startIndex", "1")
	status, _, body := p.send(r, http.MethodGet, q1, nil)
	var pg listPage
	if status != http.StatusOK || json.Unmarshal(body, &pg) != nil || len(pg.Resources) == 0 {
		p.t.Errorf("proxy: reading page 1 for %s: %d %s", r.URL, status, body)
		return nil
	}
	return pg.Resources[0]
}

const listSchema = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

type listPage struct {
	Schemas      []string          `json:"schemas"`
	TotalResults int               `json:"totalResults"`
	StartIndex   int               `json:"startIndex"`
	ItemsPerPage int               `json:"itemsPerPage"`
	Resources    []json.RawMessage `json:"Resources"`
}

func (p *proxy) page(body []byte, change func(*listPage)) []byte {
	var pg listPage
	p.unmarshal(body, &pg)
	change(&pg)
	return mustJSON(pg)
}

// rewrite applies change to the user of a single answer or to each user
// of a page.
func (p *proxy) rewrite(body []byte, isList bool, change func(map[string]any)) []byte {
	if !isList {
		var u map[string]any
		p.unmarshal(body, &u)
		change(u)
		return mustJSON(u)
	}
	return p.page(body, func(pg *listPage) {
		for i, raw := range pg.Resources {
			var u map[string]any
			p.unmarshal(raw, &u)
			change(u)
			pg.Resources[i] = mustJSON(u)
		}
	})
}

func (p *proxy) unmarshal(b []byte, v any) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		p.t.Errorf("proxy: server answer is not JSON: %v: %.200s", err, b)
	}
}

// telOf writes each E.164 phone number of u as an RFC 3966 global number
// with visual separators: +442079461003 → tel:+44-2079-4610-03. It says
// whether u had one.
func telOf(u map[string]any) bool {
	changed := false
	phones, _ := u["phoneNumbers"].([]any)
	for _, ph := range phones {
		m, _ := ph.(map[string]any)
		v, _ := m["value"].(string)
		if !strings.HasPrefix(v, "+") || len(v) < 4 {
			continue
		}
		d := v[1:]
		var b strings.Builder
		b.WriteString("tel:+" + d[:2])
		for i := 2; i < len(d); i += 4 {
			b.WriteString("-" + d[i:min(i+4, len(d))])
		}
		m["value"] = b.String()
		changed = true
	}
	return changed
}

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// usesOperator says whether filter uses op (a comparison or logical
// operator) outside its quoted values.
func usesOperator(filter, op string) bool {
	bare := quoted.ReplaceAllString(filter, `""`)
	for _, w := range strings.Fields(bare) {
		if strings.EqualFold(w, op) {
			return true
		}
	}
	return false
}

// onlyEq says whether filter is a single eq comparison.
func onlyEq(filter string) bool {
	f := strings.Fields(quoted.ReplaceAllString(filter, `""`))
	return len(f) == 3 && strings.EqualFold(f[1], "eq")
}

func scimHeader() http.Header {
	return http.Header{"Content-Type": {"application/scim+json"}}
}

func scimError(status int, scimType, detail string) (int, http.Header, []byte) {
	e := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"}, "status": strconv.Itoa(status), "detail": detail}
	if scimType != "" {
		e["scimType"] = scimType
	}
	return status, scimHeader(), mustJSON(e)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
