// Package plan turns a Condeco export into the users and locations Visitor
// should hold. Planning is a pure function of (desired, current, options)
// so that a dry run, a golden test and a real run all see the same plan;
// package apply carries a plan out, package runner does the I/O around it.
package plan

import (
	"fmt"
	"slices"
	"strings"
)

// Invitation modes.
const (
	InvitationsSend            = "send"
	InvitationsSuppress        = "suppress"
	InvitationsSuppressInitial = "suppress-initial"
)

// Deprovision modes for users who left Condeco.
const (
	DeprovisionDelete               = "delete"
	DeprovisionDeactivate           = "deactivate"
	DeprovisionDeactivateThenDelete = "deactivate-then-delete"
)

// Policies say which kinds of change a run may make.
const (
	PolicySync       = "sync"        // create, update, deactivate, delete
	PolicyUpsertOnly = "upsert-only" // create and update, never remove access
	PolicyCreateOnly = "create-only" // create only
)

// Defaults, exported because they are configuration's defaults too.
const (
	DefaultExternalIDPrefix         = "condeco:"
	DefaultLocationExternalIDPrefix = "condeco-location:"
	DefaultInvitations              = InvitationsSend
	DefaultDeprovision              = DeprovisionDelete
	DefaultDeleteAfter              = 30 // days
	DefaultPolicy                   = PolicySync
	DefaultMaxDeletes               = 50
	DefaultMaxDeleteShare           = 0.10
	DefaultMaxAdminChanges          = 10
	DefaultSourceMinShare           = 0.90
	DefaultTargetMinShare           = 0.90
	// DefaultAdoptExistingLocations: a Visitor location made by hand with
	// a Condeco location's name (the building) is claimed, since creating
	// another is refused (409) and would leave every new user without it.
	DefaultAdoptExistingLocations = true
)

// Allowed values, for configuration's checks and its documentation.
var (
	InvitationModes  = []string{InvitationsSend, InvitationsSuppress, InvitationsSuppressInitial}
	DeprovisionModes = []string{DeprovisionDelete, DeprovisionDeactivate, DeprovisionDeactivateThenDelete}
	Policies         = []string{PolicySync, PolicyUpsertOnly, PolicyCreateOnly}
)

// Options is flat so that it fills straight from configuration. Start from
// DefaultOptions: numeric limits are taken literally (0 means "none
// allowed"), while empty strings and a non-positive DeleteAfter fall back
// to the defaults, because an empty prefix would make every Visitor user
// look managed.
type Options struct {
	ExternalIDPrefix                 string   `json:"externalIdPrefix"`
	LocationExternalIDPrefix         string   `json:"locationExternalIdPrefix"`
	DefaultLocationID                string   `json:"defaultLocationId,omitempty"` // empty: the Visitor location with Default=true
	Invitations                      string   `json:"invitations"`
	GrantNewLocationsToExistingUsers bool     `json:"grantNewLocationsToExistingUsers"`
	LocationAdmins                   bool     `json:"locationAdmins"`
	AdoptExistingUsers               bool     `json:"adoptExistingUsers"`
	AdoptExistingLocations           bool     `json:"adoptExistingLocations"`
	Deprovision                      string   `json:"deprovision"`
	DeleteAfter                      int      `json:"deleteAfter"` // days, for deactivate-then-delete
	Policy                           string   `json:"policy"`
	ProtectedUsers                   []string `json:"protectedUsers,omitempty"` // userNames or externalIds
	// HandLocation names the Visitor location the integration is
	// installed in, for the by-hand list of a target without locations
	// (visitor_location_name); IntegrationLocations the locations that
	// visitor_integrations serve directly.
	HandLocation         string   `json:"handLocation,omitempty"`
	IntegrationLocations []string `json:"integrationLocations,omitempty"`
	MaxDeletes           int      `json:"maxDeletes"`
	MaxDeleteShare       float64  `json:"maxDeleteShare"`
	MaxAdminChanges      int      `json:"maxAdminChanges"`
	SourceMinShare       float64  `json:"sourceMinShare"`
	TargetMinShare       float64  `json:"targetMinShare"`
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{
		ExternalIDPrefix:         DefaultExternalIDPrefix,
		LocationExternalIDPrefix: DefaultLocationExternalIDPrefix,
		Invitations:              DefaultInvitations,
		Deprovision:              DefaultDeprovision,
		DeleteAfter:              DefaultDeleteAfter,
		Policy:                   DefaultPolicy,
		MaxDeletes:               DefaultMaxDeletes,
		MaxDeleteShare:           DefaultMaxDeleteShare,
		MaxAdminChanges:          DefaultMaxAdminChanges,
		SourceMinShare:           DefaultSourceMinShare,
		TargetMinShare:           DefaultTargetMinShare,
		AdoptExistingLocations:   DefaultAdoptExistingLocations,
	}
}

// normalized fills empty strings and non-positive counts that have no safe
// literal meaning.
func (o Options) normalized() Options {
	if o.ExternalIDPrefix == "" {
		o.ExternalIDPrefix = DefaultExternalIDPrefix
	}
	if o.LocationExternalIDPrefix == "" {
		o.LocationExternalIDPrefix = DefaultLocationExternalIDPrefix
	}
	if o.Invitations == "" {
		o.Invitations = DefaultInvitations
	}
	if o.Deprovision == "" {
		o.Deprovision = DefaultDeprovision
	}
	if o.DeleteAfter <= 0 {
		o.DeleteAfter = DefaultDeleteAfter
	}
	if o.Policy == "" {
		o.Policy = DefaultPolicy
	}
	return o
}

// Validate reports the first option with a value the sync does not know.
func (o Options) Validate() error {
	o = o.normalized()
	if err := OneOf("invitations", o.Invitations, InvitationModes...); err != nil {
		return err
	}
	if err := OneOf("deprovision", o.Deprovision, DeprovisionModes...); err != nil {
		return err
	}
	if err := OneOf("policy", o.Policy, Policies...); err != nil {
		return err
	}
	// Written so that NaN fails too: it compares false with everything.
	for name, v := range map[string]float64{"max_delete_share": o.MaxDeleteShare, "source_min_share": o.SourceMinShare, "target_min_share": o.TargetMinShare} {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("option %s: %v is not between 0 and 1", name, v)
		}
	}
	if o.MaxDeletes < 0 || o.MaxAdminChanges < 0 {
		return fmt.Errorf("option max_deletes/max_admin_changes: must not be negative")
	}
	return nil
}

// OneOf is the one check of an enumerated setting, shared with config so
// that both word the refusal alike.
func OneOf(name, v string, allowed ...string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("%s: %q is not one of %s", name, v, strings.Join(allowed, ", "))
}

// IsProtected says whether a userName or externalId is in protected_users.
func (o Options) IsProtected(name string) bool {
	return o.protectedSet()[strings.ToLower(strings.TrimSpace(name))]
}

// protectedSet lower-cases the protected names so matching ignores case,
// as Visitor's userName uniqueness does.
func (o Options) protectedSet() map[string]bool {
	m := make(map[string]bool, len(o.ProtectedUsers))
	for _, p := range o.ProtectedUsers {
		if p = strings.TrimSpace(p); p != "" {
			m[strings.ToLower(p)] = true
		}
	}
	return m
}
