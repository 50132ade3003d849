package visitor

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"

	"go.uber.org/zap"
)

var (
	// ErrNotSupported: the profile cannot carry this (generic-v1 has no
	// locations); the planner never plans it when Capabilities say so.
	ErrNotSupported = errors.New("not supported by this target profile")
	// ErrFilterNotSupported: a filter uses what SCIM 1.1 lacks (ne, ew,
	// not, value paths); it is refused before it is sent.
	ErrFilterNotSupported = errors.New("filter not supported by SCIM 1.1")
)

// Generic talks to Eptura's Generic SCIM integration (generic-v1: SCIM
// 1.1, users only, no externalId). It sends through a Client, so auth,
// retries, Retry-After, the rate limiter, stats and page sizes are the
// same; which users are the sync's own comes from an OwnershipBook, since
// the wire keeps no externalId. It is safe for concurrent use.
type Generic struct {
	c    *Client
	log  *zap.Logger
	book OwnershipBook

	ownMu sync.Mutex // guards own and serializes calls to book
	own   ownership

	// strays are the users the last managed listing saw created through
	// SCIM but not in the record, by lower-cased userName: what a create
	// whose answer was lost (and whose look-up failed too) leaves behind.
	strayMu sync.Mutex
	strays  map[string]string

	spcMu   sync.Mutex // guards spcRead and patch
	spcRead bool       // ServiceProviderConfigs was read (or found missing)
	patch   bool       // it says PATCH is supported
}

// NewGeneric checks the options and builds a Generic. It makes no request
// and does not read the book. Generic calls the book from one goroutine
// at a time, so a book need not lock for it.
func NewGeneric(o Options, book OwnershipBook, log *zap.Logger) (*Generic, error) {
	if book == nil {
		return nil, errors.New("visitor: generic-v1 needs an ownership record")
	}
	if log == nil {
		log = zap.NewNop()
	}
	c, err := New(o, log)
	if err != nil {
		return nil, err
	}
	c.mediaType, c.spcPath = mediaTypeV1, "ServiceProviderConfigs"
	return &Generic{c: c, log: log, book: book}, nil
}

// GenericCapabilities are those of generic-v1 with PATCH as given: users
// with title and city, no locations, no externalId (an ownership record
// instead), SCIM 1.1 filters.
func GenericCapabilities(patch bool) Capabilities {
	return Capabilities{Title: true, City: true, OwnershipRecord: true, Patch: patch,
		FilterOperators: slices.Clone(filterOperatorsV1), OrFilters: true}
}

// Capabilities are what the target behind g can carry. Patch is what
// ServiceProviderConfigs said; it is false until that is read (before the
// first update), which is what updates do until then too.
func (g *Generic) Capabilities() Capabilities {
	g.spcMu.Lock()
	defer g.spcMu.Unlock()
	return GenericCapabilities(g.patch)
}

// Stats returns a copy of the counters.
func (g *Generic) Stats() Stats { return g.c.Stats() }

// ListRequests is the least number of requests a listing of n users
// costs at the current page size.
func (g *Generic) ListRequests(n int) int64 { return g.c.ListRequests(n) }

// spcV1 is what this client reads of ServiceProviderConfigs.
type spcV1 struct {
	Patch struct {
		Supported bool `json:"supported"`
	} `json:"patch"`
	Filter struct {
		Supported  bool `json:"supported"`
		MaxResults int  `json:"maxResults"`
	} `json:"filter"`
}

// patchSupported reads ServiceProviderConfigs once, before the first
// update: PATCH only when it says so. A missing (404) or unreadable one
// means PUT, which every generic-v1 server takes; it is not asked again.
func (g *Generic) patchSupported(ctx context.Context) bool {
	g.spcMu.Lock()
	defer g.spcMu.Unlock()
	if g.spcRead {
		return g.patch
	}
	var spc spcV1
	err := g.c.call(ctx, http.MethodGet, g.c.spcPath, nil, nil, &spc)
	switch {
	case err == nil:
		g.patch = spc.Patch.Supported
		if m := spc.Filter.MaxResults; m > 0 {
			g.c.lowerPageSize(m, g.c.spcPath)
		}
	case ctx.Err() != nil:
		return false // not read: the update fails on its own context anyway
	case errors.Is(err, ErrNotFound):
		g.log.Info("no service provider configs; updating by put")
	default:
		g.log.Warn("reading service provider configs; updating by put", zap.Error(err))
	}
	g.spcRead = true
	g.log.Debug("update method", zap.Bool("patch", g.patch))
	return g.patch
}
