package visitor

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, v string
		want    time.Duration
		ok, bad bool
	}{
		{"seconds", "7", 7 * time.Second, true, false},
		{"zero", "0", 0, true, false},
		{"negative", "-3", 0, true, true},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true, false},
		{"date in past means now", now.Add(-time.Hour).Format(http.TimeFormat), 0, true, false},
		{"garbage", "soon", 0, true, true},
		{"years", "99999999", 99999999 * time.Second, true, false},
		{"beyond a Duration", "99999999999999999", (1 << 32) * time.Second, true, false},
		{"empty", "", 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := retryAfter(tt.v, now)
			if got != tt.want || ok != tt.ok || (err != nil) != tt.bad {
				t.Fatalf("retryAfter(%q) = %v, %v, %v; want %v, %v, error %v", tt.v, got, ok, err, tt.want, tt.ok, tt.bad)
			}
		})
	}
}

// A Retry-After the client will not wait fails the request at once with
// ErrRetryAfter, naming the value and the limit, instead of holding the
// run for years.
func TestRetryAfterBeyondTheMaximumFailsAtOnce(t *testing.T) {
	for _, v := range []string{"99999999", "-5", "tomorrow-ish"} {
		t.Run(v, func(t *testing.T) {
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				w.Header().Set("Retry-After", v)
				w.WriteHeader(http.StatusTooManyRequests)
			}))
			defer srv.Close()
			o := testOptions(srv.URL)
			o.RetryAfterMax = time.Minute
			c, _ := newClient(t, o)
			start := time.Now()
			_, err := c.ListLocations(context.Background())
			if !errors.Is(err, ErrRetryAfter) || !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), v) {
				t.Fatalf("err = %v, want %v and %v naming %q", err, ErrRetryAfter, ErrRateLimited, v)
			}
			if calls != 1 || time.Since(start) > 5*time.Second {
				t.Errorf("%d requests in %s: want one, no wait", calls, time.Since(start))
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	minW, maxW := 100*time.Millisecond, 2*time.Second
	for attempt := 0; attempt < 40; attempt++ {
		ceil := maxW
		if attempt < 5 {
			ceil = minW << attempt
		}
		for i := 0; i < 50; i++ {
			d := backoff(minW, maxW, attempt, nil)
			if d < ceil/2 || d > ceil {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, ceil/2, ceil)
			}
		}
	}
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"42"}}}
	if d := backoff(minW, maxW, 0, resp); d != 42*time.Second {
		t.Fatalf("Retry-After ignored: %v", d)
	}
}

func TestRetryOn429(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter func() string
	}{
		{"seconds", func() string { return "1" }},
		{"http date", func() string { return time.Now().Add(time.Second).UTC().Format(http.TimeFormat) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.addUser(map[string]any{"userName": "a@example.com"})
			f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.Method == http.MethodGet && n == 1 && r.URL.Path == "/scim/v2/Users/u0001" {
					w.Header().Set("Retry-After", tt.retryAfter())
					scimErr(w, http.StatusTooManyRequests, "", "slow down")
					return true
				}
				return false
			}
			c, _ := newClient(t, testOptions(f.url()))
			u, err := c.GetUser(context.Background(), "u0001")
			if err != nil || u.UserName != "a@example.com" {
				t.Fatalf("GetUser: %+v, %v", u, err)
			}
			s := c.Stats()
			if s.RateLimited != 1 || s.Retries != 1 || s.Requests != 2 || f.count("GET /Users/{id}") != 2 {
				t.Fatalf("stats %+v, server saw %d", s, f.count("GET /Users/{id}"))
			}
			if s.ByStatus["GET 429"] != 1 || s.ByStatus["GET 200"] != 1 {
				t.Fatalf("by status %v", s.ByStatus)
			}
		})
	}
}

func TestRetryOn5xx(t *testing.T) {
	tests := []struct {
		name      string
		failures  int
		status    int
		retryMax  int
		wantErr   bool
		wantCalls int
	}{
		{"burst recovers", 2, http.StatusServiceUnavailable, 3, false, 3},
		{"500 burst recovers", 3, http.StatusInternalServerError, 3, false, 4},
		{"burst outlasts retries", 10, http.StatusBadGateway, 2, true, 3},
		{"no retries", 1, http.StatusInternalServerError, 0, true, 1},
		{"501 is not retried", 1, http.StatusNotImplemented, 3, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.addUser(map[string]any{"userName": "a@example.com"})
			f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.URL.Path == "/scim/v2/Users/u0001" && n <= tt.failures {
					scimErr(w, tt.status, "", "down")
					return true
				}
				return false
			}
			o := testOptions(f.url())
			o.RetryMax = tt.retryMax
			c, _ := newClient(t, o)
			_, err := c.GetUser(context.Background(), "u0001")
			if tt.wantErr != (err != nil) {
				t.Fatalf("err=%v", err)
			}
			if err != nil {
				var se *Error
				if !errors.As(err, &se) || se.Status != tt.status {
					t.Fatalf("error %v is not a *Error with status %d", err, tt.status)
				}
				if !errors.Is(err, ErrServer) {
					t.Fatalf("errors.Is(%v, ErrServer) false", err)
				}
			}
			if got := f.count("GET /Users/{id}"); got != tt.wantCalls {
				t.Fatalf("server saw %d calls, want %d", got, tt.wantCalls)
			}
			if s := c.Stats(); s.Retries != int64(tt.wantCalls-1) || s.Requests != int64(tt.wantCalls) {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestRetryOnConnectionDrop(t *testing.T) {
	f := newFake(t)
	f.addUser(map[string]any{"userName": "a@example.com"})
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Path == "/scim/v2/Users/u0001" && n <= 2 {
			dropConn(w)
			return true
		}
		return false
	}
	c, _ := newClient(t, testOptions(f.url()))
	u, err := c.GetUser(context.Background(), "u0001")
	if err != nil || u.ID != "u0001" {
		t.Fatalf("GetUser: %+v %v", u, err)
	}
	s := c.Stats()
	if f.count("GET /Users/{id}") != 3 || s.Retries != 2 || s.ByStatus["GET error"] != 2 {
		t.Fatalf("server saw %d, stats %+v", f.count("GET /Users/{id}"), s)
	}
}

func TestContextDeadlineStopsRetries(t *testing.T) {
	f := newFake(t)
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		scimErr(w, http.StatusServiceUnavailable, "", "down")
		return true
	}
	o := testOptions(f.url())
	o.RetryMax = 1000
	o.RetryWaitMin, o.RetryWaitMax = 20*time.Millisecond, 20*time.Millisecond
	c, _ := newClient(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.GetUser(ctx, "u1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if n := f.count("GET /Users/{id}"); n < 1 || n > 20 {
		t.Fatalf("server saw %d calls", n)
	}
}

func TestPerRequestTimeoutRetriesGet(t *testing.T) {
	f := newFake(t)
	f.addUser(map[string]any{"userName": "a@example.com"})
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Path == "/scim/v2/Users/u0001" && n == 1 {
			<-r.Context().Done() // hang until the client gives up
			return true
		}
		return false
	}
	o := testOptions(f.url())
	o.Timeout = 100 * time.Millisecond
	c, _ := newClient(t, o)
	if _, err := c.GetUser(context.Background(), "u0001"); err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if n := f.count("GET /Users/{id}"); n != 2 {
		t.Fatalf("server saw %d calls, want 2", n)
	}
}
