package visitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testSecret = "client-secret-xyz"

// tokenServer issues "tok-1", "tok-2", … and records the forms it got.
type tokenServer struct {
	mu        sync.Mutex
	issued    int
	forms     []map[string]string
	expiresIn string // JSON value, "" to omit
	status    int
	srv       *httptest.Server
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{expiresIn: "3600", status: 200}
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ts.mu.Lock()
		defer ts.mu.Unlock()
		form := map[string]string{"ct": r.Header.Get("Content-Type")}
		for k := range r.PostForm {
			form[k] = r.PostForm.Get(k)
		}
		ts.forms = append(ts.forms, form)
		if ts.status != 200 {
			w.WriteHeader(ts.status)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":"bad secret %s"}`, r.PostForm.Get("client_secret"))
			return
		}
		ts.issued++
		body := fmt.Sprintf(`{"access_token":"tok-%d","token_type":"Bearer"`, ts.issued)
		if ts.expiresIn != "" {
			body += `,"expires_in":` + ts.expiresIn
		}
		fmt.Fprint(w, body+"}")
	}))
	t.Cleanup(ts.srv.Close)
	return ts
}

func (ts *tokenServer) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.forms)
}

func tokenOptions(base, tokenURL string) Options {
	o := testOptions(base)
	o.Token = ""
	o.TokenURL, o.ClientID, o.ClientSecret = tokenURL, "client-1", testSecret
	return o
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTokenEndpointCachingAndRefresh(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn string
		lifetime  time.Duration
		wantLife  time.Duration
		wantForm  string
	}{
		{"server lifetime", "3600", 0, time.Hour, "86400"},
		{"server lifetime as string", `"120"`, 0, 2 * time.Minute, "86400"},
		{"configured lifetime when server is silent", "", 10 * time.Minute, 10 * time.Minute, "600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTokenServer(t)
			ts.expiresIn = tt.expiresIn
			f := newFake(t)
			f.token = "tok-1"
			f.addUser(map[string]any{"userName": "a@example.com"})
			o := tokenOptions(f.url(), ts.srv.URL)
			o.TokenLifetime = tt.lifetime
			c, _ := newClient(t, o)
			clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			c.auth.now = clock.now
			ctx := context.Background()
			for i := 0; i < 5; i++ {
				if _, err := c.GetUser(ctx, "u0001"); err != nil {
					t.Fatal(err)
				}
			}
			if ts.count() != 1 {
				t.Fatalf("%d token fetches for 5 calls, want 1", ts.count())
			}
			form := ts.forms[0]
			if form["grant_type"] != "client_credentials" || form["client_id"] != "client-1" ||
				form["client_secret"] != testSecret || form["tokenexpiry"] != tt.wantForm ||
				form["ct"] != "application/x-www-form-urlencoded" {
				t.Fatalf("form %v", form)
			}
			// Still cached just before 90% of its life…
			clock.add(time.Duration(float64(tt.wantLife) * 0.89))
			if _, err := c.GetUser(ctx, "u0001"); err != nil || ts.count() != 1 {
				t.Fatalf("err %v, fetches %d: token not cached until 90%%", err, ts.count())
			}
			// …and replaced before it expires, without waiting for a 401.
			f.mu.Lock()
			f.token = "tok-2"
			f.mu.Unlock()
			calls := f.count("GET /Users/{id}")
			clock.add(time.Duration(float64(tt.wantLife) * 0.02))
			if _, err := c.GetUser(ctx, "u0001"); err != nil {
				t.Fatal(err)
			}
			if ts.count() != 2 || f.count("GET /Users/{id}") != calls+1 {
				t.Fatalf("fetches %d, calls %d→%d: want one proactive refresh", ts.count(), calls, f.count("GET /Users/{id}"))
			}
			if c.Stats().TokenFetch != 2 {
				t.Fatalf("stats %+v", c.Stats())
			}
		})
	}
}

func TestUnauthorizedRefreshesOnce(t *testing.T) {
	t.Run("refresh cures it", func(t *testing.T) {
		ts := newTokenServer(t)
		f := newFake(t)
		f.token = "tok-2" // the first token is already revoked
		f.addUser(map[string]any{"userName": "a@example.com"})
		c, _ := newClient(t, tokenOptions(f.url(), ts.srv.URL))
		if _, err := c.GetUser(context.Background(), "u0001"); err != nil {
			t.Fatal(err)
		}
		if ts.count() != 2 || f.count("GET /Users/{id}") != 2 {
			t.Fatalf("fetches %d calls %d", ts.count(), f.count("GET /Users/{id}"))
		}
	})
	t.Run("refresh does not cure it", func(t *testing.T) {
		ts := newTokenServer(t)
		f := newFake(t)
		f.token = "never"
		c, _ := newClient(t, tokenOptions(f.url(), ts.srv.URL))
		_, err := c.GetUser(context.Background(), "u0001")
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("err = %v", err)
		}
		if ts.count() != 2 || f.count("GET /Users/{id}") != 2 {
			t.Fatalf("fetches %d calls %d: want exactly one refresh and one repeat", ts.count(), f.count("GET /Users/{id}"))
		}
		if strings.Contains(err.Error(), "tok-") {
			t.Fatalf("error holds a token: %v", err)
		}
	})
	t.Run("static token is not retried", func(t *testing.T) {
		f := newFake(t)
		f.token = "other"
		c, _ := newClient(t, testOptions(f.url()))
		_, err := c.GetUser(context.Background(), "u0001")
		if !errors.Is(err, ErrUnauthorized) || f.count("GET /Users/{id}") != 1 {
			t.Fatalf("err = %v, calls %d", err, f.count("GET /Users/{id}"))
		}
		if strings.Contains(err.Error(), testToken) {
			t.Fatal("error holds the token")
		}
	})
	t.Run("POST after 401 is sent once more", func(t *testing.T) {
		ts := newTokenServer(t)
		f := newFake(t)
		f.token = "tok-2"
		c, _ := newClient(t, tokenOptions(f.url(), ts.srv.URL))
		if _, err := c.CreateUser(context.Background(), sampleUser(1)); err != nil {
			t.Fatal(err)
		}
		if f.count("POST /Users") != 2 || f.userCount() != 1 {
			t.Fatalf("posts %d users %d", f.count("POST /Users"), f.userCount())
		}
	})
}

func TestTokenEndpointErrorHidesSecret(t *testing.T) {
	ts := newTokenServer(t)
	ts.status = 400
	f := newFake(t)
	c, logs := newClient(t, tokenOptions(f.url(), ts.srv.URL))
	_, err := c.GetUser(context.Background(), "u1")
	if err == nil || !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "400") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Fatalf("error leaks the secret: %v", err)
	}
	if f.total() != 0 {
		t.Fatal("SCIM request sent without a token")
	}
	assertNoSecrets(t, logs, testSecret)
}

func TestConcurrentTokenFetchOnce(t *testing.T) {
	ts := newTokenServer(t)
	f := newFake(t)
	f.token = "tok-1"
	f.addUser(map[string]any{"userName": "a@example.com"})
	c, _ := newClient(t, tokenOptions(f.url(), ts.srv.URL))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.GetUser(context.Background(), "u0001")
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
	if ts.count() != 1 {
		t.Fatalf("%d token fetches, want 1", ts.count())
	}
}
