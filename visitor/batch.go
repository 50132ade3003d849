package visitor

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// MaxFilterBytes bounds the URL-encoded filter of one batched lookup, so a
// request line stays well under the 8 KiB most front ends accept.
const MaxFilterBytes = 3500

// UsersByExternalID reads the users with the given externalIds, packing as
// many `externalId eq "…" or …` clauses into each request as fit in
// MaxFilterBytes. Re-reading a whole day's changes this way costs about one
// request per hundred users instead of one per user, which is what keeps
// verification inside the call budget.
func (c *Client) UsersByExternalID(ctx context.Context, ids []string) ([]User, error) {
	var out []User
	for _, batch := range filterBatches(ids, MaxFilterBytes) {
		users, err := c.ListUsers(ctx, batch)
		if err != nil {
			return out, fmt.Errorf("reading users by externalId: %w", err)
		}
		out = append(out, users...)
	}
	return out, nil
}

// filterBatches joins externalId eq clauses with "or" into filters whose
// encoded size stays within limit (a single clause longer than limit
// travels alone).
func filterBatches(ids []string, limit int) []string { return orBatches("externalId", ids, limit) }

// orBatches is filterBatches on any attribute (generic-v1 re-reads by id).
func orBatches(attr string, ids []string, limit int) []string {
	var out []string
	var b strings.Builder
	size := 0
	for _, id := range ids {
		clause := Filter(attr, "eq", id)
		n := len(url.QueryEscape(clause))
		sep := len(url.QueryEscape(" or "))
		if b.Len() > 0 && size+sep+n > limit {
			out = append(out, b.String())
			b.Reset()
			size = 0
		}
		if b.Len() > 0 {
			b.WriteString(" or ")
			size += sep
		}
		b.WriteString(clause)
		size += n
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}
