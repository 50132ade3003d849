package visitor

import (
	"strings"
	"unicode"
	"unicode/utf16"
)

// Visitor's rules on the values of a user, defined here once: the Condeco
// reader holds back a row that breaks one (naming the Condeco column), and
// CheckUser states them for a whole user. Where each comes from is in
// docs/visitor-scim.md ("Rules the server enforces").

// MaxLen is the longest string Eptura's SCIM servers accept. The published
// rule ("0-64 characters") is said of Latin, Chinese, Arabic and Japanese
// names alike, so it counts characters, not bytes: a byte limit would cut a
// Chinese name at 21 characters. A character outside the Basic
// Multilingual Plane (an emoji, a rare CJK ideograph) counts as two, as in
// SQL Server's NVARCHAR(64), the most likely column behind the limit: see
// TextLen.
const MaxLen = 64

// ForbiddenEmailChars are the characters Eptura's SCIM servers refuse in an
// email address, and so in a userName.
const ForbiddenEmailChars = `#%*()=[]|\";:<>,?/`

// Rule texts: what an operator reads next to the field that breaks the
// rule, in reports and plans.
const (
	RuleTooLong       = "is longer than 64 characters"
	RuleUnderscore    = "contains '_' (not allowed in names)"
	RuleForbiddenChar = "contains a forbidden email character"
	RuleNotEmail      = "is not an email address"
	RuleNotASCII      = "email must be ASCII"
	RuleNotE164       = "is not an E.164 phone number"
	RuleUserNameEmail = "userName differs from the primary work email"
)

// RuleError is one value of a user that breaks one of Visitor's rules.
type RuleError struct {
	Field Field
	Rule  string
}

func (e RuleError) Error() string { return string(e.Field) + ": " + e.Rule }

// CheckUser lists the rules u breaks, in field order. Visitor refuses such
// a user (400 invalidValue), except for a phone that is not E.164, which
// it drops without a word: sending one would fail the write's check
// against Visitor's answer on every run. externalId is the sync's own
// (prefix + source id) and not checked here.
func CheckUser(u User) []RuleError {
	var out []RuleError
	add := func(f Field, rule string) {
		if rule != "" {
			out = append(out, RuleError{Field: f, Rule: rule})
		}
	}
	add(FieldUserName, CheckString(u.UserName))
	add(FieldUserName, CheckEmail(u.UserName))
	if !strings.EqualFold(u.UserName, u.Email) {
		add(FieldUserName, RuleUserNameEmail)
	}
	for _, n := range []struct {
		f Field
		v string
	}{{FieldGivenName, u.GivenName}, {FieldFamilyName, u.FamilyName}} {
		add(n.f, CheckString(n.v))
		add(n.f, CheckName(n.v))
	}
	for _, p := range []struct {
		f Field
		v string
	}{{FieldPhone, u.Phone}, {FieldMobile, u.Mobile}} {
		if p.v != "" && !IsE164(p.v) {
			add(p.f, RuleNotE164)
		}
	}
	add(FieldLanguage, CheckString(u.Language))
	return out
}

// CheckString returns the rule s breaks as any string Visitor stores, or "".
func CheckString(s string) string {
	if TextLen(s) > MaxLen {
		return RuleTooLong
	}
	return ""
}

// TextLen counts s in UTF-16 code units: one per character, two for a
// character outside the Basic Multilingual Plane.
func TextLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// CheckName returns the rule s breaks as a given or family name beyond
// CheckString's, or "".
func CheckName(s string) string {
	if strings.Contains(s, "_") {
		return RuleUnderscore
	}
	return ""
}

// CheckEmail returns the rule s breaks as an email address (and so as a
// userName, which equals the primary work email) beyond CheckString's, or
// "". Besides Eptura's forbidden characters it asks for ASCII and the
// shape local@domain.tld: a lookalike letter or a bare "ana@corp" would
// make a userName nobody can type or mail.
func CheckEmail(s string) string {
	if strings.ContainsAny(s, ForbiddenEmailChars) {
		return RuleForbiddenChar
	}
	for _, r := range s {
		if r > unicode.MaxASCII {
			return RuleNotASCII
		}
	}
	if !IsEmailAddress(s) {
		return RuleNotEmail
	}
	return ""
}

// IsEmailAddress reports whether s has the shape local@domain.tld: one
// '@', something before it, a dotted domain after it, no white space.
func IsEmailAddress(s string) bool {
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && !strings.Contains(domain, "@") &&
		strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") &&
		!strings.HasSuffix(domain, ".") && !strings.Contains(domain, "..")
}

// IsE164 reports whether s is a phone number in E.164 form (ITU-T E.164:
// '+', a country code that does not start with 0, at most 15 digits in
// all), the only form in which Visitor keeps a phone.
func IsE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
