package visitor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// ListLocations returns every Visitor location.
func (c *Client) ListLocations(ctx context.Context) ([]Location, error) {
	out := []Location{}
	err := c.list(ctx, c.locationsEndpoint, "", nil, func(r json.RawMessage) (string, error) {
		l, err := decodeLocation(r)
		if err != nil {
			return "", err
		}
		out = append(out, l)
		return l.ID, nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing locations: %w", err)
	}
	return out, nil
}

// CreateLocation creates l. Like CreateUser it never repeats a create whose
// outcome is unknown before checking, by externalId, that it did not
// happen. Locations are few, so the check lists them all rather than
// relying on filter support on this non-standard endpoint.
func (c *Client) CreateLocation(ctx context.Context, l Location) (Location, error) {
	if l.Name == "" {
		return Location{}, fmt.Errorf("creating location %q: empty name", l.ExternalID)
	}
	body := wireLocation{Schemas: []string{c.locationSchema}, ExternalID: l.ExternalID, Name: l.Name}
	var found *Location
	var raw json.RawMessage
	err := c.createOnce(ctx, c.locationsEndpoint, l.ExternalID, body, &raw, func(ctx context.Context) (bool, error) {
		all, err := c.ListLocations(ctx)
		if err != nil {
			return false, err
		}
		for i := range all {
			if all[i].ExternalID == l.ExternalID {
				found = &all[i]
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return Location{}, fmt.Errorf("creating location %q: %w", l.ExternalID, err)
	}
	if found != nil {
		return *found, nil
	}
	if len(raw) == 0 {
		// A 201 without a body (RFC 7644 §3.3: SHOULD carry it): the
		// location exists; find it by externalId.
		all, err := c.ListLocations(ctx)
		if err != nil {
			return Location{}, fmt.Errorf("creating location %q: created without an answer; looking it up: %w", l.ExternalID, err)
		}
		for i := range all {
			if all[i].ExternalID == l.ExternalID {
				return all[i], nil
			}
		}
		return Location{}, fmt.Errorf("creating location %q: created without an answer, and no location has that externalId", l.ExternalID)
	}
	created, err := decodeLocation(raw)
	if err != nil {
		return Location{}, fmt.Errorf("creating location %q: %w", l.ExternalID, err)
	}
	return created, nil
}

// LocationField names an attribute of a location that UpdateLocation may
// change.
type LocationField string

// The location attributes the sync changes: the name of a location it
// owns (renamed in Condeco), and the empty externalId of a location it
// claims (adopt_existing_locations).
const (
	LocationFieldName       LocationField = "name"
	LocationFieldExternalID LocationField = "externalId"
)

// UpdateLocation PATCHes the given fields of location id to l's values and
// returns the location as Visitor then holds it. An externalId is only
// ever set, never cleared: Visitor keeps one immutable once set.
func (c *Client) UpdateLocation(ctx context.Context, id string, l Location, fields []LocationField) (Location, error) {
	var ops []patchOp
	for _, f := range fields {
		switch f {
		case LocationFieldName:
			if l.Name == "" {
				return Location{}, fmt.Errorf("updating location %q: empty name", id)
			}
			ops = append(ops, patchOp{Op: "replace", Path: "name", Value: l.Name})
		case LocationFieldExternalID:
			if l.ExternalID == "" {
				return Location{}, fmt.Errorf("updating location %q: refusing to clear externalId", id)
			}
			ops = append(ops, patchOp{Op: "replace", Path: "externalId", Value: l.ExternalID})
		default:
			return Location{}, fmt.Errorf("updating location %q: unknown field %q", id, f)
		}
	}
	path := c.locationsEndpoint + "/" + url.PathEscape(id)
	var raw json.RawMessage
	if len(ops) > 0 {
		req := patchRequest{Schemas: []string{PatchOpSchema}, Operations: ops}
		if err := c.call(ctx, http.MethodPatch, path, nil, req, &raw); err != nil {
			return Location{}, fmt.Errorf("updating location %q: %w", id, err)
		}
	}
	if len(raw) == 0 { // 204 No Content, or nothing to send
		if err := c.call(ctx, http.MethodGet, path, nil, nil, &raw); err != nil {
			return Location{}, fmt.Errorf("updating location %q: reading it back: %w", id, err)
		}
	}
	got, err := decodeLocation(raw)
	if err != nil {
		return Location{}, fmt.Errorf("updating location %q: %w", id, err)
	}
	return got, nil
}
