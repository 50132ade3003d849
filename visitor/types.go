// Package visitor talks SCIM 2.0 to Eptura Visitor. The rest of the program
// uses the plain types in this file; only this package knows the wire form
// (schema URNs, attribute paths), because how Visitor carries locations
// over SCIM is not public and must stay configurable in one place.
package visitor

import "time"

// Role is a user's role on one Visitor location.
type Role string

// The two roles this integration grants. Other Visitor roles (Reception,
// Security, …) may appear on users when granted by hand; they are kept.
const (
	RoleAdmin Role = "admin"
	RoleUser  Role = "user"
)

// Roles a superuser grants by hand (Visitor's Reception, Security,
// Assistants and Agents); the sync keeps them and never grants them.
const (
	RoleReception Role = "reception"
	RoleSecurity  Role = "security"
	RoleAssistant Role = "assistant"
	RoleAgent     Role = "agent"
)

// Access is a user's role on one location, by Visitor location id.
type Access struct {
	LocationID string `json:"locationId"`
	Role       Role   `json:"role"`
}

// User is a Visitor user as the sync sees it.
type User struct {
	ID              string    `json:"id,omitempty"` // server-assigned
	ExternalID      string    `json:"externalId,omitempty"`
	UserName        string    `json:"userName"` // equals Email
	Email           string    `json:"email"`
	GivenName       string    `json:"givenName"`
	FamilyName      string    `json:"familyName"`
	Phone           string    `json:"phone,omitempty"`
	Mobile          string    `json:"mobile,omitempty"`
	Language        string    `json:"language,omitempty"`
	Title           string    `json:"title,omitempty"` // a profile with Capabilities.Title
	City            string    `json:"city,omitempty"`  // addresses[primary].locality, a profile with Capabilities.City
	Active          bool      `json:"active"`
	DefaultLocation string    `json:"defaultLocation,omitempty"`
	Access          []Access  `json:"access,omitempty"`
	SendInvitation  bool      `json:"sendInvitation,omitempty"` // write-only, on create
	LastModified    time.Time `json:"lastModified,omitempty"`   // from meta, read-only
}

// Location is a Visitor location.
type Location struct {
	ID         string `json:"id,omitempty"` // server-assigned
	ExternalID string `json:"externalId,omitempty"`
	Name       string `json:"name"`
	CompanyID  string `json:"companyId,omitempty"` // CO-…, server-assigned
	Default    bool   `json:"default,omitempty"`   // the integration's primary location
}

// Field names one attribute of User that an update may change. The client
// turns each into a SCIM PATCH operation; the sync uses them to say what
// differs.
type Field string

// The fields the sync manages.
const (
	FieldUserName        Field = "userName" // also the primary work email
	FieldGivenName       Field = "givenName"
	FieldFamilyName      Field = "familyName"
	FieldPhone           Field = "phone"
	FieldMobile          Field = "mobile"
	FieldLanguage        Field = "language"
	FieldTitle           Field = "title"
	FieldCity            Field = "city" // addresses[primary].locality
	FieldActive          Field = "active"
	FieldDefaultLocation Field = "defaultLocation"
	FieldAccess          Field = "access"
	// FieldExternalID is sent only when adopting a Visitor user whose
	// externalId is empty (adopt_existing_users).
	FieldExternalID Field = "externalId"
)
