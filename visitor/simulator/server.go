package simulator

import (
	"bytes"
	"math/rand"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Server is the simulator; it implements http.Handler.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu        sync.Mutex
	users     map[string]*User
	userOrder []string // ids in creation order; deleted ones stay as gaps (dropFromOrder)
	orderGaps int
	locs      map[string]*Location
	locOrder  []string
	nextLoc   int
	outbox    []Invitation
	tokens    map[string]time.Time // issued token → expiry
	staticOff bool                 // ExpireTokens also retires the static token
	limiters  map[string]*rate.Limiter

	fmu    sync.Mutex
	faults Faults
	rng    *rand.Rand

	smu   sync.Mutex
	stats Stats

	idx userIndex // under mu
}

// New builds a Server for o.API: scim2 with one default location, or
// generic-v1, which has no locations (its resource carries none).
func New(o Options) *Server {
	o = o.withDefaults()
	s := &Server{
		opts:     o,
		users:    map[string]*User{},
		locs:     map[string]*Location{},
		tokens:   map[string]time.Time{},
		limiters: map[string]*rate.Limiter{},
		stats:    newStats(),
	}
	if err := o.checkAPI(); err != nil {
		panic("simulator.New: " + err.Error())
	}
	s.SetFaults(o.Faults)
	if s.generic() {
		s.genericRoutes()
		return s
	}
	now := o.Now().UTC()
	s.addLocation(Location{Name: o.DefaultLocationName, Default: true}, now)
	s.routes()
	return s
}

// generic says whether the server speaks generic-v1 rather than scim2.
func (s *Server) generic() bool { return s.opts.API == APIGenericV1 }

// basePath is where the flavour's SCIM routes live.
func (s *Server) basePath() string {
	if s.generic() {
		return GenericBasePath
	}
	return BasePath
}

// fail writes an error in the flavour's shape: the routes' common checks
// (auth, rate limit, faults, body size) are shared by both.
func (s *Server) fail(w http.ResponseWriter, e *scimError) {
	if s.generic() {
		writeGenericError(w, e)
		return
	}
	writeError(w, e)
}

// ServeHTTP dispatches to the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// SetFaults replaces the injected faults at run time and restarts the
// generator at f.Sequence.
func (s *Server) SetFaults(f Faults) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	cp := f
	cp.ErrorRate = map[int]float64{}
	for k, v := range f.ErrorRate {
		cp.ErrorRate[k] = v
	}
	cp.Methods = append([]string(nil), f.Methods...)
	cp.Paths = append([]string(nil), f.Paths...)
	s.faults = cp
	s.rng = rand.New(rand.NewSource(f.Sequence))
}

// route says which handler answers a method on a route template.
type route struct {
	template string
	list     bool // a listing, delayed by Faults.SlowPage
	methods  map[string]http.HandlerFunc
	// any, when set, answers every method (generic-v1's /Groups).
	any http.HandlerFunc
}

func (s *Server) routes() {
	m := http.NewServeMux()
	loc := s.opts.LocationsEndpoint
	scim := []route{
		{template: "/Users", list: true, methods: map[string]http.HandlerFunc{
			http.MethodGet: s.listUsers, http.MethodPost: s.createUser}},
		{template: "/Users/{id}", methods: map[string]http.HandlerFunc{
			http.MethodGet: s.getUser, http.MethodPut: s.putUser,
			http.MethodPatch: s.patchUser, http.MethodDelete: s.deleteUser}},
		{template: loc, list: true, methods: map[string]http.HandlerFunc{
			http.MethodGet: s.listLocations, http.MethodPost: s.createLocation}},
		{template: loc + "/{id}", methods: map[string]http.HandlerFunc{
			http.MethodGet: s.getLocation, http.MethodPut: s.putLocation, http.MethodPatch: s.patchLocation}},
		{template: "/ServiceProviderConfig", methods: map[string]http.HandlerFunc{
			http.MethodGet: s.serviceProviderConfig}},
		{template: "/ResourceTypes", methods: map[string]http.HandlerFunc{
			http.MethodGet: s.resourceTypes}},
	}
	for _, rt := range scim {
		m.Handle(BasePath+rt.template, s.scim(rt))
	}
	m.Handle(BasePath+"/", s.scim(route{template: "unknown"}))
	m.Handle("/oauth/token", s.scimNoAuth(route{template: "/oauth/token",
		methods: map[string]http.HandlerFunc{http.MethodPost: s.issueToken}}))
	m.HandleFunc("GET /stats", s.serveStats)
	m.HandleFunc("GET /state", s.serveState)
	s.mux = m
}

// scim wraps a SCIM route: stats, faults, auth, rate limit, body limit.
func (s *Server) scim(rt route) http.Handler {
	return s.wrap(rt, true)
}

// scimNoAuth wraps the token endpoint: faults and stats but no bearer token.
func (s *Server) scimNoAuth(rt route) http.Handler {
	return s.wrap(rt, false)
}

func (s *Server) wrap(rt route, auth bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.OnRequest != nil {
			s.opts.OnRequest(r.Method, r.URL.Path)
		}
		f := s.currentFaults()
		if !f.appliesTo(r.Method) || !f.appliesToPath(r.URL.Path, s.basePath()) {
			f = Faults{}
		}
		if !sleep(r, f.Latency) || (rt.list && r.Method == http.MethodGet && !sleep(r, f.SlowPage)) {
			s.count(r.Method, rt.template, statusClientGone)
			return
		}
		if s.roll(f.DropRate) {
			s.count(r.Method, rt.template, statusDropped)
			s.countFault("drop")
			hijackClose(w)
			return
		}
		buf := newBuffer()
		if st := s.rollError(f.ErrorRate); st != 0 {
			s.countFault("error")
			if st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable {
				buf.Header().Set("Retry-After", "1")
			}
			s.fail(buf, errf(st, "", "injected fault"))
		} else {
			s.handle(buf, r, rt, auth)
		}
		if isWrite(r.Method) && buf.status < 300 && s.roll(f.DropAfterWriteRate) {
			s.count(r.Method, rt.template, statusDroppedAfterWrite)
			s.countFault("dropAfterWrite")
			hijackClose(w)
			return
		}
		if buf.body.Len() > 0 && s.roll(f.MalformedRate) {
			s.countFault("malformed")
			b := buf.body.Bytes()
			buf.body = *bytes.NewBuffer(append([]byte(nil), b[:len(b)/2]...))
		}
		s.count(r.Method, rt.template, buf.status)
		buf.flush(w)
	})
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, rt route, auth bool) {
	if rt.methods == nil && rt.any == nil {
		s.fail(w, errf(http.StatusNotFound, "", "no such endpoint %s", r.URL.Path))
		return
	}
	if auth {
		tok, err := s.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
			s.fail(w, err)
			return
		}
		if wait, ok := s.allow(tok); !ok {
			w.Header().Set("Retry-After", wait)
			s.fail(w, errf(http.StatusTooManyRequests, "", "more than %d calls per minute", s.opts.RateLimit))
			return
		}
	}
	h, ok := rt.methods[r.Method]
	if !ok && rt.any != nil {
		h, ok = rt.any, true
	}
	if !ok {
		allow := make([]string, 0, len(rt.methods))
		for m := range rt.methods {
			allow = append(allow, m)
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.fail(w, errf(http.StatusMethodNotAllowed, "", "%s not allowed on %s", r.Method, rt.template))
		return
	}
	if r.ContentLength > s.opts.MaxBody {
		s.fail(w, errf(http.StatusRequestEntityTooLarge, "", "body of %d bytes is over %d", r.ContentLength, s.opts.MaxBody))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBody)
	h(w, r)
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// sleep waits d unless the client goes away first; false means it went.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// hijackClose drops the connection without an answer, like a proxy reset.
func hijackClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// buffer holds an answer so faults can drop or corrupt it after the
// handler has applied its change.
type buffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBuffer() *buffer { return &buffer{header: http.Header{}, status: http.StatusOK} }

func (b *buffer) Header() http.Header         { return b.header }
func (b *buffer) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *buffer) WriteHeader(status int)      { b.status = status }

// flush sends the answer with its length, so that a client can read it
// into one buffer (a truncated answer says its cut length).
func (b *buffer) flush(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.body.Len() > 0 {
		w.Header().Set("Content-Length", strconv.Itoa(b.body.Len()))
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}

func (s *Server) currentFaults() Faults {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.faults
}

func (s *Server) roll(p float64) bool {
	if p <= 0 {
		return false
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.rng.Float64() < p
}

// rollError picks at most one injected status with one draw, each status
// owning a band as wide as its rate, so {500: 0.1, 503: 0.1} fails exactly
// 20 % of requests (not 19 %, as separate draws would). Bands are laid
// out in ascending status order so a Sequence replays the same faults.
func (s *Server) rollError(rates map[int]float64) int {
	if len(rates) == 0 {
		return 0
	}
	codes := make([]int, 0, len(rates))
	for c, p := range rates {
		if p > 0 {
			codes = append(codes, c)
		}
	}
	if len(codes) == 0 {
		return 0
	}
	sortInts(codes)
	s.fmu.Lock()
	x := s.rng.Float64()
	s.fmu.Unlock()
	edge := 0.0
	for _, c := range codes {
		edge += rates[c]
		if x < edge {
			return c
		}
	}
	return 0
}
