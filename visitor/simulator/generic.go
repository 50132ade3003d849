package simulator

import (
	"net/http"
	"strconv"
)

// The generic-v1 flavour is Eptura's Generic SCIM integration as its
// public page, "Manage users via API (Generic SCIM integration)" on the
// Eptura Knowledge Center, documents it (SCIM 1.1; the wire contract the
// client shares is issue 16's wire.md). It shares the store, auth, rate limit, faults
// and stats with the scim2 flavour and has its own routes, resource shape
// and error body, so a client written for it is checked against SCIM 1.1
// rather than against the project's SCIM 2.0 contract.

// genericSchema is the only schema URN of SCIM 1.1 resources and messages.
const genericSchema = "urn:scim:schemas:core:1.0"

// genericRoutes serves generic-v1: /Users, /ServiceProviderConfigs, /Groups
// refused with 501, everything else below GenericBasePath 404. There is no
// token endpoint: the integration hands out one static bearer token.
func (s *Server) genericRoutes() {
	m := http.NewServeMux()
	groups := route{template: "/Groups", any: s.genericGroups}
	rts := []route{
		{template: "/Users", list: true, methods: map[string]http.HandlerFunc{
			http.MethodGet: s.genericListUsers, http.MethodPost: s.genericCreateUser}},
		{template: "/Users/{id}", methods: map[string]http.HandlerFunc{
			http.MethodGet: s.genericGetUser, http.MethodPut: s.genericPutUser,
			http.MethodPatch: s.genericPatchUser, http.MethodDelete: s.genericDeleteUser}},
		{template: "/ServiceProviderConfigs", methods: map[string]http.HandlerFunc{
			http.MethodGet: s.genericServiceProviderConfigs}},
		groups,
	}
	for _, rt := range rts {
		m.Handle(GenericBasePath+rt.template, s.scim(rt))
	}
	m.Handle(GenericBasePath+"/Groups/", s.scim(groups))
	m.Handle(GenericBasePath+"/", s.scim(route{template: "unknown"}))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { // /oauth/token, /scim/v2/... too
		writeGenericError(w, errf(http.StatusNotFound, "", "no such endpoint %s", r.URL.Path))
	})
	m.HandleFunc("GET /stats", s.serveStats)
	m.HandleFunc("GET /state", s.serveState)
	s.mux = m
}

// genericServiceProviderConfigs is SCIM 1.1's plural endpoint; a client
// tells the flavours apart by which of the two names answers.
func (s *Server) genericServiceProviderConfigs(w http.ResponseWriter, _ *http.Request) {
	writeGenericJSON(w, http.StatusOK, map[string]any{
		"schemas":        []string{genericSchema},
		"patch":          map[string]any{"supported": s.opts.GenericPatch},
		"bulk":           map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":         map[string]any{"supported": true, "maxResults": s.opts.MaxResults},
		"changePassword": map[string]any{"supported": false},
		"sort":           map[string]any{"supported": false},
		"etag":           map[string]any{"supported": false},
		"xmlDataFormat":  map[string]any{"supported": false},
		"authenticationSchemes": []map[string]any{{
			"name": "OAuth Bearer Token", "description": "Bearer token from the SCIM integration", "primary": true,
		}},
	})
}

// genericGroups refuses /Groups as Eptura's page says the integration does.
func (s *Server) genericGroups(w http.ResponseWriter, r *http.Request) {
	writeGenericError(w, errf(http.StatusNotImplemented, "", "%s %s: only /Users is supported", r.Method, r.URL.Path))
}

// writeGenericError writes a SCIM 1.1 error (API 1.1 §3.7).
func writeGenericError(w http.ResponseWriter, e *scimError) {
	writeGenericJSON(w, e.Status, map[string]any{
		"Errors": []map[string]string{{"description": e.Detail, "code": strconv.Itoa(e.Status)}},
	})
}

// writeGenericJSON answers application/json, SCIM 1.1's media type.
func writeGenericJSON(w http.ResponseWriter, status int, v any) {
	writeJSONType(w, status, "application/json", v)
}

// genericBaseURL is the generic-v1 base as the client addressed it, for
// meta.location.
func genericBaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + GenericBasePath
}
