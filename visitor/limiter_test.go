package visitor

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestLimiterShared runs goroutines against one client and checks that
// every attempt, retries included, went through the one limiter.
func TestLimiterShared(t *testing.T) {
	f := newFake(t)
	f.addUser(map[string]any{"userName": "a@example.com"})
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n%5 == 0 { // every fifth call fails once and is retried
			scimErr(w, http.StatusServiceUnavailable, "", "busy")
			return true
		}
		return false
	}
	o := testOptions(f.url())
	o.RateLimit = 3000 // one call per 20ms
	c, _ := newClient(t, o)
	const workers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := c.GetUser(context.Background(), "u0001")
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := c.Stats()
	seen := int64(f.total())
	if s.Requests != seen {
		t.Fatalf("client counted %d requests, server saw %d", s.Requests, seen)
	}
	if s.Retries == 0 || s.Requests != workers*each+s.Retries {
		t.Fatalf("stats %+v: retries not counted", s)
	}
	if s.LimiterWait <= 0 {
		t.Fatalf("no limiter wait with %d concurrent calls at 50/s", s.Requests)
	}
}

// TestLimiterPerClient shows limiters are not shared between clients: a
// client whose budget is far above its use never waits.
func TestLimiterPerClient(t *testing.T) {
	f := newFake(t)
	f.addUser(map[string]any{"userName": "a@example.com"})
	slow, _ := newClient(t, Options{BaseURL: f.url(), Token: testToken, RateLimit: 600})
	fast, _ := newClient(t, Options{BaseURL: f.url(), Token: testToken, RateLimit: 6000000})
	for i := 0; i < 3; i++ {
		if _, err := slow.GetUser(context.Background(), "u0001"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fast.GetUser(context.Background(), "u0001"); err != nil {
		t.Fatal(err)
	}
	if slow.Stats().LimiterWait <= 0 {
		t.Fatal("slow client never waited")
	}
	if fast.Stats().LimiterWait != 0 {
		t.Fatalf("fast client waited %v on someone else's limiter", fast.Stats().LimiterWait)
	}
}

// TestLimiterDeadline: a wait longer than the caller's deadline fails at
// once, is not retried, and a create refused this way is known not to
// have been sent, so no lookup follows.
func TestLimiterDeadline(t *testing.T) {
	f := newFake(t)
	f.addUser(map[string]any{"userName": "a@example.com"})
	o := testOptions(f.url())
	o.RateLimit = 1 // one call a minute
	c, _ := newClient(t, o)
	if _, err := c.GetUser(context.Background(), "u0001"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.CreateUser(ctx, sampleUser(1))
	if !errors.Is(err, errLimiterDeadline) {
		t.Fatalf("err = %v", err)
	}
	if f.total() != 1 {
		t.Fatalf("server saw %d calls, want only the first", f.total())
	}
}

// TestLimiterOption: clients given one Options.Limiter share its budget
// (two profiles, or a profile check, on one token), where clients that
// each build their own do not (TestLimiterPerClient).
func TestLimiterOption(t *testing.T) {
	f := newFake(t)
	f.addUser(map[string]any{"userName": "a@example.com"})
	shared := rate.NewLimiter(rate.Limit(20), 1) // one call per 50ms
	tests := []struct {
		name     string
		limiter  *rate.Limiter
		wantWait bool
	}{
		{"shared limiter: the second client waits", shared, true},
		{"own limiters: the second client never waits", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(f.url())
			o.RateLimit = 1200 // 20 a second when built from the options
			o.Limiter = tc.limiter
			a, _ := newClient(t, o)
			b, _ := newClient(t, o)
			if _, err := a.GetUser(context.Background(), "u0001"); err != nil {
				t.Fatal(err)
			}
			if _, err := b.GetUser(context.Background(), "u0001"); err != nil {
				t.Fatal(err)
			}
			if got := b.Stats().LimiterWait > 0; got != tc.wantWait {
				t.Fatalf("second client waited %v, want a wait: %v", b.Stats().LimiterWait, tc.wantWait)
			}
		})
	}
}
