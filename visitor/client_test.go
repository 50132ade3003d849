package visitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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

func TestPaging(t *testing.T) {
	tests := []struct {
		name       string
		users      int
		pageSize   int
		maxResults int
		pageCap    int
		wantCount  string
		wantPages  int
	}{
		{"default size, config 404", 450, 0, 0, 0, "200", 3},
		{"lowered by maxResults", 450, 0, 50, 0, "50", 9},
		{"maxResults above ours keeps ours", 90, 40, 200, 0, "40", 3},
		{"server returns short pages", 100, 0, 0, 30, "200", 4},
		{"exact multiple", 400, 0, 200, 0, "200", 2},
		{"empty", 0, 0, 200, 0, "200", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.maxResults, f.pageCap = tt.maxResults, tt.pageCap
			var counts []string
			f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.URL.Path == "/scim/v2/Users" {
					counts = append(counts, r.URL.Query().Get("count"))
				}
				return false
			}
			for i := 0; i < tt.users; i++ {
				f.addUser(map[string]any{"userName": fmt.Sprintf("u%d@example.com", i), "active": true})
			}
			o := testOptions(f.url())
			o.PageSize = tt.pageSize
			c, _ := newClient(t, o)
			us, err := c.ListUsers(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(us) != tt.users {
				t.Fatalf("got %d users, want %d", len(us), tt.users)
			}
			seen := map[string]bool{}
			for _, u := range us {
				if seen[u.ID] {
					t.Fatalf("user %s listed twice", u.ID)
				}
				seen[u.ID] = true
			}
			if got := f.count("GET /Users"); got != tt.wantPages {
				t.Errorf("%d pages, want %d", got, tt.wantPages)
			}
			for _, c := range counts {
				if c != tt.wantCount {
					t.Fatalf("count=%s, want %s", c, tt.wantCount)
				}
			}
			// The config is read once, lazily.
			if _, err := c.ListUsers(context.Background(), ""); err != nil {
				t.Fatal(err)
			}
			if got := f.count("GET /ServiceProviderConfig"); got != 1 {
				t.Errorf("ServiceProviderConfig read %d times, want 1", got)
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
