package visitor

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBackoffHonoursRetryAfter: both Retry-After forms are obeyed on 429
// and 503; anything else falls back to the jittered exponential wait.
func TestBackoffHonoursRetryAfter(t *testing.T) {
	minW, maxW := 10*time.Millisecond, 40*time.Millisecond
	date := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }
	tests := []struct {
		name     string
		status   int
		header   string
		min, max time.Duration
	}{
		{"429 seconds", 429, "3", 3 * time.Second, 3 * time.Second},
		{"503 seconds", 503, "2", 2 * time.Second, 2 * time.Second},
		{"429 http date", 429, date(5 * time.Second), 4 * time.Second, 5 * time.Second},
		{"503 http date", 503, date(3 * time.Second), 2 * time.Second, 3 * time.Second},
		{"429 rfc850 date", 429, time.Now().Add(4 * time.Second).UTC().Format(time.RFC850), 3 * time.Second, 4 * time.Second},
		{"date in the past is now", 429, date(-time.Hour), 0, 0},
		{"500 ignores Retry-After", 500, "30", minW / 2, minW},
		{"garbage falls back", 429, "soon", minW / 2, minW},
		{"absent falls back", 503, "", minW / 2, minW},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			if tt.header != "" {
				resp.Header.Set("Retry-After", tt.header)
			}
			if d := backoff(minW, maxW, 0, resp); d < tt.min || d > tt.max {
				t.Fatalf("backoff = %v, want %v..%v", d, tt.min, tt.max)
			}
		})
	}
}

// TestRetryAfterHonoured measures the wait on the wire: with the client's
// own backoff at 1–5ms, only an obeyed Retry-After makes the retry wait a
// second or more.
func TestRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		header   func() string
		min, max time.Duration
	}{
		{"429 seconds", 429, func() string { return "1" }, 900 * time.Millisecond, 10 * time.Second},
		{"429 http date", 429, func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }, 900 * time.Millisecond, 10 * time.Second},
		{"503 http date", 503, func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }, 900 * time.Millisecond, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.addUser(map[string]any{"userName": "a@example.com"})
			var mu sync.Mutex
			var first, second time.Time
			f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.URL.Path != "/scim/v2/Users/u0001" {
					return false
				}
				mu.Lock()
				defer mu.Unlock()
				if n == 1 {
					first = time.Now()
					w.Header().Set("Retry-After", tt.header())
					scimErr(w, tt.status, "", "wait")
					return true
				}
				second = time.Now()
				return false
			}
			c, _ := newClient(t, testOptions(f.url()))
			if _, err := c.GetUser(context.Background(), "u0001"); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if gap := second.Sub(first); gap < tt.min || gap > tt.max {
				t.Fatalf("retry came %v after the %d, want %v..%v", gap, tt.status, tt.min, tt.max)
			}
		})
	}
}

// An unparsable Retry-After is not guessed at: the request fails with
// ErrRetryAfter (TestRetryAfterBeyondTheMaximumFailsAtOnce covers more).
func TestRetryAfterUnparsableFails(t *testing.T) {
	f := newFake(t)
	f.addUser(map[string]any{"userName": "a@example.com"})
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Retry-After", "later")
		scimErr(w, 429, "", "wait")
		return true
	}
	c, _ := newClient(t, testOptions(f.url()))
	if _, err := c.GetUser(context.Background(), "u0001"); !errors.Is(err, ErrRetryAfter) {
		t.Fatalf("err = %v, want %v", err, ErrRetryAfter)
	}
}

// TestCreate503RetryAfter: a 503 on POST is not repeated blindly (the user
// is looked up first), but the next POST still waits Retry-After.
func TestCreate503RetryAfter(t *testing.T) {
	f := newFake(t)
	var mu sync.Mutex
	var first, second time.Time
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method != http.MethodPost {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if n == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			scimErr(w, 503, "", "maintenance")
			return true
		}
		second = time.Now()
		return false
	}
	c, _ := newClient(t, testOptions(f.url()))
	if _, err := c.CreateUser(context.Background(), sampleUser(1)); err != nil {
		t.Fatal(err)
	}
	if f.count("POST /Users") != 2 || f.count("GET /Users") != 1 || f.userCount() != 1 {
		t.Fatalf("posts %d lookups %d users %d", f.count("POST /Users"), f.count("GET /Users"), f.userCount())
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := second.Sub(first); gap < 900*time.Millisecond {
		t.Fatalf("second POST %v after a 503 with Retry-After: 1", gap)
	}
}

func TestErrorCarriesRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header string
		want   time.Duration
	}{
		{"503 seconds", 503, "7", 7 * time.Second},
		{"429 seconds", 429, "2", 2 * time.Second},
		{"500 has none", 500, "7", 0},
		{"absent", 503, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				scimErr(w, tt.status, "", "no")
				return true
			}
			o := testOptions(f.url())
			o.RetryMax = 0
			c, _ := newClient(t, o)
			var se *Error
			if err := c.DeleteUser(context.Background(), "u1"); !errors.As(err, &se) || se.RetryAfter != tt.want {
				t.Fatalf("err %v, RetryAfter %v, want %v", err, se, tt.want)
			}
		})
	}
}

// TestUnreadableAnswers: a 2xx whose body is cut or not JSON is sent again
// when that is safe (GET, PATCH), and is an unknown outcome for a POST,
// which is looked up instead of repeated.
func TestUnreadableAnswers(t *testing.T) {
	const garbled = `{"id":"u0001","userName":"a@exam`
	// Cut inside the location list, which decodeUser cuts out of the
	// bytes: still found garbled, not read as a user without locations.
	const cutInExtension = `{"id":"u0001","userName":"a@example.com","` + DefaultUserSchema + `":{"locations":[{"value":"loc-1"},`
	// Valid JSON that is not a user is the caller's error, not garbled.
	const notAUser = `{"id":"u0001","active":"yes"}`
	tests := []struct {
		name      string
		method    string
		body      string
		bad       int // how many answers are garbled
		retryMax  int
		wantErr   bool
		wantCalls int
		wantPosts int
	}{
		{"GET garbled once", http.MethodGet, garbled, 1, 3, false, 2, 0},
		{"GET garbled past retries", http.MethodGet, garbled, 10, 2, true, 3, 0},
		{"GET cut in the extension", http.MethodGet, cutInExtension, 1, 3, false, 2, 0},
		{"GET not a user is not sent again", http.MethodGet, notAUser, 1, 3, true, 1, 0},
		{"PATCH garbled once", http.MethodPatch, garbled, 1, 3, false, 2, 0},
		{"PATCH cut in the extension", http.MethodPatch, cutInExtension, 1, 3, false, 2, 0},
		{"POST garbled after storing is looked up", http.MethodPost, garbled, 1, 3, false, 1, 1},
		{"POST cut in the extension is looked up", http.MethodPost, cutInExtension, 1, 3, false, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			if tt.method != http.MethodPost {
				f.addUser(map[string]any{"userName": "user1@example.com", "externalId": "condeco:1"})
			}
			f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.Method != tt.method || n > tt.bad || strings.HasSuffix(r.URL.Path, "ServiceProviderConfig") {
					return false
				}
				if r.Method == http.MethodPost {
					f.handle(httptestDiscard{}, r, "/Users", f.body("POST /Users", n-1))
				}
				w.Header().Set("Content-Type", mediaType)
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(tt.body))
				return true
			}
			o := testOptions(f.url())
			o.RetryMax = tt.retryMax
			c, _ := newClient(t, o)
			ctx := context.Background()
			var err error
			switch tt.method {
			case http.MethodGet:
				_, err = c.GetUser(ctx, "u0001")
			case http.MethodPatch:
				_, err = c.UpdateUser(ctx, "u0001", sampleUser(1), []Field{FieldGivenName})
			case http.MethodPost:
				var u User
				u, err = c.CreateUser(ctx, sampleUser(1))
				if err == nil && (u.ID == "" || u.ExternalID != "condeco:1") {
					t.Fatalf("created %+v", u)
				}
			}
			if tt.wantErr != (err != nil) {
				t.Fatalf("err = %v", err)
			}
			want := "unreadable"
			if tt.body == notAUser {
				want = "decoding user"
			}
			if err != nil && !strings.Contains(err.Error(), want) {
				t.Fatalf("error does not say %q: %v", want, err)
			}
			key := tt.method + " /Users/{id}"
			if tt.method == http.MethodPost {
				key = "POST /Users"
				if f.userCount() != 1 || f.count("GET /Users") != 1 {
					t.Fatalf("users %d, lookups %d", f.userCount(), f.count("GET /Users"))
				}
			}
			if got := f.count(key); got != tt.wantCalls {
				t.Fatalf("%s sent %d times, want %d", key, got, tt.wantCalls)
			}
		})
	}
}
