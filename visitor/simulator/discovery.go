package simulator

import "net/http"

// serviceProviderConfig reports what the simulator supports (RFC 7643 §5),
// so a client can lower its page size to filter.maxResults.
func (s *Server) serviceProviderConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":          []string{spcSchema},
		"documentationUri": "docs/visitor-scim.md",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": s.opts.MaxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": false},
		"authenticationSchemes": []map[string]any{{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description": "Authentication with a bearer token",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": baseURL(r) + "/ServiceProviderConfig"},
	})
}

// resourceTypes lets a client check the extension URNs it is configured
// with against the server's (RFC 7643 §6).
func (s *Server) resourceTypes(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	res := []any{
		map[string]any{
			"schemas": []string{resourceTypeSchema}, "id": "User", "name": "User",
			"endpoint": "/Users", "schema": coreUserSchema,
			"schemaExtensions": []map[string]any{
				{"schema": s.opts.UserSchema, "required": false},
				{"schema": enterpriseUserSchema, "required": false},
			},
			"meta": map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/User"},
		},
		map[string]any{
			"schemas": []string{resourceTypeSchema}, "id": "Location", "name": "Location",
			"endpoint": s.opts.LocationsEndpoint, "schema": s.opts.LocationSchema,
			"meta": map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/Location"},
		},
	}
	writeJSON(w, http.StatusOK, listResponse(len(res), 1, res))
}
