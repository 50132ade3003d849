package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenericProfileConfig: what visitor_api generic-v1 accepts and what
// it refuses, each refusal naming the key.
func TestGenericProfileConfig(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(tokenFile, []byte("tok-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	generic := minimal + "visitor_api: generic-v1\n"
	cases := []struct {
		name, doc string
		wantKey   string // "": valid
		check     func(t *testing.T, c Config)
	}{
		{name: "default is scim2", doc: minimal, check: func(t *testing.T, c Config) {
			if c.VisitorAPI != "scim2" {
				t.Errorf("visitor_api = %q", c.VisitorAPI)
			}
		}},
		{name: "generic-v1 alone", doc: generic},
		{name: "unknown profile", doc: minimal + "visitor_api: scim1\n", wantKey: "visitor_api"},
		{name: "token url refused", doc: generic + "scim_token_url: https://a/token\nscim_client_id: c\nscim_client_secret: s\n", wantKey: "scim_token_url"},
		{name: "location admins refused", doc: generic + "location_admins: true\n", wantKey: "location_admins"},
		{name: "integrations under scim2 refused", doc: minimal + "visitor_integrations:\n  - {location: Paris, url: https://a/scim/v1, token: t}\n", wantKey: "visitor_integrations"},
		{name: "integrations need the first location's name", doc: generic + "visitor_integrations:\n  - {location: Paris, url: https://a/scim/v1, token: t}\n", wantKey: "visitor_location_name"},
		{name: "integration without token", doc: generic + "visitor_location_name: London\nvisitor_integrations:\n  - {location: Paris, url: https://a/scim/v1}\n", wantKey: "visitor_integrations[0]"},
		{name: "integration location twice", doc: generic + "visitor_location_name: London\nvisitor_integrations:\n  - {location: london, url: https://a/scim/v1, token: t}\n", wantKey: "visitor_integrations[0]"},
		{name: "integration over plain http", doc: generic + "visitor_location_name: London\nvisitor_integrations:\n  - {location: Paris, url: http://visitor.example.com/scim/v1, token: t}\n", wantKey: "visitor_integrations[0].url"},
		{name: "integration token and token_file", doc: generic + "visitor_location_name: London\nvisitor_integrations:\n  - {location: Paris, url: https://a/scim/v1, token: t, token_file: " + tokenFile + "}\n", wantKey: "visitor_integrations[0]"},
		{name: "integration token from a file", doc: generic + "visitor_location_name: London\nvisitor_integrations:\n  - {location: Paris, url: https://a/scim/v1, token_file: " + tokenFile + "}\n",
			check: func(t *testing.T, c Config) {
				if got := c.VisitorIntegrations[0].Token.Value(); got != "tok-from-file" {
					t.Errorf("token %q", got)
				}
				j, _ := json.Marshal(c)
				for name, d := range map[string]string{"json": string(j), "%+v": fmt.Sprintf("%+v", c)} {
					if strings.Contains(d, "tok-from-file") {
						t.Errorf("%s dump shows the integration's token", name)
					}
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.doc), env(nil))
			if tc.wantKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantKey) {
				t.Fatalf("want an error naming %q, got %v", tc.wantKey, err)
			}
		})
	}
}
