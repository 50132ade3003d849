package visitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ProbeCheck is one line of --check's capability table.
type ProbeCheck struct {
	Name   string `json:"name"`
	Result string `json:"result"`
	// Fails says the run would fail the same way (its error is Err).
	Fails bool  `json:"fails"`
	Err   error `json:"-"`
}

// Probe sends the requests a run sends, each asking for as little as the
// server allows, so that --check fails where a run would and says what
// the server supports: its ServiceProviderConfig, the locations listing,
// the managed-user listing exactly as a run asks for it (count=1), an eq
// filter and an "or" batch on a user that listing returned, and the form
// its phone numbers are stored in. The error is the first check a run
// would fail on.
func (c *Client) Probe(ctx context.Context, externalIDPrefix string) ([]ProbeCheck, error) {
	var out []ProbeCheck
	add := func(name, result string, err error, fails bool) {
		out = append(out, ProbeCheck{Name: name, Result: result, Err: err, Fails: fails && err != nil})
	}

	var spc struct {
		Patch  struct{ Supported bool } `json:"patch"`
		Filter struct {
			Supported  bool `json:"supported"`
			MaxResults int  `json:"maxResults"`
		} `json:"filter"`
	}
	switch err := c.call(ctx, http.MethodGet, "ServiceProviderConfig", nil, nil, &spc); {
	case err == nil:
		add("service provider config", fmt.Sprintf("patch %s, filter %s (maxResults %d)", yesNo(spc.Patch.Supported), yesNo(spc.Filter.Supported), spc.Filter.MaxResults), nil, false)
	case errors.Is(err, ErrNotFound):
		add("service provider config", "not served (404); the client's defaults apply", nil, false)
	case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrForbidden):
		add("service provider config", "refused: "+err.Error(), err, true)
		return out, err
	default:
		add("service provider config", "unreadable: "+err.Error(), nil, false)
	}

	if c.Capabilities().Locations {
		locs, err := c.ListLocations(ctx)
		if err != nil {
			add("locations listing", "FAILED: "+err.Error(), err, true)
			return out, err
		}
		def := "none flagged default"
		for _, l := range locs {
			if l.Default {
				def = "default " + l.ID
			}
		}
		add("locations listing", fmt.Sprintf("ok: %d locations, %s", len(locs), def), nil, false)
	}

	// The managed-user listing as a run sends it, one user a page.
	filter := Filter("externalId", "sw", externalIDPrefix)
	var page listResponse
	q := url.Values{"filter": {filter}, "startIndex": {"1"}, "count": {"1"}}
	err := c.call(ctx, http.MethodGet, usersPath, q, nil, &page)
	if filterRefused(err) {
		// The run's fallback: every SCIM user, the prefix kept here.
		add("managed-user listing ("+filter+")", "sw refused: runs list every SCIM user without a filter and keep the prefix themselves (inactive users may be missing)", nil, false)
		q.Del("filter")
		page = listResponse{}
		err = c.call(ctx, http.MethodGet, usersPath, q, nil, &page)
		filter = "no filter"
	}
	if err != nil {
		add("managed-user listing ("+filter+")", "FAILED: "+err.Error(), err, true)
		return out, fmt.Errorf("listing managed users as a run does: %w", err)
	}
	add("managed-user listing ("+filter+")", fmt.Sprintf("ok: totalResults %d", page.TotalResults), nil, false)
	if len(page.Resources) == 0 {
		add("eq filter, or batch, phone form", "not checked: no managed user in Visitor yet", nil, false)
		return out, nil
	}
	u, err := c.decodeUser(page.Resources[0])
	if err != nil {
		add("managed user", "unreadable: "+err.Error(), err, true)
		return out, err
	}

	// A known user must come back from an eq filter: a server that answers
	// filters it cannot evaluate with nothing would make lookups (after a
	// refused create, for instance) find no one.
	found, err := c.FindUser(ctx, "externalId", u.ExternalID)
	switch {
	case err != nil:
		add("eq filter on a known user", "FAILED: "+err.Error(), err, false)
	case found == nil || found.ID != u.ID:
		add("eq filter on a known user", "returned no user: lookups by externalId will not find what the listing found", nil, false)
	default:
		add("eq filter on a known user", "ok", nil, false)
	}
	batch, err := c.ListUsers(ctx, Filter("externalId", "eq", u.ExternalID)+" or "+Filter("externalId", "eq", u.ExternalID+"-probe"))
	switch {
	case errors.Is(err, ErrBadRequest):
		add("or filter", "refused: written users are re-read one at a time", nil, false)
	case err != nil:
		add("or filter", "FAILED: "+err.Error(), nil, false)
	case len(batch) != 1:
		add("or filter", fmt.Sprintf("returned %d users for one: written users are re-read one at a time", len(batch)), nil, false)
	default:
		add("or filter", "ok", nil, false)
	}
	add("phone form", phoneForm(u), nil, false)
	return out, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// phoneForm says how the server stores the phone numbers of u.
func phoneForm(u User) string {
	for _, p := range []string{u.Phone, u.Mobile} {
		switch {
		case p == "":
		case strings.HasPrefix(strings.ToLower(p), "tel:"):
			return "RFC 3966 tel: URI (" + p + "); compared without the scheme and separators"
		default:
			return "E.164 (" + p + ")"
		}
	}
	return "no phone number on the user listed"
}
