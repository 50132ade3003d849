package visitor

import "slices"

// Capabilities say what a target profile can carry. The planner reads
// them so that it never plans what the target cannot hold (a location, a
// role); the client and the applier read the wire-related ones. Today's
// contract (docs/visitor-scim.md) declares all of them; a profile that
// declares fewer is another target behind the same seam.
type Capabilities struct {
	// Locations: users carry a default location and an access list, and
	// locations can be listed and created.
	Locations bool `json:"locations"`
	// LocationRoles: each entry of an access list carries a role (admin,
	// user, reception…), not only the location.
	LocationRoles bool `json:"locationRoles"`
	// ExternalID: users and locations carry an externalId, which is how
	// the sync tells the users it owns.
	ExternalID bool `json:"externalId"`
	// Patch: a user is updated by PATCH with only the differing attributes
	// (RFC 7644 §3.5.2) rather than replaced whole.
	Patch bool `json:"patch"`
	// FilterOperators are the comparison operators a listing filter may
	// use (RFC 7644 §3.4.2.2).
	FilterOperators []string `json:"filterOperators"`
	// Title and City: users carry a job title and the city of their home
	// location (addresses[primary].locality), which Visitor's mapping
	// rules can place people by.
	Title bool `json:"title,omitempty"`
	City  bool `json:"city,omitempty"`
	// OwnershipRecord: the target carries no externalId on the wire; the
	// profile gives the users the sync created their externalId from the
	// ownership record in state_dir, and lists no other user as managed.
	OwnershipRecord bool `json:"ownershipRecord,omitempty"`
	// Invitations: a create can ask Visitor to send the user an
	// invitation (or not); a profile without it leaves that to the
	// tenant's own settings, and the plan promises none.
	Invitations bool `json:"invitations,omitempty"`
	// OrFilters: a filter may join comparisons with "or", which the
	// batched re-read of written users needs (scim_verify_writes: reread).
	OrFilters bool `json:"orFilters"`
}

// SCIM2Capabilities are those of the SCIM 2.0 contract of
// docs/visitor-scim.md, the one Client speaks: everything.
func SCIM2Capabilities() Capabilities {
	return Capabilities{Locations: true, LocationRoles: true, ExternalID: true, Patch: true,
		FilterOperators: slices.Clone(filterOperators), OrFilters: true, Invitations: true}
}

// Capabilities are what the target behind c can carry.
func (c *Client) Capabilities() Capabilities { return SCIM2Capabilities() }

// Filters says whether a filter may use the comparison operator op.
func (c Capabilities) Filters(op string) bool { return slices.Contains(c.FilterOperators, op) }
