package plan

import (
	"context"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"
)

// Source is what the sync needs from the Condeco reader.
type Source interface {
	Export(ctx context.Context) (*condeco.Export, error)
}

// Target is what the sync needs from the Visitor client.
type Target interface {
	ListManagedUsers(ctx context.Context, externalIDPrefix string) ([]visitor.User, error)
	ListLocations(ctx context.Context) ([]visitor.Location, error)
	FindUser(ctx context.Context, attr, value string) (*visitor.User, error)
	GetUser(ctx context.Context, id string) (visitor.User, error)
	// UsersByExternalID re-reads many users in few requests (verification).
	UsersByExternalID(ctx context.Context, ids []string) ([]visitor.User, error)
	CreateUser(ctx context.Context, u visitor.User) (visitor.User, error)
	UpdateUser(ctx context.Context, id string, desired visitor.User, fields []visitor.Field) (visitor.User, error)
	DeleteUser(ctx context.Context, id string) error
	CreateLocation(ctx context.Context, l visitor.Location) (visitor.Location, error)
}

// PendingLocationPrefix marks a location id in a plan that refers to a
// location the same plan creates: "pending:" + the location's externalId.
// Apply replaces it with the server-assigned id after creating locations.
const PendingLocationPrefix = "pending:"

// Action is the kind of one planned change.
type Action string

// Actions in a plan and a report.
const (
	ActionCreate         Action = "create"
	ActionUpdate         Action = "update"
	ActionDelete         Action = "delete"
	ActionDeactivate     Action = "deactivate"
	ActionCreateLocation Action = "create-location"
	// ActionUpdateLocation is a PATCH of a Visitor location: the name of
	// one the sync owns (renamed in Condeco), or the externalId of one it
	// adopts (adopt_existing_locations).
	ActionUpdateLocation Action = "update-location"
	// ActionAdopt claims a Visitor user made by hand (same userName, no
	// externalId) for its Condeco row, with adopt_existing_users: its
	// externalId is set and every role it holds is kept.
	ActionAdopt Action = "adopt"
)

// Current is what Visitor holds now: the managed users (externalId with the
// managed prefix) and every location, plus what the sync itself recorded.
type Current struct {
	Users     []visitor.User     `json:"users"`
	Locations []visitor.Location `json:"locations"`
	// FirstSync lists the externalIds the first full sync set out to
	// create (Runner keeps them in FirstSyncPath). A first run that dies
	// half-way leaves managed users behind, so "no managed users yet" alone
	// would send the rest their invitations on the retry; with this list
	// they stay part of the initial sync (suppress-initial).
	FirstSync []string `json:"firstSync,omitempty"`
	// Target is what the sync recorded of Visitor after its last good run
	// (nil: no record). An empty listing is then never read as a first
	// sync, and a listing much smaller than recorded stops the run
	// (CheckTarget).
	Target *TargetRecord `json:"target,omitempty"`
	// Capabilities are what the target can carry (visitor.Client's
	// Capabilities); nil is today's contract, which carries everything,
	// so callers that predate profiles need not say.
	Capabilities *visitor.Capabilities `json:"capabilities,omitempty"`
	// OwedGrants are the location grants earlier runs could not make (a
	// location that could not be created when its users were); Runner
	// keeps them in state_dir until a write carrying them succeeds.
	OwedGrants []OwedGrant `json:"owedGrants,omitempty"`
	// Grants are the admin roles the sync recorded granting (Runner keeps
	// them in state_dir/grants.json); nil: no record (a first run, or a
	// lost state_dir). The sync revokes only what it granted: an admin
	// role not in the record was granted by hand and is kept, and without
	// a record no admin role is revoked at all.
	Grants *GrantsRecord `json:"grants,omitempty"`
	// LookAlikes are Visitor users outside the managed listing that hold
	// the userName of a user the plan would create (the runner looks them
	// up, one filter per planned create, only with adopt_existing_users).
	// One without an externalId is adopted; one owned by another source is
	// a conflict. Planned here, adoption passes the safety limits like any
	// other change.
	LookAlikes []visitor.User `json:"lookAlikes,omitempty"`
	// ByHand is what the previous run listed for a person to do by hand
	// (a target without locations; nil: no record).
	ByHand *ByHandRecord `json:"byHand,omitempty"`
}

// OwedGrant is one location a user should have been given when created
// (or updated) but was not, because the location did not exist yet. It
// is owed until a write carrying it succeeds: then the user holds `user`
// on that location.
type OwedGrant struct {
	ExternalID string `json:"externalId"` // the user's
	UserName   string `json:"userName,omitempty"`
	Location   string `json:"location"` // the location's externalId
	// Key is, in a plan, the Visitor location id or pending key of the
	// create or update that carries the grant in this run; empty when no
	// change of the plan carries it (it stays owed).
	Key string `json:"key,omitempty"`
}

// AdminGrant is one admin role the sync granted: to whom, on which
// Visitor location, and the hand-set role it replaced there (given back
// when the grant is revoked; empty: none, the user gets user).
type AdminGrant struct {
	ExternalID string       `json:"externalId"`
	LocationID string       `json:"locationId"`
	Replaced   visitor.Role `json:"replaced,omitempty"`
}

// GrantsRecord is what the sync granted, as external-dns's ownership
// records are: only these roles are the sync's to take back. It holds the
// admin roles on the default location, the only ones the sync revokes.
type GrantsRecord struct {
	Admin []AdminGrant `json:"admin"`
}

// TargetRecord is what Visitor held after the sync's last good run.
type TargetRecord struct {
	// ActiveManaged is the number of active users the sync manages.
	ActiveManaged int `json:"activeManaged"`
	// FirstSyncDone says the first full sync completed once.
	FirstSyncDone bool `json:"firstSyncDone"`
	// ExternalIDPrefix is the prefix the managed users carried.
	ExternalIDPrefix string `json:"externalIdPrefix,omitempty"`
}

// FieldChange is one differing field, rendered as text for display.
type FieldChange struct {
	Field visitor.Field `json:"field"`
	Old   string        `json:"old"`
	New   string        `json:"new"`
}

// UserChange is one planned change to one user.
type UserChange struct {
	Action     Action        `json:"action"`
	UserName   string        `json:"userName"`
	ExternalID string        `json:"externalId"`
	VisitorID  string        `json:"visitorId,omitempty"`
	Changes    []FieldChange `json:"changes,omitempty"`
	// AdminChange is "grant" or "revoke" (or "grant,revoke") when the
	// change alters an admin role; these count against MaxAdminChanges.
	AdminChange string `json:"adminChange,omitempty"`
	// Record is what the change does to a hand-set role and to the grants
	// record, when it grants or takes back admin; nil otherwise. A
	// pointer: an initial sync holds 100 000 changes, few of them admins.
	Record *RecordChange `json:"record,omitempty"`
	Reason string        `json:"reason,omitempty"`
	// Desired is what apply sends: the whole user for a create, the
	// current user with the changed fields for an update. Location ids
	// may be pending keys (PendingLocationPrefix).
	Desired *visitor.User `json:"desired,omitempty"`
	Before  *visitor.User `json:"before,omitempty"`
}

// RecordChange is what one change does to a hand-set role and to the
// grants record (GrantsRecord).
type RecordChange struct {
	// Replaced names the hand-set role the admin this change grants
	// replaces ("loc-1:reception"): Visitor holds one role per location,
	// so the audit line says what was there.
	Replaced string `json:"replaced,omitempty"`
	// Grant is the admin on the default location this change grants,
	// Revoke the recorded grant it takes back: the runner records them
	// (NextGrants) once the change succeeded.
	Grant  *AdminGrant `json:"grant,omitempty"`
	Revoke *AdminGrant `json:"revoke,omitempty"`
}

// Replaced is c.Record.Replaced, or "".
func (c UserChange) Replaced() string {
	if c.Record == nil {
		return ""
	}
	return c.Record.Replaced
}

// Fields lists the fields an update sends.
func (c UserChange) Fields() []visitor.Field {
	out := make([]visitor.Field, 0, len(c.Changes))
	for _, fc := range c.Changes {
		out = append(out, fc.Field)
	}
	return out
}

// LocationCreate is one Condeco location Visitor does not have yet.
type LocationCreate struct {
	Key      string           `json:"key"` // PendingLocationPrefix + externalId
	Location visitor.Location `json:"location"`
}

// LocationUpdate is one PATCH of a Visitor location.
type LocationUpdate struct {
	VisitorID string                  `json:"visitorId"`
	Reason    string                  `json:"reason"`
	Fields    []visitor.LocationField `json:"fields"`
	Before    visitor.Location        `json:"before"`
	// Location is what the fields are set to (externalId, name).
	Location visitor.Location `json:"location"`
}

// ClosedLocation is a Condeco location marked closed: given to no one
// new, never renamed or deleted; listed so a person can retire it.
type ClosedLocation struct {
	ID         string `json:"id"`         // Condeco location id
	ExternalID string `json:"externalId"` // the externalId the sync gives it
	VisitorID  string `json:"visitorId,omitempty"`
	Name       string `json:"name"`
}

// Issue is a user the plan leaves alone, with the reason and, for
// conflicts, what an operator can do about it.
type Issue struct {
	UserName   string `json:"userName,omitempty"`
	ExternalID string `json:"externalId,omitempty"`
	VisitorID  string `json:"visitorId,omitempty"`
	Reason     string `json:"reason"`
	Fix        string `json:"fix,omitempty"`
}

// Summary counts the plan.
type Summary struct {
	SourceUsers     int `json:"sourceUsers"`
	SourceLocations int `json:"sourceLocations"`
	Managed         int `json:"managed"`
	Creates         int `json:"creates"`
	Adoptions       int `json:"adoptions,omitempty"`
	Updates         int `json:"updates"`
	Deletes         int `json:"deletes"`
	Deactivates     int `json:"deactivates"`
	LocationCreates int `json:"locationCreates"`
	Unchanged       int `json:"unchanged"`
	Held            int `json:"held"`
	Conflicts       int `json:"conflicts"`
	Skipped         int `json:"skipped"`
	AdminChanges    int `json:"adminChanges"`
	// HeldLocations are Condeco location rows held back (a broken row):
	// not created, and never read as closed.
	HeldLocations int `json:"heldLocations"`
	// DroppedValues are values dropped from exported rows (a phone number
	// that is not one); the users themselves are synced.
	DroppedValues int `json:"droppedValues"`
	// WithoutAllLocations counts existing users who hold fewer locations
	// than Visitor has and are not given the missing ones, because
	// grant_new_locations_to_existing_users is off (the integration's
	// rule: new locations go to new users; existing users get them by
	// hand).
	WithoutAllLocations int `json:"withoutAllLocations"`
	// LocationUpdates counts the Visitor locations renamed or adopted.
	LocationUpdates int `json:"locationUpdates,omitempty"`
	// ClosedLocations counts the Condeco locations marked closed.
	ClosedLocations int `json:"closedLocations,omitempty"`
	// OwedGrants counts the grants owed from earlier runs that a change
	// of this plan carries.
	OwedGrants int `json:"owedGrants,omitempty"`
}

// Plan is the whole set of changes one run would make. Every list is
// sorted so that the JSON form is stable.
type Plan struct {
	Initial bool `json:"initial"` // Visitor held no managed users
	// SendInvitations says whether users new since the first full sync get
	// an invitation; each create carries its own flag (Desired), false for
	// users of the first full sync under suppress-initial.
	SendInvitations bool             `json:"sendInvitations"`
	DefaultLocation string           `json:"defaultLocation"` // Visitor location id
	LocationCreates []LocationCreate `json:"locationCreates"`
	Creates         []UserChange     `json:"creates"`
	// Adoptions claim hand-made Visitor users (ActionAdopt).
	Adoptions   []UserChange `json:"adoptions,omitempty"`
	Updates     []UserChange `json:"updates"`
	Deletes     []UserChange `json:"deletes"`
	Deactivates []UserChange `json:"deactivates"`
	Unchanged   int          `json:"unchanged"`
	Held        []Issue      `json:"held"`
	Conflicts   []Issue      `json:"conflicts"`
	Skipped     []Issue      `json:"skipped"`
	// Warnings are what a person should look at although nothing is
	// wrong with the plan: an admin role kept because no grants record
	// says whether the sync granted it.
	Warnings []Issue `json:"warnings,omitempty"`
	Summary  Summary `json:"summary"`

	// LocationUpdates, ClosedLocations and OwedGrants are left out of
	// the JSON when empty, so plans without them read as before.
	LocationUpdates []LocationUpdate `json:"locationUpdates,omitempty"`
	ClosedLocations []ClosedLocation `json:"closedLocations,omitempty"`
	// OwedGrants are the grants still owed after this plan unless a
	// change carrying one (Key) succeeds; apply reports what remains.
	OwedGrants []OwedGrant `json:"owedGrants,omitempty"`
	// ByHand is the work left to a person in Visitor, for a target
	// without locations (generic-v1); nil otherwise.
	ByHand *ByHand `json:"byHand,omitempty"`
}

// Empty says whether applying the plan would write nothing.
func (p *Plan) Empty() bool {
	return len(p.LocationCreates)+len(p.LocationUpdates)+len(p.Creates)+len(p.Adoptions)+len(p.Updates)+len(p.Deletes)+len(p.Deactivates) == 0
}
