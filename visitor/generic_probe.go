package visitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"
)

// DetectProfile asks the server at o.BaseURL which target profile it
// speaks, for --check: a SCIM 2.0 server serves ServiceProviderConfig, a
// generic-v1 (SCIM 1.1) one ServiceProviderConfigs and 404 on the other.
// When both answer, scim2 is taken (it carries more). tried has one line
// per path asked. A refusal (401, 403) on one path does not stop the other
// being asked; it is the error when neither answers.
func DetectProfile(ctx context.Context, o Options, log *zap.Logger) (string, []ProbeCheck, error) {
	if o.Limiter == nil {
		// The two requests spend one budget, as one client's would.
		n := o.RateLimit
		if n <= 0 {
			n = DefaultRateLimit
		}
		o.Limiter = NewLimiter(n)
	}
	v2, err := New(o, log)
	if err != nil {
		return "", nil, err
	}
	v1, err := New(o, log)
	if err != nil {
		return "", nil, err
	}
	v1.mediaType, v1.spcPath = mediaTypeV1, "ServiceProviderConfigs"

	var tried []ProbeCheck
	ask := func(c *Client, profile string) (bool, error) {
		var raw json.RawMessage
		err := c.call(ctx, http.MethodGet, c.spcPath, nil, nil, &raw)
		name := "GET " + c.spcPath + " (" + profile + ")"
		switch {
		case err == nil:
			tried = append(tried, ProbeCheck{Name: name, Result: "answered"})
			return true, nil
		case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrForbidden), ctx.Err() != nil:
			tried = append(tried, ProbeCheck{Name: name, Result: "refused: " + err.Error(), Fails: true, Err: err})
			return false, err
		}
		tried = append(tried, ProbeCheck{Name: name, Result: "not served: " + err.Error(), Err: err})
		return false, nil
	}
	// A refusal on one path (a gateway's 401/403 for a route it does not
	// serve) says nothing about the other: both are asked.
	ok2, err2 := ask(v2, ProfileSCIM2)
	if err2 != nil && ctx.Err() != nil {
		return "", tried, fmt.Errorf("detecting the target profile: %w", err2)
	}
	ok1, err1 := ask(v1, ProfileGeneric)
	switch {
	case ok2:
		return ProfileSCIM2, tried, nil
	case ok1:
		return ProfileGeneric, tried, nil
	case err2 != nil:
		return "", tried, fmt.Errorf("detecting the target profile: %w", err2)
	case err1 != nil:
		return "", tried, fmt.Errorf("detecting the target profile: %w", err1)
	}
	return "", tried, fmt.Errorf("detecting the target profile: neither %s/ServiceProviderConfig (scim2: %w) nor %s/ServiceProviderConfigs (generic-v1: %w) answered",
		v2.base.Redacted(), tried[0].Err, v1.base.Redacted(), tried[1].Err)
}

// Probe sends the requests a generic-v1 run sends, each asking for as
// little as the server allows, so that --check fails where a run would:
// ServiceProviderConfigs (how users are updated), one page of one user
// of the SCIM listing, the ownership record (present, and how many
// users), and on a listed user the userName eq filter and the "or" batch
// by id that lookups and verification use. The error is the first check
// a run would fail on; a record missing while Visitor holds SCIM users
// is one (ErrOwnershipLost).
func (g *Generic) Probe(ctx context.Context, externalIDPrefix string) ([]ProbeCheck, error) {
	var out []ProbeCheck
	add := func(name, result string, err error, fails bool) {
		out = append(out, ProbeCheck{Name: name, Result: result, Err: err, Fails: fails && err != nil})
	}

	var spc spcV1
	switch err := g.c.call(ctx, http.MethodGet, g.c.spcPath, nil, nil, &spc); {
	case err == nil:
		g.spcMu.Lock()
		g.spcRead, g.patch = true, spc.Patch.Supported
		g.spcMu.Unlock()
		how := "updates by PUT"
		if spc.Patch.Supported {
			how = "updates by PATCH"
		}
		add("service provider configs", fmt.Sprintf("patch %s (%s), filter %s (maxResults %d)", yesNo(spc.Patch.Supported), how, yesNo(spc.Filter.Supported), spc.Filter.MaxResults), nil, false)
	case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrForbidden):
		add("service provider configs", "refused: "+err.Error(), err, true)
		return out, err
	case errors.Is(err, ErrNotFound):
		add("service provider configs", "not served (404); updates by PUT", nil, false)
	default:
		add("service provider configs", "unreadable: "+err.Error()+"; updates by PUT", nil, false)
	}

	var page listResponse
	q := url.Values{"startIndex": {"1"}, "count": {"1"}}
	if err := g.c.call(ctx, http.MethodGet, usersPath, q, nil, &page); err != nil {
		add("scim user listing (no filter)", "FAILED: "+err.Error(), err, true)
		return out, fmt.Errorf("listing users as a run does: %w", err)
	}
	add("scim user listing (no filter)", fmt.Sprintf("ok: totalResults %d", page.TotalResults), nil, false)

	own, exists, err := g.owned(true)
	switch {
	case err != nil:
		add("ownership record", "FAILED: "+err.Error(), err, true)
		return out, err
	case !exists && page.TotalResults > 0:
		err := fmt.Errorf("%w: Visitor holds %d users created through SCIM and state_dir has no record of which are this sync's; rebuild it with --rebuild-ownership (run it with --dry-run first)", ErrOwnershipLost, page.TotalResults)
		add("ownership record", "MISSING: "+err.Error(), err, true)
		return out, err
	case !exists:
		add("ownership record", "none yet (no SCIM user in Visitor: a first sync)", nil, false)
	default:
		n := 0
		for _, o := range own {
			if strings.HasPrefix(o.ExternalID, externalIDPrefix) {
				n++
			}
		}
		add("ownership record", fmt.Sprintf("ok: %d users recorded as the sync's own, %d with externalId prefix %q", len(own), n, externalIDPrefix), nil, false)
	}

	if len(page.Resources) == 0 {
		add("eq filter, or batch", "not checked: no SCIM user in Visitor yet", nil, false)
		return out, nil
	}
	u, err := decodeUserV1(page.Resources[0])
	if err != nil {
		add("listed user", "unreadable: "+err.Error(), err, true)
		return out, err
	}
	found, err := g.FindUser(ctx, "userName", u.UserName)
	switch {
	case err != nil:
		add("userName eq filter on a listed user", "FAILED: "+err.Error(), err, false)
	case found == nil || found.ID != u.ID:
		add("userName eq filter on a listed user", "returned no user: a create whose answer is lost cannot be checked", nil, false)
	default:
		add("userName eq filter on a listed user", "ok", nil, false)
	}
	batch, err := g.ListUsers(ctx, Filter("id", "eq", u.ID)+" or "+Filter("id", "eq", u.ID+"-probe"))
	switch {
	case errors.Is(err, ErrBadRequest):
		add("or filter by id", "refused: written users are re-read one at a time", nil, false)
	case err != nil:
		add("or filter by id", "FAILED: "+err.Error(), nil, false)
	case len(batch) != 1:
		add("or filter by id", fmt.Sprintf("returned %d users for one: written users are re-read one at a time", len(batch)), nil, false)
	default:
		add("or filter by id", "ok", nil, false)
	}
	add("phone form", phoneForm(u), nil, false)
	return out, nil
}
