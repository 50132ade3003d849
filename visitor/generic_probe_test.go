package visitor

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDetectProfile: the profile is the config path that answers; with
// neither, the error names both paths and what each said.
func TestDetectProfile(t *testing.T) {
	tests := []struct {
		name    string
		serves  string // "ServiceProviderConfig", "ServiceProviderConfigs", or ""
		token   string
		want    string
		wantErr []string
		wantIs  error
	}{
		{name: "scim 2.0 server", serves: "ServiceProviderConfig", want: ProfileSCIM2},
		{name: "scim 1.1 server", serves: "ServiceProviderConfigs", want: ProfileGeneric},
		{name: "neither", wantErr: []string{"/ServiceProviderConfig (scim2: ", "/ServiceProviderConfigs (generic-v1: ", "status 404"}, wantIs: ErrNotFound},
		{name: "token refused", serves: "ServiceProviderConfigs", token: "wrong-token-value-987", wantErr: []string{"status 401"}, wantIs: ErrUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var media []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				media = append(media, r.URL.Path+" "+r.Header.Get("Accept"))
				if r.Header.Get("Authorization") != "Bearer "+testToken {
					v1Error(w, 401, "invalid bearer token")
					return
				}
				if tc.serves != "" && r.URL.Path == "/scim/"+tc.serves {
					v1JSON(w, 200, map[string]any{"patch": map[string]any{"supported": false}})
					return
				}
				v1Error(w, 404, "no such endpoint")
			}))
			defer srv.Close()
			o := testOptions(srv.URL + "/scim")
			if tc.token != "" {
				o.Token = tc.token
			}
			got, tried, err := DetectProfile(context.Background(), o, nil)
			if len(tc.wantErr) > 0 {
				if err == nil || !errors.Is(err, tc.wantIs) {
					t.Fatalf("err = %v, want %v", err, tc.wantIs)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				if strings.Contains(err.Error(), o.Token) {
					t.Fatal("token in error")
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("profile %q, %v; tried %+v", got, err, tried)
			}
			if len(tried) != 2 {
				t.Fatalf("tried %+v", tried)
			}
			wantMedia := []string{"/scim/ServiceProviderConfig application/scim+json", "/scim/ServiceProviderConfigs application/json"}
			if strings.Join(media, ",") != strings.Join(wantMedia, ",") {
				t.Fatalf("asked %v", media)
			}
		})
	}
}

// TestGenericProbe: --check reads the config, one listing page and the
// record, and fails as a run would when the record is lost.
func TestGenericProbe(t *testing.T) {
	tests := []struct {
		name     string
		users    int
		book     *memBook
		wantErr  error
		wantLine string
	}{
		{"first sync", 0, newBook(), nil, "none yet"},
		{"record present", 2, newBook(Owned{ID: "g0001", ExternalID: "condeco:1"}), nil, "ok: 1 users recorded as the sync's own, 1 with externalId prefix"},
		{"record lost", 2, newBook(), ErrOwnershipLost, "MISSING"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeV1(t)
			f.patch = true
			for i := 0; i < tc.users; i++ {
				f.seed(string(rune('a'+i))+"@x.io", true)
			}
			g := newGeneric(t, f, tc.book)
			checks, err := g.Probe(context.Background(), "condeco:")
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			var text []string
			for _, c := range checks {
				text = append(text, c.Name+": "+c.Result)
			}
			all := strings.Join(text, "\n")
			if !strings.Contains(all, tc.wantLine) || !strings.Contains(all, "patch yes (updates by PATCH)") {
				t.Fatalf("checks:\n%s", all)
			}
			if tc.users > 0 && tc.wantErr == nil && (!strings.Contains(all, "userName eq filter on a listed user: ok") || !strings.Contains(all, "or filter by id: ok")) {
				t.Fatalf("checks:\n%s", all)
			}
			if !g.Capabilities().Patch {
				t.Fatal("the probe's config read is not kept")
			}
		})
	}
}
