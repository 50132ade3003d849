package visitor

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestUpdateUserPatchBody(t *testing.T) {
	desired := sampleUser(1)
	desired.UserName, desired.Email = "new@example.com", ""
	desired.Mobile = ""
	desired.Active = false
	desired.DefaultLocation = "loc-9"
	desired.Access = []Access{{LocationID: "loc-9", Role: RoleAdmin}}
	ext := DefaultUserSchema
	tests := []struct {
		name   string
		fields []Field
		want   string
	}{
		{"given name only", []Field{FieldGivenName}, `[{"op":"replace","path":"name.givenName","value":"Ana"}]`},
		{"userName brings emails", []Field{FieldUserName},
			`[{"op":"replace","path":"userName","value":"new@example.com"},{"op":"replace","path":"emails","value":[{"value":"new@example.com","type":"work","primary":true}]}]`},
		{"phone and mobile share one op", []Field{FieldPhone, FieldMobile},
			`[{"op":"replace","path":"phoneNumbers","value":[{"value":"+442071234567","type":"work"}]}]`},
		{"active false is sent", []Field{FieldActive}, `[{"op":"replace","path":"active","value":false}]`},
		{"language and family name", []Field{FieldLanguage, FieldFamilyName},
			`[{"op":"replace","path":"preferredLanguage","value":"en-GB"},{"op":"replace","path":"name.familyName","value":"Silva"}]`},
		{"visitor extension", []Field{FieldDefaultLocation, FieldAccess},
			`[{"op":"replace","path":"` + ext + `:defaultLocation","value":"loc-9"},{"op":"replace","path":"` + ext + `:locations","value":[{"value":"loc-9","role":"admin"}]}]`},
		{"duplicates collapse", []Field{FieldGivenName, FieldGivenName}, `[{"op":"replace","path":"name.givenName","value":"Ana"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.addUser(map[string]any{"userName": "user1@example.com"})
			c, _ := newClient(t, testOptions(f.url()))
			if _, err := c.UpdateUser(context.Background(), "u0001", desired, tt.fields); err != nil {
				t.Fatal(err)
			}
			var got struct {
				Schemas    []string
				Operations json.RawMessage
			}
			if err := json.Unmarshal(f.body("PATCH /Users/{id}", 0), &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Schemas) != 1 || got.Schemas[0] != PatchOpSchema {
				t.Fatalf("schemas %v", got.Schemas)
			}
			if string(got.Operations) != tt.want {
				t.Fatalf("ops\n got %s\nwant %s", got.Operations, tt.want)
			}
		})
	}
}

func TestUpdateUserRefusals(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, testOptions(f.url()))
	u := sampleUser(1)
	if _, err := c.UpdateUser(context.Background(), "u1", u, []Field{"title"}); err == nil {
		t.Fatal("unknown field accepted")
	}
	u.Email = "other@example.com"
	if _, err := c.UpdateUser(context.Background(), "u1", u, []Field{FieldUserName}); err == nil {
		t.Fatal("userName differing from email accepted")
	}
	if f.total() != 0 {
		t.Fatalf("%d requests sent for refused updates", f.total())
	}
}

func TestUpdateUserNoContent(t *testing.T) {
	f := newFake(t)
	f.addUser(map[string]any{"userName": "user1@example.com", "active": true})
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method == http.MethodPatch {
			w.WriteHeader(http.StatusNoContent)
			return true
		}
		return false
	}
	c, _ := newClient(t, testOptions(f.url()))
	u, err := c.UpdateUser(context.Background(), "u0001", sampleUser(1), []Field{FieldActive})
	if err != nil || u.ID != "u0001" || f.count("GET /Users/{id}") != 1 {
		t.Fatalf("u %+v err %v gets %d", u, err, f.count("GET /Users/{id}"))
	}
}

func TestDeleteUser(t *testing.T) {
	f := newFake(t)
	f.addUser(map[string]any{"userName": "a@example.com"})
	c, _ := newClient(t, testOptions(f.url()))
	ctx := context.Background()
	if err := c.DeleteUser(ctx, "u0001"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser(ctx, "u0001"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := c.GetUser(ctx, "a/../b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("escaped id: %v", err)
	}
}

func TestTooLargeGuard(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, testOptions(f.url()))
	u := sampleUser(1)
	u.GivenName = strings.Repeat("a", MaxBodyBytes)
	_, err := c.CreateUser(context.Background(), u)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("err = %v", err)
	}
	if f.total() != 0 {
		t.Fatalf("%d requests sent", f.total())
	}
	// Just under the limit is sent.
	u.GivenName = strings.Repeat("a", MaxBodyBytes-1024)
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		scimErr(w, http.StatusRequestEntityTooLarge, "", "too big")
		return true
	}
	_, err = c.CreateUser(context.Background(), u)
	var se *Error
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &se) || se.Status != 413 || f.count("POST /Users") != 1 {
		t.Fatalf("server 413: %v, posts %d", err, f.count("POST /Users"))
	}
}

func TestErrorDecoding(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		want     Error
		sentinel error
	}{
		{"scim string status", 400, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"mutability","detail":"externalId is immutable"}`,
			Error{Status: 400, ScimType: "mutability", Detail: "externalId is immutable"}, ErrBadRequest},
		{"scim numeric status", 409, `{"status":409,"scimType":"uniqueness","detail":"taken"}`, Error{Status: 409, ScimType: "uniqueness", Detail: "taken"}, ErrConflict},
		{"not found", 404, `{"status":"404","detail":"Resource u1 not found"}`, Error{Status: 404, ScimType: "", Detail: "Resource u1 not found"}, ErrNotFound},
		{"forbidden", 403, `{"status":"403","detail":"not created through SCIM"}`, Error{Status: 403, ScimType: "", Detail: "not created through SCIM"}, ErrForbidden},
		{"html", 502, `<html>Bad Gateway</html>`, Error{Status: 502, ScimType: "", Detail: "<html>Bad Gateway</html>"}, ErrServer},
		{"empty", 429, ``, Error{Status: 429, ScimType: "", Detail: ""}, ErrRateLimited},
		{"echoed token", 401, `{"status":"401","detail":"token ` + testToken + ` expired"}`, Error{Status: 401, ScimType: "", Detail: "token [redacted] expired"}, ErrUnauthorized},
		{"long body", 500, strings.Repeat("x", 500), Error{Status: 500, ScimType: "", Detail: strings.Repeat("x", maxDetail) + "…"}, ErrServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
				return true
			}
			o := testOptions(f.url())
			o.RetryMax = 0
			c, _ := newClient(t, o)
			err := c.DeleteUser(context.Background(), "u1")
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("err %v is not *Error", err)
			}
			if *se != tt.want {
				t.Fatalf("got %+v want %+v", *se, tt.want)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("errors.Is(%v, %v) false", err, tt.sentinel)
			}
			if errors.Is(err, ErrNotFound) != (tt.status == 404) {
				t.Fatal("ErrNotFound matches the wrong status")
			}
			if strings.Contains(err.Error(), testToken) {
				t.Fatal("error text holds the token")
			}
		})
	}
}

func TestIDIsEscaped(t *testing.T) {
	f := newFake(t)
	var raw string
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		raw = r.URL.EscapedPath()
		return false
	}
	c, _ := newClient(t, testOptions(f.url()))
	_, _ = c.GetUser(context.Background(), "a/../b c")
	if raw != "/scim/v2/Users/a%2F..%2Fb%20c" {
		t.Fatalf("path %q", raw)
	}
}
