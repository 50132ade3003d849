package config

import (
	"net/url"
	"strconv"
	"strings"

	"condeco-visitor-sync/visitor"
)

// validateGeneric checks what generic-v1 changes: it authenticates with
// the integration's bearer token only, carries no roles (so no location
// admins), and alone may list further integrations.
func (c Config) validateGeneric(bad func(key, format string, args ...any) error) error {
	if c.VisitorAPI != visitor.ProfileGeneric {
		if len(c.VisitorIntegrations) > 0 {
			return bad("visitor_integrations", "only with visitor_api %s", visitor.ProfileGeneric)
		}
		if c.VisitorLocationName != "" {
			return bad("visitor_location_name", "only with visitor_api %s (scim2 reads the default location from Visitor)", visitor.ProfileGeneric)
		}
		return nil
	}
	if c.SCIMTokenURL != "" {
		return bad("scim_token_url", "not with visitor_api %s: the Generic SCIM integration gives a bearer token (scim_token)", visitor.ProfileGeneric)
	}
	if c.LocationAdmins {
		return bad("location_admins", "not with visitor_api %s: it carries no roles; admins are listed in the report's by-hand list", visitor.ProfileGeneric)
	}
	seen := map[string]bool{strings.ToLower(c.VisitorLocationName): c.VisitorLocationName != ""}
	for i, in := range c.VisitorIntegrations {
		key := "visitor_integrations[" + strconv.Itoa(i) + "]"
		switch {
		case strings.TrimSpace(in.Location) == "":
			return bad(key, "location (the Visitor location the integration is installed in) is required")
		case seen[strings.ToLower(in.Location)]:
			return bad(key, "location %q is listed twice (visitor_location_name is the first integration's)", in.Location)
		case in.URL == "":
			return bad(key, "url is required")
		case in.Token == "":
			return bad(key, "token or token_file is required")
		}
		seen[strings.ToLower(in.Location)] = true
		if err := checkURL(bad, key+".url", in.URL, "is not an absolute URL (value not shown: it may hold a credential)"); err != nil {
			return err
		}
		if u, err := url.Parse(in.URL); err == nil && u.User != nil {
			return bad(key+".url", "must not hold credentials (user:password@); give the token in token or token_file")
		}
	}
	if len(c.VisitorIntegrations) > 0 && c.VisitorLocationName == "" {
		return bad("visitor_location_name", "required with visitor_integrations: it names the location of scim_url's integration")
	}
	return nil
}
