// Package simulator is an in-memory Eptura Visitor SCIM server. It speaks
// two flavours, chosen by Options.API: the project's own SCIM 2.0 contract
// (docs/visitor-scim.md, the default) and generic-v1, Eptura's documented
// Generic SCIM integration (SCIM 1.1, issue 16's wire contract). Either is
// an independent implementation of its contract (it does not import
// package visitor) and enforces it strictly, so that a client that passes
// against it has been checked against every documented rule rather than
// against a second copy of its own assumptions.
package simulator

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults from docs/visitor-scim.md.
const (
	DefaultUserSchema        = "urn:ietf:params:scim:schemas:extension:eptura:visitor:2.0:User"
	DefaultLocationSchema    = "urn:ietf:params:scim:schemas:extension:eptura:visitor:2.0:Location"
	DefaultLocationsEndpoint = "/Locations"
	DefaultMaxBody           = 2 << 20
	DefaultMaxResults        = 200
	DefaultLocationName      = "Default location"
	// BasePath is where the scim2 flavour's routes live; Start returns a
	// URL ending in it.
	BasePath = "/scim/v2"
	// GenericBasePath is where the generic-v1 flavour's routes live, as on
	// api.proxyclick.com; Start returns a URL ending in it.
	GenericBasePath = "/scim/v1"
)

// The flavours Options.API names.
const (
	// APIScim2 is the project's SCIM 2.0 contract (docs/visitor-scim.md);
	// the empty string means it too.
	APIScim2 = "scim2"
	// APIGenericV1 is Eptura's Generic SCIM integration (SCIM 1.1).
	APIGenericV1 = "generic-v1"
)

// SCIM URNs fixed by RFC 7643/7644.
const (
	coreUserSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterpriseUserSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	listResponseSchema   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	errorSchema          = "urn:ietf:params:scim:api:messages:2.0:Error"
	patchOpSchema        = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	spcSchema            = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	resourceTypeSchema   = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
)

// Token lifetimes accepted by the token endpoint: 1 minute to 10 years,
// default 24 hours (see docs/visitor-scim.md).
const (
	minTokenExpiry     = 60
	maxTokenExpiry     = 315360000
	defaultTokenExpiry = 24 * 60 * 60
)

// Options configures a Server. The zero value serves the contract defaults
// but accepts no token at all.
type Options struct {
	// API is the flavour served: "" or APIScim2, or APIGenericV1. Start
	// refuses any other value and New panics on one.
	API string
	// GenericPatch makes a generic-v1 server support SCIM 1.1 PATCH (and
	// say so in /ServiceProviderConfigs); off, PATCH answers 501, because
	// Eptura's page documents no PATCH. The scim2 flavour ignores it.
	GenericPatch bool
	// Token is a static bearer token, like the one the Visitor marketplace
	// page shows. Empty means only tokens from the token endpoint work.
	Token string
	// ClientID and ClientSecret enable POST /oauth/token.
	ClientID, ClientSecret string
	// RateLimit is calls per minute per token; 0 turns it off.
	RateLimit int
	// RateBurst is how many calls may come at once before the per-minute
	// rate applies; 0 means a whole minute's worth (RateLimit).
	RateBurst int
	// MaxBody is the largest request body accepted (default 2 MiB).
	MaxBody int64
	// MaxResults caps count on listings (default 200).
	MaxResults int
	// UserSchema, LocationSchema and LocationsEndpoint default to the
	// contract values; they are configurable because the real names are not
	// public.
	UserSchema, LocationSchema, LocationsEndpoint string
	// DefaultLocationName names the location created at start with
	// default:true, the token's primary location.
	DefaultLocationName string
	// Now is the clock for token expiry, rate windows and meta timestamps.
	Now func() time.Time
	// Faults are injected on SCIM routes (not /stats or /state).
	Faults Faults
	// OnRequest, when set, is called as each SCIM request arrives, before
	// any injected latency: a test waits on it rather than on a sleep.
	OnRequest func(method, path string)
}

// Faults describes injected misbehaviour. Rates are probabilities in [0,1],
// drawn from a generator started from Sequence so a run can be repeated.
type Faults struct {
	// Latency is added before every SCIM request is handled.
	Latency time.Duration
	// ErrorRate maps an HTTP status to the probability of answering it
	// instead of handling the request (nothing is applied). The rates
	// add up: {500: 0.1, 503: 0.1} answers 5xx to 20 % of requests. Their
	// sum must not exceed 1 (see Faults.Validate).
	ErrorRate map[int]float64
	// DropRate closes the connection before handling (nothing applied).
	DropRate float64
	// DropAfterWriteRate closes the connection after a write request has been
	// applied but before the answer is sent, so the client cannot know the
	// outcome.
	DropAfterWriteRate float64
	// MalformedRate replaces a JSON answer by a truncated body.
	MalformedRate float64
	// SlowPage is added to listing requests.
	SlowPage time.Duration
	// Sequence picks the fault generator's pseudo-random sequence: the
	// same Sequence and the same requests give the same faults.
	Sequence int64
	// Methods, when not empty, limits every fault above to requests with
	// one of these HTTP methods (e.g. only POST), so a test can break
	// creates while the lookups that follow them still work.
	Methods []string
	// Paths, when not empty, limits every fault above to requests whose
	// path below the base path (BasePath or GenericBasePath) starts with
	// one of these (e.g. "/Locations"), so a test can break location
	// creates while user creates succeed.
	Paths []string
}

// appliesToPath reports whether the faults cover a request for path (the
// URL path, base included).
func (f Faults) appliesToPath(path, base string) bool {
	if len(f.Paths) == 0 {
		return true
	}
	rel := strings.TrimPrefix(path, base)
	for _, p := range f.Paths {
		if strings.HasPrefix(rel, p) {
			return true
		}
	}
	return false
}

// appliesTo reports whether the faults cover a request with this method.
func (f Faults) appliesTo(method string) bool {
	if len(f.Methods) == 0 {
		return true
	}
	for _, m := range f.Methods {
		if strings.EqualFold(m, method) {
			return true
		}
	}
	return false
}

// Validate checks that every rate is a probability and that the error
// rates, which share one draw, add up to at most 1.
func (f Faults) Validate() error {
	sum := 0.0
	for code, p := range f.ErrorRate {
		if code < 400 || code > 599 {
			return fmt.Errorf("error rate: status %d is not 400..599", code)
		}
		if p < 0 || p > 1 {
			return fmt.Errorf("error rate: %d=%v is not a probability in [0,1]", code, p)
		}
		sum += p
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("error rates add up to %v, over 1", sum)
	}
	for name, p := range map[string]float64{"drop rate": f.DropRate,
		"drop-after-write rate": f.DropAfterWriteRate, "malformed rate": f.MalformedRate} {
		if p < 0 || p > 1 {
			return fmt.Errorf("%s %v is not a probability in [0,1]", name, p)
		}
	}
	if f.Latency < 0 || f.SlowPage < 0 {
		return errors.New("latency and slow page must not be negative")
	}
	for _, m := range f.Methods {
		switch strings.ToUpper(m) {
		case "GET", "POST", "PUT", "PATCH", "DELETE":
		default:
			return fmt.Errorf("fault method %q is not GET, POST, PUT, PATCH or DELETE", m)
		}
	}
	return nil
}

// checkAPI refuses a flavour the simulator does not speak.
func (o Options) checkAPI() error {
	switch o.API {
	case "", APIScim2, APIGenericV1:
		return nil
	}
	return fmt.Errorf("api %q is not %s or %s", o.API, APIScim2, APIGenericV1)
}

func (o Options) withDefaults() Options {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxResults <= 0 {
		o.MaxResults = DefaultMaxResults
	}
	if o.UserSchema == "" {
		o.UserSchema = DefaultUserSchema
	}
	if o.LocationSchema == "" {
		o.LocationSchema = DefaultLocationSchema
	}
	if o.LocationsEndpoint == "" {
		o.LocationsEndpoint = DefaultLocationsEndpoint
	}
	if o.LocationsEndpoint[0] != '/' {
		o.LocationsEndpoint = "/" + o.LocationsEndpoint
	}
	if o.DefaultLocationName == "" {
		o.DefaultLocationName = DefaultLocationName
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
