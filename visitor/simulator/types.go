package simulator

import "time"

// User is how the simulator stores a Visitor user. It is the simulator's own
// type, deliberately not package visitor's, so the two sides of the wire
// contract are written independently.
type User struct {
	ID                string         `json:"id"`
	ExternalID        string         `json:"externalId,omitempty"`
	UserName          string         `json:"userName"`
	GivenName         string         `json:"givenName"`
	FamilyName        string         `json:"familyName"`
	Emails            []Email        `json:"emails"`
	PhoneNumbers      []Phone        `json:"phoneNumbers,omitempty"`
	PreferredLanguage string         `json:"preferredLanguage,omitempty"`
	Title             string         `json:"title,omitempty"`
	Active            bool           `json:"active"`
	DefaultLocation   string         `json:"defaultLocation,omitempty"`
	Locations         []LocationRole `json:"locations,omitempty"`
	// ViaSCIM is false for users made in the Visitor UI (AddHandmadeUser):
	// they are hidden from unfiltered listings and cannot be deleted.
	ViaSCIM      bool      `json:"viaSCIM"`
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`

	// Formatted (name.formatted) and Addresses only generic-v1 stores:
	// Eptura's page documents them, docs/visitor-scim.md does not.
	Formatted string    `json:"formatted,omitempty"`
	Addresses []Address `json:"addresses,omitempty"`
}

// Email is one entry of emails.
type Email struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

// Phone is one entry of phoneNumbers; only E.164 values are kept.
type Phone struct {
	Value string `json:"value"`
	Type  string `json:"type,omitempty"`
}

// Address is one entry of a generic-v1 user's addresses: Eptura's page
// documents only locality and primary.
type Address struct {
	Locality string `json:"locality"`
	Primary  bool   `json:"primary,omitempty"`
}

// LocationRole is a user's role on one location.
type LocationRole struct {
	Value string `json:"value"`
	Role  string `json:"role"`
}

// Location is a Visitor location.
type Location struct {
	ID           string    `json:"id"`
	ExternalID   string    `json:"externalId,omitempty"`
	Name         string    `json:"name"`
	CompanyID    string    `json:"companyId"`
	Default      bool      `json:"default"`
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`
}

// Invitation is a recorded "Join your team on Eptura Visitor" email.
type Invitation struct {
	To      string    `json:"to"`
	UserID  string    `json:"userId"`
	Subject string    `json:"subject"`
	SentAt  time.Time `json:"sentAt"`
}

// InvitationSubject is the subject of every invitation email.
const InvitationSubject = "Join your team on Eptura Visitor"

func (u User) clone() User {
	u.Emails = append([]Email(nil), u.Emails...)
	u.PhoneNumbers = append([]Phone(nil), u.PhoneNumbers...)
	u.Addresses = append([]Address(nil), u.Addresses...)
	u.Locations = append([]LocationRole(nil), u.Locations...)
	return u
}

// primaryWorkEmail is the email userName must equal: the primary one of type
// work, else the first of type work.
func (u User) primaryWorkEmail() (int, bool) {
	first := -1
	for i, e := range u.Emails {
		if e.Type != "work" {
			continue
		}
		if e.Primary {
			return i, true
		}
		if first < 0 {
			first = i
		}
	}
	return first, first >= 0
}

func (u User) isAdmin() bool {
	if !u.Active {
		return false
	}
	for _, l := range u.Locations {
		if l.Role == "admin" {
			return true
		}
	}
	return false
}
