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
)

func TestNewURLRules(t *testing.T) {
	tests := []struct {
		name, base, tokenURL string
		ok                   bool
	}{
		{"https", "https://visitor.example.com/scim/v2", "", true},
		{"http 127.0.0.1", "http://127.0.0.1:8080/scim/v2", "", true},
		{"http 127.9.9.9", "http://127.9.9.9/scim", "", true},
		{"http ::1", "http://[::1]:9000/scim", "", true},
		{"http localhost", "http://localhost:1/scim", "", true},
		{"http remote", "http://visitor.example.com/scim/v2", "", false},
		{"http lookalike", "http://127.0.0.1.example.com/scim", "", false},
		{"http private ip", "http://10.0.0.5/scim", "", false},
		{"http LOCALHOST", "http://LOCALHOST:8080/scim", "", true},
		{"http ipv4-mapped loopback", "http://[::ffff:127.0.0.1]:8080/scim", "", true},
		{"http localhost.evil.com", "http://localhost.evil.com/scim", "", false},
		{"http evil-localhost", "http://evillocalhost/scim", "", false},
		{"http 127.0.0.1.nip.io", "http://127.0.0.1.nip.io/scim", "", false},
		{"http localhost. (fqdn)", "http://localhost./scim", "", false},
		{"http userinfo trick", "http://127.0.0.1@evil.example.com/scim", "", false},
		{"http 0.0.0.0", "http://0.0.0.0:8080/scim", "", false},
		{"http short form 127.1", "http://127.1/scim", "", false},
		{"http decimal 2130706433", "http://2130706433/scim", "", false},
		{"http ::", "http://[::]:8080/scim", "", false},
		{"token url http loopback", "https://visitor.example.com", "http://127.0.0.1:9/token", true},
		{"token url http localhost.evil.com", "https://visitor.example.com", "http://localhost.evil.com/token", false},
		{"ftp", "ftp://127.0.0.1/scim", "", false},
		{"no host", "https:///scim", "", false},
		{"token url http remote", "https://visitor.example.com", "http://auth.example.com/token", false},
		{"token url https", "https://visitor.example.com", "https://auth.example.com/token", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{BaseURL: tt.base, Token: testToken}
			if tt.tokenURL != "" {
				o = Options{BaseURL: tt.base, TokenURL: tt.tokenURL, ClientID: "id", ClientSecret: "client-secret-xyz"}
			}
			c, err := New(o, nil)
			if tt.ok != (err == nil) {
				t.Fatalf("New ok=%v, err=%v", tt.ok, err)
			}
			if err != nil {
				if c != nil {
					t.Fatal("client returned with error")
				}
				if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "client-secret-xyz") {
					t.Fatalf("error leaks a secret: %v", err)
				}
			}
		})
	}
}

func TestNewOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"no auth", Options{BaseURL: "https://x.example"}},
		{"both auths", Options{BaseURL: "https://x.example", Token: "t", TokenURL: "https://x.example/t", ClientID: "a", ClientSecret: "b"}},
		{"token url without secret", Options{BaseURL: "https://x.example", TokenURL: "https://x.example/t", ClientID: "a"}},
		{"lifetime too short", Options{BaseURL: "https://x.example", TokenURL: "https://x.example/t", ClientID: "a", ClientSecret: "b", TokenLifetime: 59e9}},
		{"lifetime too long", Options{BaseURL: "https://x.example", TokenURL: "https://x.example/t", ClientID: "a", ClientSecret: "b", TokenLifetime: MaxTokenLifetime + 1}},
		{"negative retries", Options{BaseURL: "https://x.example", Token: "t", RetryMax: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.o, nil); err == nil {
				t.Fatal("New accepted bad options")
			}
		})
	}
}

func TestInsecureSkipVerifyWarns(t *testing.T) {
	for i := 0; i < 2; i++ {
		log, logs := observed()
		o := Options{BaseURL: "https://x.example", Token: testToken, InsecureSkipVerify: true}
		if _, err := New(o, log); err != nil {
			t.Fatal(err)
		}
		if n := logs.FilterMessage("tls certificate verification is off").Len(); n != 1 {
			t.Fatalf("New #%d: %d warnings, want 1", i, n)
		}
	}
}

// TestTLSVerification proves verification is on by default: a self-signed
// test server is refused unless InsecureSkipVerify is set.
func TestTLSVerification(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"id": "u1", "userName": "a@example.com"})
	}))
	defer srv.Close()
	for _, insecure := range []bool{false, true} {
		t.Run(fmt.Sprint("insecure=", insecure), func(t *testing.T) {
			o := testOptions(srv.URL)
			o.RetryMax = 0
			o.InsecureSkipVerify = insecure
			c, _ := newClient(t, o)
			_, err := c.GetUser(context.Background(), "u1")
			if insecure != (err == nil) {
				t.Fatalf("insecure=%v err=%v", insecure, err)
			}
		})
	}
}

// repeat is n copies of count, the count= of n pages.
func repeat(count string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = count
	}
	return out
}

// TestPaging: a listing asks for the configured size without reading
// ServiceProviderConfig first, so a normal listing of N users costs exactly
// ceil(N/size) requests. A server that caps count is followed and its size
// remembered; only one that refuses a large count makes the client read the
// config, once per Client, and ask that page again.
func TestPaging(t *testing.T) {
	tests := []struct {
		name       string
		users      int
		pageSize   int
		maxResults int // what ServiceProviderConfig says; 0: it answers 404
		pageCap    int
		refuseOver int
		wantCounts []string // count= of every GET /Users, first listing
		wantAgain  []string // the same, second listing on the same Client
		wantSPC    int
		wantErr    bool
		wantLower  string // page_size logged once as lowered, "" none
	}{
		{"default 200", 450, 0, 200, 0, 0, repeat("200", 3), repeat("200", 3), 0, false, ""},
		{"default 200, config 404", 450, 0, 0, 0, 0, repeat("200", 3), repeat("200", 3), 0, false, ""},
		{"configured size kept", 90, 40, 200, 0, 0, repeat("40", 3), repeat("40", 3), 0, false, ""},
		{"exact multiple", 400, 0, 200, 0, 0, repeat("200", 2), repeat("200", 2), 0, false, ""},
		{"empty", 0, 0, 200, 0, 0, repeat("200", 1), repeat("200", 1), 0, false, ""},
		{"server caps: size learned, config not read", 100, 0, 30, 30, 0,
			append([]string{"200"}, repeat("30", 3)...), repeat("30", 4), 0, false, "30"},
		{"server caps below a configured size", 25, 10, 0, 4, 0,
			append([]string{"10"}, repeat("4", 6)...), repeat("4", 7), 0, false, "4"},
		{"server refuses big counts: config read once, page retried", 450, 0, 50, 0, 50,
			append([]string{"200"}, repeat("50", 9)...), repeat("50", 9), 1, false, "50"},
		{"config 404 and refusing server: error", 450, 0, 0, 0, 50,
			[]string{"200"}, []string{"200"}, 1, true, ""},
		{"config maximum not below the refused count: error", 450, 0, 200, 0, 50,
			[]string{"200"}, []string{"200"}, 1, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.maxResults, f.pageCap, f.refuseOver = tt.maxResults, tt.pageCap, tt.refuseOver
			var mu sync.Mutex
			var counts []string
			f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.URL.Path == "/scim/v2/Users" {
					mu.Lock()
					counts = append(counts, r.URL.Query().Get("count"))
					mu.Unlock()
				}
				return false
			}
			for i := 0; i < tt.users; i++ {
				f.addUser(map[string]any{"userName": fmt.Sprintf("u%d@example.com", i), "active": true})
			}
			o := testOptions(f.url())
			o.PageSize = tt.pageSize
			c, logs := newClient(t, o)
			for round, want := range [][]string{tt.wantCounts, tt.wantAgain} {
				mu.Lock()
				counts = nil
				mu.Unlock()
				before := f.total()
				us, err := c.ListUsers(context.Background(), "")
				if tt.wantErr {
					if err == nil || !errors.Is(err, ErrBadRequest) || !strings.HasPrefix(err.Error(), "listing users: ") {
						t.Fatalf("listing %d: err = %v, want the refusal naming the listing", round, err)
					}
				} else {
					if err != nil {
						t.Fatalf("listing %d: %v", round, err)
					}
					if len(us) != tt.users {
						t.Fatalf("listing %d: got %d users, want %d", round, len(us), tt.users)
					}
					seen := map[string]bool{}
					for _, u := range us {
						if seen[u.ID] {
							t.Fatalf("listing %d: user %s listed twice", round, u.ID)
						}
						seen[u.ID] = true
					}
				}
				mu.Lock()
				got := counts
				mu.Unlock()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("listing %d asked count=%v, want %v", round, got, want)
				}
				// Nothing but the pages (and the one config read) was sent.
				spc := 0
				if round == 0 {
					spc = tt.wantSPC
				}
				if sent := f.total() - before; sent != len(want)+spc {
					t.Errorf("listing %d sent %d requests, want %d", round, sent, len(want)+spc)
				}
			}
			if got := f.count("GET /ServiceProviderConfig"); got != tt.wantSPC {
				t.Errorf("ServiceProviderConfig read %d times, want %d", got, tt.wantSPC)
			}
			lowered := logs.FilterMessage("page size lowered to server maximum").All()
			switch {
			case tt.wantLower == "" && len(lowered) != 0:
				t.Errorf("page size lowered: %v", lowered[0].ContextMap())
			case tt.wantLower != "" && (len(lowered) != 1 || fmt.Sprint(lowered[0].ContextMap()["page_size"]) != tt.wantLower):
				t.Errorf("%d 'lowered' logs, want one with page_size %s", len(lowered), tt.wantLower)
			}
		})
	}
}

// TestPagingConcurrent: listings running at once on one Client against a
// server that refuses large counts read the config once between them, log
// the lowered size once, and each gets every user.
func TestPagingConcurrent(t *testing.T) {
	for _, tt := range []struct {
		name                string
		pageCap, refuseOver int
		wantSPC             int
	}{
		{"server caps", 7, 0, 0},
		{"server refuses", 0, 7, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.maxResults, f.pageCap, f.refuseOver = 7, tt.pageCap, tt.refuseOver
			for i := 0; i < 30; i++ {
				f.addUser(map[string]any{"userName": fmt.Sprintf("u%d@example.com", i)})
			}
			c, logs := newClient(t, testOptions(f.url()))
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					if us, err := c.ListUsers(context.Background(), ""); err != nil || len(us) != 30 {
						t.Errorf("listed %d users, want 30: %v", len(us), err)
					}
				})
			}
			wg.Wait()
			if n := f.count("GET /ServiceProviderConfig"); n != tt.wantSPC {
				t.Errorf("ServiceProviderConfig read %d times, want %d", n, tt.wantSPC)
			}
			if n := logs.FilterMessage("page size lowered to server maximum").Len(); n != 1 {
				t.Errorf("lowered size logged %d times, want once", n)
			}
			if n := f.count("GET /Users"); n > 8*(1+5) {
				t.Errorf("%d page requests for 8 listings of 30 users in pages of 7", n)
			}
		})
	}
}

func TestDecodeUserTolerant(t *testing.T) {
	f := newFake(t)
	raw := `{
	  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "` + DefaultUserSchema + `", "urn:x:unknown"],
	  "id": "5f0c", "externalId": "condeco:1042", "userName": "ana.silva@example.com",
	  "name": {"givenName": "Ana", "familyName": "Silva", "formatted": "Ana Silva"},
	  "emails": [{"value": "other@example.com", "type": "home"}, {"value": "ana.silva@example.com", "type": "work", "primary": true}],
	  "phoneNumbers": [{"value": "+15550000", "type": "fax"}, {"value": "+447700900123", "type": "mobile"}, {"value": "+442071234567", "type": "work"}],
	  "preferredLanguage": "en-GB", "active": false, "title": "x", "x-vendor": {"nested": [1, 2]},
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops"},
	  "` + DefaultUserSchema + `": {"defaultLocation": "loc-0001", "locations": [{"value": "loc-0001", "role": "admin"}, {"value": "loc-0002", "role": "reception"}], "extra": true},
	  "meta": {"resourceType": "User", "lastModified": "2026-01-02T03:04:05Z"}
	}`
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Content-Type", mediaType)
		_, _ = w.Write([]byte(raw))
		return true
	}
	c, _ := newClient(t, testOptions(f.url()))
	u, err := c.GetUser(context.Background(), "5f0c")
	if err != nil {
		t.Fatal(err)
	}
	want := User{ID: "5f0c", ExternalID: "condeco:1042", UserName: "ana.silva@example.com", Email: "ana.silva@example.com",
		GivenName: "Ana", FamilyName: "Silva", Phone: "+442071234567", Mobile: "+447700900123", Language: "en-GB",
		Active: false, DefaultLocation: "loc-0001",
		Access: []Access{{LocationID: "loc-0001", Role: RoleAdmin}, {LocationID: "loc-0002", Role: "reception"}}}
	want.LastModified = u.LastModified
	if fmt.Sprint(u) != fmt.Sprint(want) {
		t.Fatalf("got  %+v\nwant %+v", u, want)
	}
	if u.LastModified.IsZero() || u.LastModified.Year() != 2026 {
		t.Errorf("lastModified %v", u.LastModified)
	}
}

func TestFindUser(t *testing.T) {
	f := newFake(t)
	f.addUser(map[string]any{"userName": `q"uote@example.com`, "externalId": `condeco:"1"`})
	f.addUser(map[string]any{"userName": "b@example.com", "externalId": "condeco:2"})
	f.addUser(map[string]any{"userName": "c@example.com", "externalId": "condeco:2"})
	c, _ := newClient(t, testOptions(f.url()))
	ctx := context.Background()
	u, err := c.FindUser(ctx, "externalId", `condeco:"1"`)
	if err != nil || u == nil || u.UserName != `q"uote@example.com` {
		t.Fatalf("FindUser quote: %+v, %v", u, err)
	}
	u, err = c.FindUser(ctx, "userName", "nobody@example.com")
	if err != nil || u != nil {
		t.Fatalf("FindUser none: %+v, %v", u, err)
	}
	if _, err := c.FindUser(ctx, "externalId", "condeco:2"); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("FindUser two matches: %v", err)
	}
	if _, err := c.FindUser(ctx, "bad attr", "x"); err == nil {
		t.Fatal("FindUser accepted a bad attribute")
	}
	ms, err := c.ListManagedUsers(ctx, "condeco:")
	if err != nil || len(ms) != 3 {
		t.Fatalf("ListManagedUsers: %d, %v", len(ms), err)
	}
	if _, err := c.ListManagedUsers(ctx, ""); err == nil {
		t.Fatal("empty prefix accepted")
	}
}

func TestPagingServerIgnoresStartIndex(t *testing.T) {
	f := newFake(t)
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Path == "/scim/v2/Users" {
			writeJSON(w, 200, map[string]any{"totalResults": 10, "startIndex": 1,
				"Resources": []map[string]any{{"id": "x", "userName": "x@example.com"}}})
			return true
		}
		return false
	}
	c, _ := newClient(t, testOptions(f.url()))
	if _, err := c.ListUsers(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "startIndex") {
		t.Fatalf("err = %v", err)
	}
	if n := f.count("GET /Users"); n != 2 {
		t.Fatalf("%d pages fetched, want 2", n)
	}
}

// TestAnswerLengths: an answer is read whole whether or not it says its
// length (a big user with one, a chunked one without), and one that ends
// before its Content-Length is unreadable and asked again.
func TestAnswerLengths(t *testing.T) {
	big := rawUser(1000)
	tests := []struct {
		name      string
		write     func(w http.ResponseWriter)
		wantCalls int
	}{
		{"content length", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
			_, _ = w.Write(big)
		}, 1},
		{"chunked", func(w http.ResponseWriter) {
			_, _ = w.Write(big[:100])
			w.(http.Flusher).Flush()
			_, _ = w.Write(big[100:])
		}, 1},
		{"shorter than its content length", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
			_, _ = w.Write(big[:len(big)/2])
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
				w.Header().Set("Content-Type", mediaType)
				if n == 1 {
					tt.write(w)
				} else {
					_, _ = w.Write(big)
				}
				return true
			}
			c, _ := newClient(t, testOptions(f.url()))
			u, err := c.GetUser(context.Background(), "5f0c9a")
			if err != nil || u.ID != "5f0c9a" || len(u.Access) != 1000 {
				t.Fatalf("got %s with %d locations: %v", u.ID, len(u.Access), err)
			}
			if n := f.count("GET /Users/{id}"); n != tt.wantCalls {
				t.Fatalf("%d requests, want %d", n, tt.wantCalls)
			}
		})
	}
}
