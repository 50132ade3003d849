package condeco

import (
	"database/sql"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"condeco-visitor-sync/visitor"
)

// Rule texts of the source's own rules: what a row must hold to be read
// at all. Visitor's rules (lengths, characters, email shape, E.164) are
// the visitor package's (visitor.CheckString and the rest); the reader
// applies them here rather than leaving them to the planner because only
// here are the row id and the Condeco column known ("users row 902: field
// email: ..."), and a row that breaks one must be held before the
// duplicate check, as every held row is.
const (
	RuleRequired        = "is required"
	RuleControlChar     = "contains a control character"
	RuleBadUTF8         = "is not valid UTF-8"
	RuleNoEmail         = "username is not an email address and email is empty"
	RuleNoName          = "first and last name are both empty"
	RuleUserType        = "unknown user type"
	RulePhoneDropped    = "not a valid phone number; dropped"
	RuleLanguageDropped = "not a valid language tag; dropped"
	// RuleOptionalDropped: an optional value only one profile sends (a
	// title, a city) that breaks a text rule is dropped with a warning
	// rather than holding the whole row: it must never keep a person out.
	RuleOptionalDropped = "breaks a text rule; dropped"
	RuleDuplicateName   = "userName collides case-insensitively with another user"
	RuleDuplicateID     = "id appears on more than one row"
	RuleActive          = "is not 1/true (active), 0/false (deactivated) or NULL (active)"
	RuleLocationActive  = "must be NULL (open), 1 or true (open), 0 or false (closed)"
)

// RawUser is one row of the users query, exactly as the database returned it.
type RawUser struct {
	ID          sql.NullString `db:"id"`
	UserName    sql.NullString `db:"username"`
	Email       sql.NullString `db:"email"`
	FirstName   sql.NullString `db:"first_name"`
	LastName    sql.NullString `db:"last_name"`
	Phone       sql.NullString `db:"phone"`
	Mobile      sql.NullString `db:"mobile"`
	Language    sql.NullString `db:"language"`
	AccessLevel sql.NullInt64  `db:"access_level"`
	UserType    sql.NullInt64  `db:"user_type"`
	LocationID  sql.NullString `db:"location_id"`
	SSOID       sql.NullString `db:"sso_id"`
	// Active is the optional active column (ActiveColumn): NULL, or
	// absent from the query, is active. Read as text so that a bit, an
	// integer and a word all arrive, and a value that is none of the
	// known ones holds the row rather than guessing its state.
	Active sql.NullString `db:"active"`
	// Title is optional: a users query may leave the column out.
	Title sql.NullString `db:"title"`
}

// RawLocation is one row of the locations query.
type RawLocation struct {
	ID      sql.NullString `db:"id"`
	Name    sql.NullString `db:"name"`
	Country sql.NullString `db:"country"`
	Region  sql.NullString `db:"region"`
	// Active is the optional active column: NULL or absent is open, 0 or
	// false closed (read as text, so a bit, an integer and a string all
	// arrive the same way).
	Active sql.NullString `db:"active"`
	// City is optional: a locations query may leave the column out.
	City sql.NullString `db:"city"`
}

// Rules are the configurable parts of validation.
type Rules struct {
	GlobalAdminLevels []int
	// PhoneRegion is the ISO 3166 region assumed for numbers written
	// without a country code; empty accepts only international numbers.
	PhoneRegion string
}

// Checked is the verdict on one user row.
type Checked struct {
	User User
	// Skip is true for rows that are not for Visitor at all (visitors).
	// They are neither exported nor held.
	Skip bool
	// Problems, when not empty, mean the row must not be exported and
	// its user must be held.
	Problems []RowError
	// Warnings are fixes made on the way (a dropped phone number); the
	// user is still exported.
	Warnings []RowError
	// Names are the lower-cased identities the row claims (username if it
	// looks like an email, and email), so that a held row can still
	// protect a Visitor account that carries one of them.
	Names []string
}

// ValidateUser validates and normalises one users row. It is pure so it can
// be table-tested and fuzzed.
func ValidateUser(raw RawUser, r Rules) Checked { return validateUser(raw, r, nil) }

// validateUser is ValidateUser with answers remembered in rc (nil: none),
// which gives the same result.
func validateUser(raw RawUser, r Rules, rc *rowCache) Checked {
	var c Checked
	id := clean(raw.ID)
	if id == "" {
		id = "(no id)"
	}
	bad := func(field, rule string) {
		c.Problems = append(c.Problems, RowError{Table: "users", RowID: id, Field: field, Rule: rule})
	}
	warn := func(field, rule, value string) {
		c.Warnings = append(c.Warnings, RowError{Table: "users", RowID: id, Field: field, Rule: rule, Value: value})
	}
	text := func(field string, v sql.NullString) string {
		s := clean(v)
		if rule := checkText(s); rule != "" {
			bad(field, rule)
		}
		return s
	}

	u := User{}
	u.ID = text("id", raw.ID)
	if u.ID == "" {
		bad("id", RuleRequired)
	}
	switch t := UserType(raw.UserType.Int64); {
	case !raw.UserType.Valid || t == TypeEmployee:
	case t == TypeVendor:
		u.Vendor = true
	case t == TypeVisitor:
		return Checked{Skip: true}
	default:
		bad("user_type", fmt.Sprintf("%s %d", RuleUserType, t))
	}

	username := text("username", raw.UserName)
	email := text("email", raw.Email)
	if username != "" && strings.Contains(username, "@") {
		c.Names = append(c.Names, strings.ToLower(username))
	}
	if email != "" {
		c.Names = appendNew(c.Names, strings.ToLower(email))
	}
	// The userName is the username when it is an email address (the shape
	// local@domain.tld), otherwise the email. Visitor's email rules are
	// then applied to whichever value was chosen, so a username that is an
	// address with a forbidden character is reported rather than quietly
	// replaced. Visitor wants userName = primary work email.
	switch {
	case visitor.IsEmailAddress(username):
		if rule := visitor.CheckEmail(username); rule != "" {
			bad("username", rule)
		}
		u.UserName = strings.ToLower(username)
	case email == "":
		bad("email", RuleNoEmail)
	default:
		if rule := visitor.CheckEmail(email); rule != "" {
			bad("email", rule)
		}
		u.UserName = strings.ToLower(email)
	}
	u.Email = u.UserName

	u.FirstName = rc.intern(text("first_name", raw.FirstName))
	u.LastName = rc.intern(text("last_name", raw.LastName))
	if rule := visitor.CheckName(u.FirstName); rule != "" {
		bad("first_name", rule)
	}
	if rule := visitor.CheckName(u.LastName); rule != "" {
		bad("last_name", rule)
	}
	if u.FirstName == "" && u.LastName == "" {
		bad("first_name", RuleNoName)
	}

	phone := func(field string, v sql.NullString) string {
		s := text(field, v)
		if s == "" || checkText(s) != "" {
			return ""
		}
		// Visitor keeps a phone only as E.164 and drops any other form
		// silently; libphonenumber formats some valid numbers of more
		// than 15 digits (DE, JP, ID...), which E.164 does not allow.
		e, ok := rc.e164(s, r.PhoneRegion)
		if !ok || !visitor.IsE164(e) {
			warn(field, RulePhoneDropped, s)
			return ""
		}
		return e
	}
	u.Phone = phone("phone", raw.Phone)
	u.Mobile = phone("mobile", raw.Mobile)

	if lang := text("language", raw.Language); lang != "" && checkText(lang) == "" {
		if tag, ok := rc.language(lang); ok {
			u.Language = tag
		} else {
			warn("language", RuleLanguageDropped, lang)
		}
	}

	u.AccessLevel = AccessLevel(raw.AccessLevel.Int64)
	for _, l := range r.GlobalAdminLevels {
		if raw.AccessLevel.Valid && int64(l) == raw.AccessLevel.Int64 {
			u.GlobalAdmin = true
		}
	}
	u.LocationID = rc.intern(text("location_id", raw.LocationID))
	u.SSOID = text("sso_id", raw.SSOID)
	if t := clean(raw.Title); t != "" {
		if rule := checkText(t); rule != "" {
			warn("title", RuleOptionalDropped+" ("+rule+")", t)
			u.TitleDropped = true
		} else {
			u.Title = rc.intern(t)
		}
	}

	active, ok := parseActive(raw.Active)
	if !ok {
		bad("active", RuleActive)
	}
	c.User = u
	if ok && !active {
		deactivated(&c)
	}
	return c
}

// parseActive reads the active column: NULL is active (a query may lack
// the column, or a schema may leave it unset), 1/true active, 0/false
// deactivated. Anything else is reported false in ok: the row is held,
// because reading an unknown value as either state could deactivate an
// employee or keep a leaver's access.
func parseActive(v sql.NullString) (active, ok bool) {
	if !v.Valid {
		return true, true
	}
	switch strings.ToLower(strings.TrimSpace(v.String)) {
	case "1", "true":
		return true, true
	case "0", "false":
		return false, true
	}
	return false, false
}

// deactivated turns the verdict on a valid deactivated row into "export
// it as deactivated": only its id matters (its Visitor account, if any,
// is deactivated and otherwise left as is), so problems in its other
// values neither hold it nor are reported; a row without a usable id is
// still held. A deactivated row claims no userName.
func deactivated(c *Checked) {
	for _, p := range c.Problems {
		if p.Field == "id" {
			return
		}
	}
	if len(c.Problems) > 0 {
		c.User = User{ID: c.User.ID}
	}
	c.User.Inactive = true
	c.Problems, c.Warnings, c.Names = nil, nil, nil
}

// ValidateLocation validates and normalises one locations row.
func ValidateLocation(raw RawLocation) (Location, []RowError) {
	var probs []RowError
	id := clean(raw.ID)
	if id == "" {
		id = "(no id)"
	}
	text := func(field string, v sql.NullString, required bool) string {
		s := clean(v)
		rule := checkText(s)
		if rule == "" && required && s == "" {
			rule = RuleRequired
		}
		if rule != "" {
			probs = append(probs, RowError{Table: "locations", RowID: id, Field: field, Rule: rule})
		}
		return s
	}
	l := Location{
		ID:      text("id", raw.ID, true),
		Name:    text("name", raw.Name, true),
		Country: text("country", raw.Country, false),
		Region:  text("region", raw.Region, false),
	}
	if c := clean(raw.City); c != "" {
		if rule := checkText(c); rule != "" {
			l.cityDropped = rule
		} else {
			l.City = c
		}
	}
	if raw.Active.Valid {
		switch strings.ToLower(strings.TrimSpace(raw.Active.String)) {
		case "1", "true":
		case "0", "false":
			l.Closed = true
		default:
			// Guessing would either close a building or give a closed one
			// to new users: the row is held until Condeco says.
			probs = append(probs, RowError{Table: "locations", RowID: id, Field: "active", Rule: RuleLocationActive})
		}
	}
	return l, probs
}

// clean trims and NFC-normalises, so that the same name typed on two
// keyboards compares equal.
func clean(v sql.NullString) string {
	if !v.Valid {
		return ""
	}
	if !utf8.ValidString(v.String) {
		return v.String // checkText reports it
	}
	return norm.NFC.String(strings.TrimSpace(v.String))
}

// checkText returns the rule s breaks, or "": first the source's own
// (text at all: valid UTF-8, no control characters), then Visitor's rule
// for any string.
func checkText(s string) string {
	if !utf8.ValidString(s) {
		return RuleBadUTF8
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return RuleControlChar
		}
	}
	return visitor.CheckString(s)
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
