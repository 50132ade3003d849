package plan

import (
	"cmp"
	"slices"

	"condeco-visitor-sync/visitor"
)

// NextGrants is the grants record after a run: old (nil: none), less the
// grants the listing shows are gone (the user is not listed, or holds no
// admin role there: taken away by hand, or by a revoke whose record was
// not written), less the revokes and plus the grants of the changes done
// says succeeded. Dropping an entry only ever makes the sync keep a role
// it might have revoked, never the other way round, so whatever is in
// doubt is dropped. listed is the managed-user listing the plan was made
// on; done is asked about the plan's creates, updates and deletes.
func NextGrants(old *GrantsRecord, listed []visitor.User, p *Plan, done func(c *UserChange) bool) GrantsRecord {
	type key struct{ ext, loc string }
	admin := map[key]bool{}
	for i := range listed {
		for _, a := range listed[i].Access {
			if a.Role == visitor.RoleAdmin {
				admin[key{listed[i].ExternalID, a.LocationID}] = true
			}
		}
	}
	next := map[key]AdminGrant{}
	if old != nil {
		for _, g := range old.Admin {
			if k := (key{g.ExternalID, g.LocationID}); admin[k] {
				next[k] = g
			}
		}
	}
	for _, cs := range [][]UserChange{p.Deletes, p.Updates, p.Adoptions, p.Creates} {
		for i := range cs {
			c := &cs[i]
			if !done(c) {
				continue
			}
			if c.Action == ActionDelete {
				for k := range next {
					if k.ext == c.ExternalID {
						delete(next, k)
					}
				}
			}
			if c.Record == nil {
				continue
			}
			if g := c.Record.Revoke; g != nil {
				delete(next, key{g.ExternalID, g.LocationID})
			}
			if g := c.Record.Grant; g != nil {
				next[key{g.ExternalID, g.LocationID}] = *g
			}
		}
	}
	out := GrantsRecord{Admin: make([]AdminGrant, 0, len(next))}
	for _, g := range next {
		out.Admin = append(out.Admin, g)
	}
	slices.SortFunc(out.Admin, func(a, b AdminGrant) int {
		return cmp.Or(cmp.Compare(a.ExternalID, b.ExternalID), cmp.Compare(a.LocationID, b.LocationID))
	})
	return out
}
