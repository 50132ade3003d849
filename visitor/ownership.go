package visitor

import "errors"

// ErrOwnershipLost: a profile without externalIds (generic-v1) finds
// users created through SCIM in Visitor but no record of which of them
// the sync created. It stops the run: reading "none of them are mine" as
// "delete nothing, create everyone" would be a silent guess either way.
var ErrOwnershipLost = errors.New("ownership record missing")

// Owned is one Visitor user the sync created, as the ownership record
// keeps it: a profile that carries no externalId knows its users by this.
type Owned struct {
	ID         string `json:"id"`
	UserName   string `json:"userName"`
	ExternalID string `json:"externalId"`
}

// OwnershipBook keeps which Visitor users the sync created (state_dir's
// ownership record; the command adapts it).
type OwnershipBook interface {
	// Owned returns the record by Visitor id; false: there is no record.
	Owned() (map[string]Owned, bool, error)
	// Add records o, replacing any entry with the same ExternalID.
	Add(o Owned) error
	// Remove forgets the user with Visitor id.
	Remove(id string) error
}
