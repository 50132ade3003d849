// Package condeco reads the desired state (users and locations) out of a
// Condeco SQL database. It validates and normalises every row as it streams
// in, so that the rest of the program only ever sees clean records, and it
// remembers the ids of rows it had to skip so that a bad row is never read
// as "this person has left".
package condeco

// AccessLevel is Condeco's administrator level for a user. The numeric
// values are those of the assumed default schema (docs/condeco-schema.md);
// which values count as Global admin is configuration.
type AccessLevel int

// Access levels of the assumed default schema, highest first.
const (
	LevelUser          AccessLevel = 0
	LevelGlobalAdmin   AccessLevel = 1
	LevelCountryAdmin  AccessLevel = 2
	LevelLocationAdmin AccessLevel = 3
	LevelGroupAdmin    AccessLevel = 4
	LevelVideoAdmin    AccessLevel = 5
)

// UserType tells employees, vendors and visitors apart. Visitors are never
// exported.
type UserType int

// User types of the assumed default schema.
const (
	TypeEmployee UserType = 1
	TypeVendor   UserType = 2
	TypeVisitor  UserType = 3
)

// User is one validated, normalised Condeco user that should exist in
// Visitor.
type User struct {
	ID          string      `json:"id"`       // Condeco user id; the stable identity
	UserName    string      `json:"userName"` // Visitor userName: username if it is an email, else email (lower-cased)
	Email       string      `json:"email"`    // same as UserName (Visitor requires it)
	FirstName   string      `json:"firstName"`
	LastName    string      `json:"lastName"`
	Phone       string      `json:"phone,omitempty"`  // E.164 or empty
	Mobile      string      `json:"mobile,omitempty"` // E.164 or empty
	Language    string      `json:"language,omitempty"`
	AccessLevel AccessLevel `json:"accessLevel"`
	GlobalAdmin bool        `json:"globalAdmin"` // AccessLevel is one of the configured Global admin levels
	Vendor      bool        `json:"vendor,omitempty"`
	LocationID  string      `json:"locationId,omitempty"` // Condeco default location id
	SSOID       string      `json:"ssoId,omitempty"`
	// Inactive is a row deactivated in Condeco (its active column is 0 or
	// false): its Visitor account is deactivated, not deleted, and it
	// claims no userName (a rehire under a new id may take it). Only its
	// ID is relied on: a problem in its other values neither holds it nor
	// is reported, and such a row is exported with its ID alone.
	Inactive bool   `json:"inactive,omitempty"`
	Title    string `json:"title,omitempty"` // optional column of the users query
	// TitleDropped: the row's title broke a text rule and was dropped
	// with a warning; the planner leaves the Visitor title as it is.
	TitleDropped bool `json:"titleDropped,omitempty"`
}

// Location is one Condeco location (building).
type Location struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Country string `json:"country,omitempty"`
	Region  string `json:"region,omitempty"`
	// Closed is set by the locations query's optional active column
	// (0/false): the location is given to no one new, and never renamed
	// or deleted in Visitor.
	Closed bool   `json:"closed,omitempty"`
	City   string `json:"city,omitempty"` // optional column of the locations query
	// cityDropped is the text rule a city broke (the value is dropped and
	// the export warns; the location itself is kept); CityDropped says so
	// to the planner, which then leaves the Visitor value as it is.
	cityDropped string
	CityDropped bool `json:"cityDropped,omitempty"`
}

// RowError says why one source row was not exported. It names the row,
// the field and the rule, never a secret.
type RowError struct {
	Table string `json:"table"` // "users" or "locations"
	RowID string `json:"rowId"`
	Field string `json:"field"`
	Rule  string `json:"rule"`
	// Value is the value dropped, on a warning: the operator fixes it in
	// Condeco by finding it. Empty on a held row (whose values may be
	// what broke it: control characters, invalid UTF-8).
	Value string `json:"value,omitempty"`
}

func (e RowError) Error() string {
	return e.Table + " row " + e.RowID + ": field " + e.Field + ": " + e.Rule
}

// Export is one consistent read of the source.
type Export struct {
	Users     []User     `json:"users"`
	Locations []Location `json:"locations"`
	// Held lists the ids of source users that were not exported
	// because their row broke a rule or collided with another. Their
	// Visitor accounts must be left exactly as they are.
	Held []string `json:"held"`
	// Problems has one entry per skipped row, users and locations.
	Problems []RowError `json:"problems"`
	// RowsRead counts the rows the queries returned, before validation;
	// UserRows and LocationRows split it by query.
	RowsRead     int `json:"rowsRead"`
	UserRows     int `json:"userRows"`
	LocationRows int `json:"locationRows"`
	// HeldUserNames are the lower-cased userName/email values claimed by
	// held rows, for matching Visitor accounts by name when a held row
	// has no usable id.
	HeldUserNames []string `json:"heldUserNames"`
	// HeldNameRows maps each of HeldUserNames to the ids of the held rows
	// that claim it (none for a row without a usable id), so that a person
	// looked up by email finds the row and the rule that held it. Not in
	// the JSON form: it repeats HeldUserNames for --explain.
	HeldNameRows map[string][]string `json:"-"`
	// HeldLocations lists the ids of location rows that were not exported
	// because they broke a rule; like Held, never read them as gone.
	HeldLocations []string `json:"heldLocations"`
	// Warnings are values dropped from exported rows (an unparseable
	// phone number); the row itself was exported.
	Warnings []RowError `json:"warnings"`
	// TitleRead and CityRead say the users query returned the optional
	// title column and the locations query the city column: only then are
	// those values the sync's to manage (a query without them must not
	// clear what Visitor holds).
	TitleRead bool `json:"titleRead,omitempty"`
	CityRead  bool `json:"cityRead,omitempty"`
}
