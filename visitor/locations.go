package visitor

import (
	"context"
	"encoding/json"
	"fmt"
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
