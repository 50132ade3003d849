// Every client path of issue 4 against the Visitor simulator over real
// HTTP (run with -race): unknown-outcome creates, 429 bursts, timeouts,
// deadlines, dropped and garbled answers, paging, filter escaping, PATCH
// bodies, the body guard, typed errors and token lifetimes.
package visitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"condeco-visitor-sync/visitor/simulator"
)

// recorder wraps a simulator and keeps every request's method, path, query
// and body, to check what the client put on the wire.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path, count, body string
}

func (rc *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, recorded{r.Method, strings.TrimPrefix(r.URL.Path, simulator.BasePath), r.URL.Query().Get("count"), string(b)})
		rc.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (rc *recorder) find(method, path string) []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []recorded
	for _, r := range rc.reqs {
		if r.method == method && r.path == path {
			out = append(out, r)
		}
	}
	return out
}

// onePatch checks that exactly one PATCH went to path, with one operation
// on each of paths and no other.
func (rc *recorder) onePatch(t *testing.T, path string, paths []string) {
	t.Helper()
	patches := rc.find(http.MethodPatch, path)
	if len(patches) != 1 {
		t.Fatalf("%d PATCHes", len(patches))
	}
	for _, p := range paths {
		if !strings.Contains(patches[0].body, `"path":"`+p+`"`) {
			t.Fatalf("body lacks %s: %s", p, patches[0].body)
		}
	}
	if n := strings.Count(patches[0].body, `"op":`); n != len(paths) {
		t.Fatalf("%d operations, want %d: %s", n, len(paths), patches[0].body)
	}
}

// startRecordedSim serves a simulator behind a recorder on loopback.
func startRecordedSim(t *testing.T, o simulator.Options) (string, *simulator.Server, *recorder) {
	t.Helper()
	srv := simulator.New(o)
	rc := &recorder{}
	ts := httptest.NewServer(rc.wrap(srv))
	t.Cleanup(ts.Close)
	return ts.URL + simulator.BasePath, srv, rc
}

func storedTimes(srv *simulator.Server, externalID string) int {
	n := 0
	for _, u := range srv.Users() {
		if u.ExternalID == externalID {
			n++
		}
	}
	return n
}

// TestSimulatorCreateUnknownOutcome: a POST whose answer is lost or garbled
// is never repeated by the HTTP layer; the client looks the user up by
// externalId first, so exactly one user exists whatever happened.
func TestSimulatorCreateUnknownOutcome(t *testing.T) {
	post := []string{http.MethodPost}
	tests := []struct {
		name       string
		faults     simulator.Faults
		wantErr    bool
		wantPosts  int
		wantLookup int
		wantStored int
	}{
		{"dropped after the server stored it", simulator.Faults{DropAfterWriteRate: 1, Methods: post}, false, 1, 1, 1},
		{"garbled answer after the server stored it", simulator.Faults{MalformedRate: 1, Methods: post}, false, 1, 1, 1},
		{"dropped before handling, every try", simulator.Faults{DropRate: 1, Methods: post}, true, 3, 3, 0},
		{"503 before handling, every try", simulator.Faults{ErrorRate: map[int]float64{503: 1}, Methods: post}, true, 3, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, srv := startSim(t, simulator.Options{Token: testToken, Faults: tt.faults})
			o := testOptions(url)
			o.RetryMax = 2
			c, _ := newClient(t, o)
			got, err := c.CreateUser(context.Background(), sampleUser(1))
			if tt.wantErr != (err != nil) {
				t.Fatalf("err = %v", err)
			}
			st := srv.Stats()
			if n := st.ByMethodRoute["POST /Users"]; n != tt.wantPosts {
				t.Fatalf("%d POSTs reached the simulator, want %d (%v)", n, tt.wantPosts, st.ByRouteStatus)
			}
			if n := st.ByMethodRoute["GET /Users"]; n != tt.wantLookup {
				t.Fatalf("%d lookups, want %d", n, tt.wantLookup)
			}
			if n := storedTimes(srv, "condeco:1"); n != tt.wantStored {
				t.Fatalf("stored %d times, want %d", n, tt.wantStored)
			}
			if err == nil && (got.ID == "" || got.ExternalID != "condeco:1") {
				t.Fatalf("returned %+v", got)
			}
		})
	}
}

// TestSimulatorFaultsNoDuplicates creates users through drops (before and
// after the write), 503s and garbled answers, and checks every user
// exists exactly once.
func TestSimulatorFaultsNoDuplicates(t *testing.T) {
	url, srv := startSim(t, simulator.Options{Token: testToken, Faults: simulator.Faults{
		Sequence:           7,
		DropRate:           0.1,
		DropAfterWriteRate: 0.15,
		MalformedRate:      0.1,
		ErrorRate:          map[int]float64{503: 0.1},
	}})
	o := testOptions(url)
	o.RetryMax = 10
	c, _ := newClient(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 40
	for i := 1; i <= n; i++ {
		if _, err := c.CreateUser(ctx, sampleUser(i)); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	for i := 1; i <= n; i++ {
		if k := storedTimes(srv, fmt.Sprintf("condeco:%d", i)); k != 1 {
			t.Fatalf("condeco:%d stored %d times", i, k)
		}
	}
	st := srv.Stats()
	for _, kind := range []string{"drop", "dropAfterWrite", "error", "malformed"} {
		if st.Faults[kind] == 0 {
			t.Fatalf("no %s fault injected: %+v", kind, st.Faults)
		}
	}
	t.Logf("client %+v; simulator faults %v", c.Stats(), st.Faults)
}

// TestSimulatorReadsSurviveFaults: GETs and listings get through dropped
// connections, garbled JSON, 5xx and slow pages.
func TestSimulatorReadsSurviveFaults(t *testing.T) {
	url, srv := startSim(t, simulator.Options{Token: testToken, MaxResults: 4})
	o := testOptions(url)
	o.RetryMax = 10
	c, _ := newClient(t, o)
	ctx := context.Background()
	var ids []string
	for i := 1; i <= 10; i++ {
		u, err := c.CreateUser(ctx, sampleUser(i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	srv.SetFaults(simulator.Faults{Sequence: 5, DropRate: 0.2, MalformedRate: 0.2,
		ErrorRate: map[int]float64{500: 0.1, 502: 0.1}, SlowPage: 5 * time.Millisecond, Methods: []string{http.MethodGet}})
	for round := 0; round < 3; round++ {
		for _, id := range ids {
			if u, err := c.GetUser(ctx, id); err != nil || u.ID != id {
				t.Fatalf("get %s: %+v %v", id, u, err)
			}
		}
		all, err := c.ListManagedUsers(ctx, "condeco:")
		if err != nil || len(all) != len(ids) {
			t.Fatalf("list: %d %v", len(all), err)
		}
	}
	st := srv.Stats()
	for _, kind := range []string{"drop", "malformed", "error"} {
		if st.Faults[kind] == 0 {
			t.Fatalf("no %s fault injected: %+v", kind, st.Faults)
		}
	}
}

// TestSimulatorRateBudget: at the server's budget the shared limiter keeps
// every call under it; far above it, the server's 429s and Retry-After are
// obeyed and every call still succeeds.
func TestSimulatorRateBudget(t *testing.T) {
	tests := []struct {
		name              string
		serverRate, burst int
		clientRate, calls int
		want429           bool
		minElapsed        time.Duration
	}{
		{"client at the server's budget: no 429", 1200, 0, 1200, 30, false, 0},
		{"client 1000× the server's budget: 429s obeyed", 60, 1, 60000, 3, true, 1900 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, srv := startSim(t, simulator.Options{Token: testToken, RateLimit: tt.serverRate, RateBurst: tt.burst})
			o := testOptions(url)
			o.RateLimit = tt.clientRate
			c, _ := newClient(t, o)
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, tt.calls)
			for i := 0; i < tt.calls; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := c.ListLocations(context.Background())
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			s := c.Stats()
			n429 := srv.Stats().ByStatus["429"]
			if int64(n429) != s.RateLimited || (n429 > 0) != tt.want429 {
				t.Fatalf("simulator 429s %d, client saw %d, want any: %v", n429, s.RateLimited, tt.want429)
			}
			if elapsed < tt.minElapsed {
				t.Fatalf("finished in %v: Retry-After not obeyed (want ≥ %v)", elapsed, tt.minElapsed)
			}
			if !tt.want429 && s.LimiterWait <= 0 {
				t.Fatal("limiter never made a call wait")
			}
		})
	}
}

// TestSimulatorTimeoutAndDeadline: a hung request is cut by the
// per-request timeout and retried; the context deadline ends the whole
// call even while the server keeps asking to come back later.
func TestSimulatorTimeoutAndDeadline(t *testing.T) {
	t.Run("per-request timeout", func(t *testing.T) {
		url, srv := startSim(t, simulator.Options{Token: testToken})
		o := testOptions(url)
		o.Timeout, o.RetryMax = 50*time.Millisecond, 1
		c, _ := newClient(t, o)
		u, err := c.CreateUser(context.Background(), sampleUser(1))
		if err != nil {
			t.Fatal(err)
		}
		// An hour of latency: only the per-request timeout can end the
		// call before the outer deadline.
		srv.SetFaults(simulator.Faults{Latency: time.Hour, Methods: []string{http.MethodGet}})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err = c.GetUser(ctx, u.ID)
		if err == nil || ctx.Err() != nil {
			t.Fatalf("err %v, outer context %v: the per-request timeout did not end the call", err, ctx.Err())
		}
		deadline := time.Now().Add(5 * time.Second)
		for srv.Stats().ByRouteStatus["GET /Users/{id} clientGone"] != 2 {
			if time.Now().After(deadline) {
				t.Fatalf("want 2 abandoned attempts: %v", srv.Stats().ByRouteStatus)
			}
			time.Sleep(10 * time.Millisecond)
		}
		srv.SetFaults(simulator.Faults{})
		if _, err := c.GetUser(context.Background(), u.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("overall deadline", func(t *testing.T) {
		url, _ := startSim(t, simulator.Options{Token: testToken,
			Faults: simulator.Faults{ErrorRate: map[int]float64{503: 1}}})
		o := testOptions(url)
		o.RetryMax = 1000
		c, _ := newClient(t, o)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.ListLocations(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("deadline of 300ms ended the call after %v", d)
		}
	})
}

// refuseAbove answers a listing whose count is above limit with 400 tooMany,
// as a server may instead of capping (RFC 7644 §3.4.2.4 leaves it open);
// limit 0 passes everything on.
func refuseAbove(limit int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n, err := strconv.Atoi(r.URL.Query().Get("count")); limit > 0 && r.Method == http.MethodGet && err == nil && n > limit {
			w.Header().Set("Content-Type", mediaType)
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"tooMany","detail":"count above %d"}`, limit)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestSimulatorPaging: against the simulator over HTTP, a listing asks for
// the configured size straight away. The simulator caps count at its
// maxResults, which the client learns from the first short page without
// reading ServiceProviderConfig; in front of a server that refuses a large
// count instead, it reads the config once and asks that page again.
func TestSimulatorPaging(t *testing.T) {
	tests := []struct {
		name                 string
		maxResults, pageSize int
		refuse               bool
		wantCounts           []string // count= of every GET /Users, two listings
		wantSPC              int
	}{
		{"server caps: size learned", 3, 0, false,
			[]string{"200", "3", "3", "3", "3", "3"}, 0},
		{"ours below the server's stays", 200, 4, false,
			[]string{"4", "4", "4", "4"}, 0},
		{"default 200", 200, 0, false,
			[]string{"200", "200"}, 0},
		{"server refuses big counts: config read once", 3, 0, true,
			[]string{"200", "3", "3", "3", "3", "3", "3"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := simulator.New(simulator.Options{Token: testToken, MaxResults: tt.maxResults})
			rec := &recorder{}
			limit := 0
			if tt.refuse {
				limit = tt.maxResults
			}
			ts := httptest.NewServer(rec.wrap(refuseAbove(limit, srv)))
			t.Cleanup(ts.Close)
			o := testOptions(ts.URL + simulator.BasePath)
			o.PageSize = tt.pageSize
			c, _ := newClient(t, o)
			ctx := context.Background()
			for i := 1; i <= 7; i++ {
				if _, err := c.CreateUser(ctx, sampleUser(i)); err != nil {
					t.Fatal(err)
				}
			}
			for round := 0; round < 2; round++ {
				us, err := c.ListManagedUsers(ctx, "condeco:")
				if err != nil || len(us) != 7 {
					t.Fatalf("listed %d: %v", len(us), err)
				}
				seen := map[string]bool{}
				for _, u := range us {
					if seen[u.ID] {
						t.Fatalf("user %s listed twice", u.ID)
					}
					seen[u.ID] = true
				}
			}
			var counts []string
			for _, p := range rec.find(http.MethodGet, "/Users") {
				counts = append(counts, p.count)
			}
			if fmt.Sprint(counts) != fmt.Sprint(tt.wantCounts) {
				t.Fatalf("asked count=%v, want %v", counts, tt.wantCounts)
			}
			if n := len(rec.find(http.MethodGet, "/ServiceProviderConfig")); n != tt.wantSPC {
				t.Fatalf("ServiceProviderConfig read %d times, want %d", n, tt.wantSPC)
			}
		})
	}
}

// TestSimulatorFilterEscaping: externalIds holding quotes and backslashes
// are found exactly, and cannot widen a filter.
func TestSimulatorFilterEscaping(t *testing.T) {
	url, _ := startSim(t, simulator.Options{Token: testToken})
	c, _ := newClient(t, testOptions(url))
	ctx := context.Background()
	ids := []string{`condeco:q"uote`, `condeco:back\slash`, `condeco:\"both\"`, `condeco:x" or userName sw "`, `condeco:plain`}
	for i, ext := range ids {
		u := sampleUser(i + 1)
		u.ExternalID = ext
		if _, err := c.CreateUser(ctx, u); err != nil {
			t.Fatalf("create %q: %v", ext, err)
		}
	}
	for _, ext := range ids {
		t.Run(ext, func(t *testing.T) {
			got, err := c.FindUser(ctx, "externalId", ext)
			if err != nil || got == nil || got.ExternalID != ext {
				t.Fatalf("FindUser(%q) = %+v, %v", ext, got, err)
			}
		})
	}
	if got, err := c.FindUser(ctx, "externalId", `condeco:q\"uote`); err != nil || got != nil {
		t.Fatalf("a different value matched: %+v %v", got, err)
	}
	if us, err := c.ListManagedUsers(ctx, `condeco:back\`); err != nil || len(us) != 1 {
		t.Fatalf("sw with a backslash: %d %v", len(us), err)
	}
}

// TestSimulatorPatchSendsOnlyListedFields: the PATCH body holds exactly the
// fields that differ, and the simulator leaves every other one alone.
func TestSimulatorPatchSendsOnlyListedFields(t *testing.T) {
	ext := DefaultUserSchema
	tests := []struct {
		name   string
		edit   func(*User)
		fields []Field
		paths  []string
	}{
		{"given name", func(u *User) { u.GivenName = "Anabela" }, []Field{FieldGivenName}, []string{"name.givenName"}},
		{"deactivate", func(u *User) { u.Active = false }, []Field{FieldActive}, []string{"active"}},
		{"email moves userName too", func(u *User) { u.UserName, u.Email = "new1@example.com", "new1@example.com" },
			[]Field{FieldUserName}, []string{"userName", "emails"}},
		{"mobile only", func(u *User) { u.Mobile = "+447700900999" }, []Field{FieldMobile}, []string{"phoneNumbers"}},
		{"location grants", func(u *User) { u.Access = []Access{{LocationID: "", Role: RoleUser}} }, []Field{FieldAccess}, []string{ext + ":locations"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, srv, rec := startRecordedSim(t, simulator.Options{Token: testToken})
			c, _ := newClient(t, testOptions(url))
			ctx := context.Background()
			locs, err := c.ListLocations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			admin := sampleUser(9) // keeps an active admin, so deactivating user 1 is allowed
			admin.Access = []Access{{LocationID: locs[0].ID, Role: RoleAdmin}}
			if _, err := c.CreateUser(ctx, admin); err != nil {
				t.Fatal(err)
			}
			u, err := c.CreateUser(ctx, sampleUser(1))
			if err != nil {
				t.Fatal(err)
			}
			before := u
			want := u
			tt.edit(&want)
			for i := range want.Access {
				want.Access[i].LocationID = locs[0].ID
			}
			got, err := c.UpdateUser(ctx, u.ID, want, tt.fields)
			if err != nil {
				t.Fatal(err)
			}
			rec.onePatch(t, "/Users/"+u.ID, tt.paths)
			// Nothing outside the listed fields changed.
			got.LastModified, want.LastModified, before.LastModified = time.Time{}, time.Time{}, time.Time{}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("after PATCH\n got  %+v\n want %+v\n was  %+v", got, want, before)
			}
			if len(srv.Users()) != 2 {
				t.Fatalf("%d users", len(srv.Users()))
			}
		})
	}
}

// TestSimulatorBodyGuard: a body over 2 MB never leaves the client; a
// server with a lower limit answers 413 as a typed error.
func TestSimulatorBodyGuard(t *testing.T) {
	tests := []struct {
		name      string
		maxBody   int64
		nameLen   int
		wantPosts int
		want413   bool
	}{
		{"over 2 MB refused before sending", 0, MaxBodyBytes, 0, false},
		{"server limit below ours answers 413", 4096, 5000, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, srv := startSim(t, simulator.Options{Token: testToken, MaxBody: tt.maxBody})
			c, _ := newClient(t, testOptions(url))
			u := sampleUser(1)
			u.GivenName = strings.Repeat("a", tt.nameLen)
			_, err := c.CreateUser(context.Background(), u)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v", err)
			}
			var se *Error
			if errors.As(err, &se) != tt.want413 || (tt.want413 && se.Status != 413) {
				t.Fatalf("typed error %v, want 413: %v", se, tt.want413)
			}
			if n := srv.Stats().ByMethodRoute["POST /Users"]; n != tt.wantPosts {
				t.Fatalf("%d POSTs reached the simulator, want %d", n, tt.wantPosts)
			}
		})
	}
}

// TestSimulatorTypedErrors: the simulator's refusals reach the caller as
// *Error with status, scimType and detail, matching the sentinel that says
// what each means (TestErrorSentinels has the whole mapping).
func TestSimulatorTypedErrors(t *testing.T) {
	tests := []struct {
		name     string
		do       func(ctx context.Context, c *Client, srv *simulator.Server, id string) error
		status   int
		scimType string
		sentinel error
	}{
		{"userName taken in another case", func(ctx context.Context, c *Client, _ *simulator.Server, _ string) error {
			u := sampleUser(2)
			u.UserName, u.Email = "USER1@Example.com", "USER1@Example.com"
			_, err := c.CreateUser(ctx, u)
			return err
		}, 409, "uniqueness", ErrUniqueness},
		{"externalId changed", func(ctx context.Context, c *Client, _ *simulator.Server, id string) error {
			u := sampleUser(1)
			u.ExternalID = "condeco:99"
			_, err := c.UpdateUser(ctx, id, u, []Field{FieldExternalID})
			return err
		}, 400, "mutability", ErrReadOnly},
		{"underscore in a name", func(ctx context.Context, c *Client, _ *simulator.Server, _ string) error {
			u := sampleUser(2)
			u.FamilyName = "Sil_va"
			_, err := c.CreateUser(ctx, u)
			return err
		}, 400, "invalidValue", ErrBadRequest},
		{"forbidden character in email", func(ctx context.Context, c *Client, _ *simulator.Server, _ string) error {
			u := sampleUser(2)
			u.UserName, u.Email = "a;b@example.com", "a;b@example.com"
			_, err := c.CreateUser(ctx, u)
			return err
		}, 400, "invalidValue", ErrBadRequest},
		{"delete a hand-made user", func(ctx context.Context, c *Client, srv *simulator.Server, _ string) error {
			h := srv.AddHandmadeUser(simulator.User{UserName: "hand@example.com", GivenName: "H", FamilyName: "M",
				Emails: []simulator.Email{{Value: "hand@example.com", Type: "work", Primary: true}}, Active: true})
			return c.DeleteUser(ctx, h.ID)
		}, 403, "", ErrForbidden},
		{"delete the last active admin", func(ctx context.Context, c *Client, _ *simulator.Server, _ string) error {
			locs, err := c.ListLocations(ctx)
			if err != nil {
				return err
			}
			u := sampleUser(3)
			u.Access = []Access{{LocationID: locs[0].ID, Role: RoleAdmin}}
			a, err := c.CreateUser(ctx, u)
			if err != nil {
				return err
			}
			return c.DeleteUser(ctx, a.ID)
		}, 409, "mutability", ErrLastAdmin},
		{"unknown user", func(ctx context.Context, c *Client, _ *simulator.Server, _ string) error {
			_, err := c.GetUser(ctx, "nope")
			return err
		}, 404, "", ErrNotFound},
		{"token expired", func(ctx context.Context, c *Client, srv *simulator.Server, id string) error {
			srv.ExpireTokens()
			_, err := c.GetUser(ctx, id)
			return err
		}, 401, "", ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, srv := startSim(t, simulator.Options{Token: testToken})
			c, _ := newClient(t, testOptions(url))
			ctx := context.Background()
			u, err := c.CreateUser(ctx, sampleUser(1))
			if err != nil {
				t.Fatal(err)
			}
			err = tt.do(ctx, c, srv, u.ID)
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("err %v is not *Error", err)
			}
			if se.Status != tt.status || se.ScimType != tt.scimType || se.Detail == "" {
				t.Fatalf("got %+v, want status %d scimType %q and a detail", *se, tt.status, tt.scimType)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("errors.Is(%v, %v) false", err, tt.sentinel)
			}
		})
	}
}

// TestSimulatorTokenLifetimes: the client asks the simulator's token
// endpoint (form-encoded) for each allowed lifetime and replaces the token
// before the simulator would refuse it, so no 401 is ever seen.
func TestSimulatorTokenLifetimes(t *testing.T) {
	tests := []struct {
		name     string
		lifetime time.Duration
		want     time.Duration
	}{
		{"one minute", MinTokenLifetime, time.Minute},
		{"default 24 hours", 0, 24 * time.Hour},
		{"ten years", MaxTokenLifetime, MaxTokenLifetime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
			url, srv := startSim(t, simulator.Options{ClientID: "client-1", ClientSecret: testSecret, Now: clock.now})
			o := tokenOptions(url, strings.TrimSuffix(url, simulator.BasePath)+"/oauth/token")
			o.TokenLifetime = tt.lifetime
			c, _ := newClient(t, o)
			c.auth.now = clock.now
			ctx := context.Background()
			for i := 0; i < 3; i++ {
				if _, err := c.ListLocations(ctx); err != nil {
					t.Fatal(err)
				}
				clock.add(time.Duration(float64(tt.want) * 0.95))
			}
			st := srv.Stats()
			if st.ByStatus["401"] != 0 || st.ByStatus["400"] != 0 {
				t.Fatalf("simulator refused: %v", st.ByRouteStatus)
			}
			if s := c.Stats(); s.TokenFetch != 3 {
				t.Fatalf("%d token fetches for 3 calls 95 %% of a lifetime apart, want 3", s.TokenFetch)
			}
		})
	}
}

// TestSimulatorUpdateLocation: a rename and the claim of an empty
// externalId travel as PATCH replace operations on name and externalId,
// only those listed; a clash is ErrUniqueness, an externalId already set
// is refused by Visitor (ErrReadOnly) and never cleared by the client.
func TestSimulatorUpdateLocation(t *testing.T) {
	tests := []struct {
		name    string
		target  int // index into the listing
		loc     Location
		fields  []LocationField
		paths   []string
		wantErr error
		want    Location // name and externalId after
	}{
		{"rename", 1, Location{Name: "Paris 8e"}, []LocationField{LocationFieldName}, []string{"name"}, nil,
			Location{Name: "Paris 8e", ExternalID: "condeco-location:1"}},
		{"claim", 2, Location{ExternalID: "condeco-location:2", Name: "ignored"}, []LocationField{LocationFieldExternalID}, []string{"externalId"}, nil,
			Location{Name: "Lyon", ExternalID: "condeco-location:2"}},
		{"claim and rename", 2, Location{ExternalID: "condeco-location:2", Name: "Lyon Part-Dieu"}, []LocationField{LocationFieldExternalID, LocationFieldName},
			[]string{"externalId", "name"}, nil, Location{Name: "Lyon Part-Dieu", ExternalID: "condeco-location:2"}},
		{"name taken", 1, Location{Name: "LYON"}, []LocationField{LocationFieldName}, []string{"name"}, ErrUniqueness,
			Location{Name: "Paris", ExternalID: "condeco-location:1"}},
		{"externalId set already", 1, Location{ExternalID: "condeco-location:9"}, []LocationField{LocationFieldExternalID}, []string{"externalId"}, ErrReadOnly,
			Location{Name: "Paris", ExternalID: "condeco-location:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, _, rec := startRecordedSim(t, simulator.Options{Token: testToken})
			c, _ := newClient(t, testOptions(url))
			ctx := context.Background()
			for _, l := range []Location{{ExternalID: "condeco-location:1", Name: "Paris"}, {Name: "Lyon"}} {
				if _, err := c.CreateLocation(ctx, l); err != nil {
					t.Fatal(err)
				}
			}
			locs, err := c.ListLocations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			id := locs[tt.target].ID
			got, err := c.UpdateLocation(ctx, id, tt.loc, tt.fields)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			rec.onePatch(t, "/Locations/"+id, tt.paths)
			after, lerr := c.ListLocations(ctx)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if l := after[tt.target]; l.Name != tt.want.Name || l.ExternalID != tt.want.ExternalID {
				t.Fatalf("stored %+v, want %+v", l, tt.want)
			}
			if err == nil && (got.Name != tt.want.Name || got.ExternalID != tt.want.ExternalID || got.ID != id) {
				t.Fatalf("answer %+v", got)
			}
		})
	}
	c, _ := newClient(t, testOptions("http://127.0.0.1:1/scim/v2"))
	if _, err := c.UpdateLocation(context.Background(), "loc-1", Location{}, []LocationField{LocationFieldExternalID}); err == nil {
		t.Fatal("an empty externalId was sent")
	}
}
