package visitor

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCreateUser(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, testOptions(f.url()))
	in := sampleUser(1)
	in.DefaultLocation = "loc-1"
	in.Access = []Access{{LocationID: "loc-1", Role: RoleAdmin}, {LocationID: "loc-2", Role: RoleUser}}
	in.SendInvitation = true
	got, err := c.CreateUser(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == "" || got.UserName != in.UserName || got.Phone != in.Phone || got.Mobile != in.Mobile ||
		len(got.Access) != 2 || got.Access[0].Role != RoleAdmin || got.DefaultLocation != "loc-1" || !got.Active {
		t.Fatalf("created %+v", got)
	}
	var body map[string]any
	_ = json.Unmarshal(f.body("POST /Users", 0), &body)
	ext, _ := body[DefaultUserSchema].(map[string]any)
	if ext["sendInvitation"] != true {
		t.Fatalf("sendInvitation not sent: %v", body)
	}
	phones, _ := body["phoneNumbers"].([]any)
	if len(phones) != 2 || phones[0].(map[string]any)["type"] != "work" || phones[1].(map[string]any)["type"] != "mobile" {
		t.Fatalf("phones %v", phones)
	}
}

func TestCreateUserIdentityRule(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, testOptions(f.url()))
	u := sampleUser(1)
	u.Email = "someone.else@example.com"
	_, err := c.CreateUser(context.Background(), u)
	if err == nil || !strings.Contains(err.Error(), "condeco:1") {
		t.Fatalf("err = %v, want one naming the record", err)
	}
	if f.total() != 0 {
		t.Fatal("request sent for an invalid user")
	}
	u = sampleUser(2)
	u.Email = ""
	got, err := c.CreateUser(context.Background(), u)
	if err != nil || got.Email != u.UserName {
		t.Fatalf("email not filled from userName: %+v %v", got, err)
	}
}

// TestCreateUnknownOutcome covers creates whose answer is lost: the client
// must look the user up before any second POST, so no duplicate appears.
func TestCreateUnknownOutcome(t *testing.T) {
	tests := []struct {
		name      string
		fault     func(f *fakeSCIM) func(http.ResponseWriter, *http.Request, int) bool
		wantPosts int
		wantErr   bool
	}{
		{
			name: "timeout after the server stored it",
			fault: func(f *fakeSCIM) func(http.ResponseWriter, *http.Request, int) bool {
				return func(w http.ResponseWriter, r *http.Request, n int) bool {
					if r.Method == http.MethodPost && n == 1 {
						f.handle(httptestDiscard{}, r, "/Users", f.body("POST /Users", 0))
						<-r.Context().Done()
						return true
					}
					return false
				}
			},
			wantPosts: 1,
		},
		{
			name: "500 after the server stored it",
			fault: func(f *fakeSCIM) func(http.ResponseWriter, *http.Request, int) bool {
				return func(w http.ResponseWriter, r *http.Request, n int) bool {
					if r.Method == http.MethodPost && n == 1 {
						f.handle(httptestDiscard{}, r, "/Users", f.body("POST /Users", 0))
						scimErr(w, 500, "", "oops")
						return true
					}
					return false
				}
			},
			wantPosts: 1,
		},
		{
			name: "connection dropped before storing",
			fault: func(f *fakeSCIM) func(http.ResponseWriter, *http.Request, int) bool {
				return func(w http.ResponseWriter, r *http.Request, n int) bool {
					if r.Method == http.MethodPost && n == 1 {
						dropConn(w)
						return true
					}
					return false
				}
			},
			wantPosts: 2,
		},
		{
			name: "stored, dropped, and the lookup lags: 409 resolved by lookup",
			fault: func(f *fakeSCIM) func(http.ResponseWriter, *http.Request, int) bool {
				return func(w http.ResponseWriter, r *http.Request, n int) bool {
					switch {
					case r.Method == http.MethodPost && n == 1:
						dropConn(w)
						return true
					case r.Method == http.MethodGet && r.URL.Path == "/scim/v2/Users" && n == 1:
						// Lookup before the store is visible.
						writeJSON(w, 200, map[string]any{"totalResults": 0, "Resources": []any{}})
						f.handle(httptestDiscard{}, r, "/Users", f.body("POST /Users", 0))
						return true
					}
					return false
				}
			},
			wantPosts: 2,
		},
		{
			name: "always failing gives up after RetryMax",
			fault: func(f *fakeSCIM) func(http.ResponseWriter, *http.Request, int) bool {
				return func(w http.ResponseWriter, r *http.Request, n int) bool {
					if r.Method == http.MethodPost {
						scimErr(w, 503, "", "down")
						return true
					}
					return false
				}
			},
			wantPosts: 3,
			wantErr:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.fault = tt.fault(f)
			o := testOptions(f.url())
			o.RetryMax = 2
			o.Timeout = 300 * time.Millisecond
			c, _ := newClient(t, o)
			got, err := c.CreateUser(context.Background(), sampleUser(7))
			if tt.wantErr != (err != nil) {
				t.Fatalf("err = %v", err)
			}
			if posts := f.count("POST /Users"); posts != tt.wantPosts {
				t.Fatalf("%d POSTs, want %d", posts, tt.wantPosts)
			}
			if tt.wantErr {
				if f.userCount() != 0 {
					t.Fatal("user stored")
				}
				return
			}
			if f.userCount() != 1 {
				t.Fatalf("%d users stored, want exactly 1", f.userCount())
			}
			if got.ID == "" || got.ExternalID != "condeco:7" {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

// httptestDiscard lets a fault store a user through the normal handler
// while answering the client differently.
type httptestDiscard struct{}

func (httptestDiscard) Header() http.Header         { return http.Header{} }
func (httptestDiscard) Write(b []byte) (int, error) { return len(b), nil }
func (httptestDiscard) WriteHeader(int)             {}

func TestCreateRetries429(t *testing.T) {
	f := newFake(t)
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method == http.MethodPost && n == 1 {
			w.Header().Set("Retry-After", "0")
			scimErr(w, 429, "", "slow down")
			return true
		}
		return false
	}
	c, _ := newClient(t, testOptions(f.url()))
	if _, err := c.CreateUser(context.Background(), sampleUser(1)); err != nil {
		t.Fatal(err)
	}
	// A 429 was refused before processing, so it is repeated without a
	// lookup.
	if f.count("POST /Users") != 2 || f.count("GET /Users") != 0 || f.userCount() != 1 {
		t.Fatalf("posts %d lookups %d users %d", f.count("POST /Users"), f.count("GET /Users"), f.userCount())
	}
}

func TestCreateConflictIsNotRetried(t *testing.T) {
	f := newFake(t)
	f.addUser(map[string]any{"userName": "user1@example.com", "externalId": "other:1"})
	c, _ := newClient(t, testOptions(f.url()))
	_, err := c.CreateUser(context.Background(), sampleUser(1))
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	var se *Error
	if !errors.As(err, &se) || se.ScimType != "uniqueness" {
		t.Fatalf("scimType: %v", err)
	}
	if f.count("POST /Users") != 1 || f.count("GET /Users") != 0 {
		t.Fatal("conflict was retried or looked up")
	}
}

func TestLocations(t *testing.T) {
	f := newFake(t)
	f.locations = []map[string]any{{"id": "loc-hq", "externalId": "condeco-location:1", "name": "HQ", "companyId": "CO-1", "default": true}}
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method == http.MethodPost && n == 1 {
			f.handle(httptestDiscard{}, r, "/Locations", f.body("POST /Locations", 0))
			dropConn(w)
			return true
		}
		return false
	}
	c, _ := newClient(t, testOptions(f.url()))
	ctx := context.Background()
	ls, err := c.ListLocations(ctx)
	if err != nil || len(ls) != 1 || !ls[0].Default || ls[0].CompanyID != "CO-1" {
		t.Fatalf("ListLocations: %+v %v", ls, err)
	}
	l, err := c.CreateLocation(ctx, Location{ExternalID: "condeco-location:2", Name: "Annex"})
	if err != nil || l.ID == "" || l.Name != "Annex" {
		t.Fatalf("CreateLocation: %+v %v", l, err)
	}
	if f.count("POST /Locations") != 1 || len(f.locations) != 2 {
		t.Fatalf("posts %d, locations %d", f.count("POST /Locations"), len(f.locations))
	}
	var body map[string]any
	_ = json.Unmarshal(f.body("POST /Locations", 0), &body)
	if s, _ := body["schemas"].([]any); len(s) != 1 || s[0] != DefaultLocationSchema {
		t.Fatalf("location schemas %v", body["schemas"])
	}
	if _, err := c.CreateLocation(ctx, Location{ExternalID: "x"}); err == nil {
		t.Fatal("nameless location accepted")
	}
}

// RFC 7644 §3.3: a 201 SHOULD carry the resource. One without a body is a
// create that happened: the user (and the location) is found by externalId.
func TestCreatedWithoutBody(t *testing.T) {
	f := newFake(t)
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method != http.MethodPost {
			return false
		}
		path := strings.TrimPrefix(r.URL.Path, "/scim/v2")
		body := f.body("POST "+path, n-1)
		f.handle(httptestDiscard{}, r, path, body)
		w.WriteHeader(http.StatusCreated)
		return true
	}
	c, _ := newClient(t, testOptions(f.url()))
	u, err := c.CreateUser(context.Background(), sampleUser(1))
	if err != nil || u.ID == "" || u.ExternalID != sampleUser(1).ExternalID {
		t.Fatalf("CreateUser = %+v, %v", u, err)
	}
	l, err := c.CreateLocation(context.Background(), Location{ExternalID: "condeco-location:9", Name: "Annex"})
	if err != nil || l.ID == "" || l.Name != "Annex" {
		t.Fatalf("CreateLocation = %+v, %v", l, err)
	}
	if f.count("POST /Users") != 1 || f.count("POST /Locations") != 1 {
		t.Errorf("posts: users %d, locations %d; want one each", f.count("POST /Users"), f.count("POST /Locations"))
	}
}
