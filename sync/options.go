// Package sync turns a Condeco export into the users and locations Visitor
// should hold. Planning is a pure function of (desired, current, options)
// so that a dry run, a golden test and a real run all see the same plan;
// only Runner does I/O.
package sync

import (
	"fmt"
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

// Defaults, exported so config can document them and tests can use them.
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
	DefaultConcurrency              = 4
	DefaultVerifyWrites             = VerifyAnswer
)

// Values of VerifyWrites: how the sync checks that Visitor holds what a
// write sent.
const (
	// VerifyAnswer compares the user Visitor answers a write with (RFC
	// 7644 §3.3, §3.5: the resource as stored) with what was sent: no
	// request beyond the write.
	VerifyAnswer = "answer"
	// VerifyReread re-reads every written user after the writes, batched
	// (about 1 % more requests), for a server whose answers are not what
	// it stores.
	VerifyReread = "reread"
)

// Options is flat so the lead can fill it straight from configuration.
// Start from DefaultOptions: numeric limits are taken literally (0 means
// "none allowed"), while empty strings and a non-positive Concurrency or
// DeleteAfter fall back to the defaults, because an empty prefix would make
// every Visitor user look managed.
type Options struct {
	ExternalIDPrefix                 string   `json:"externalIdPrefix"`
	LocationExternalIDPrefix         string   `json:"locationExternalIdPrefix"`
	DefaultLocationID                string   `json:"defaultLocationId,omitempty"` // empty: the Visitor location with Default=true
	Invitations                      string   `json:"invitations"`
	GrantNewLocationsToExistingUsers bool     `json:"grantNewLocationsToExistingUsers"`
	LocationAdmins                   bool     `json:"locationAdmins"`
	AdoptExistingUsers               bool     `json:"adoptExistingUsers"`
	Deprovision                      string   `json:"deprovision"`
	DeleteAfter                      int      `json:"deleteAfter"` // days, for deactivate-then-delete
	Policy                           string   `json:"policy"`
	ProtectedUsers                   []string `json:"protectedUsers,omitempty"` // userNames or externalIds
	MaxDeletes                       int      `json:"maxDeletes"`
	MaxDeleteShare                   float64  `json:"maxDeleteShare"`
	MaxAdminChanges                  int      `json:"maxAdminChanges"`
	SourceMinShare                   float64  `json:"sourceMinShare"`
	Concurrency                      int      `json:"concurrency"`
	VerifyWrites                     string   `json:"verifyWrites"`
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
		Concurrency:              DefaultConcurrency,
		VerifyWrites:             DefaultVerifyWrites,
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
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.VerifyWrites == "" {
		o.VerifyWrites = DefaultVerifyWrites
	}
	return o
}

// Validate reports the first option with a value the sync does not know.
func (o Options) Validate() error {
	o = o.normalized()
	if err := oneOf("invitations", o.Invitations, InvitationsSend, InvitationsSuppress, InvitationsSuppressInitial); err != nil {
		return err
	}
	if err := oneOf("deprovision", o.Deprovision, DeprovisionDelete, DeprovisionDeactivate, DeprovisionDeactivateThenDelete); err != nil {
		return err
	}
	if err := oneOf("policy", o.Policy, PolicySync, PolicyUpsertOnly, PolicyCreateOnly); err != nil {
		return err
	}
	if err := oneOf("verify_writes", o.VerifyWrites, VerifyAnswer, VerifyReread); err != nil {
		return err
	}
	if o.MaxDeleteShare < 0 || o.MaxDeleteShare > 1 {
		return fmt.Errorf("option max_delete_share: %v is not between 0 and 1", o.MaxDeleteShare)
	}
	if o.SourceMinShare < 0 || o.SourceMinShare > 1 {
		return fmt.Errorf("option source_min_share: %v is not between 0 and 1", o.SourceMinShare)
	}
	if o.MaxDeletes < 0 || o.MaxAdminChanges < 0 {
		return fmt.Errorf("option max_deletes/max_admin_changes: must not be negative")
	}
	return nil
}

func oneOf(name, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("option %s: %q is not one of %s", name, v, strings.Join(allowed, ", "))
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
