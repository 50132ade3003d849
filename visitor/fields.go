package visitor

import (
	"fmt"
	"strings"
)

// FieldOrder is the order fields are compared, shown and verified in.
var FieldOrder = []Field{
	FieldUserName, FieldGivenName, FieldFamilyName, FieldPhone,
	FieldMobile, FieldLanguage, FieldTitle, FieldCity, FieldActive,
	FieldDefaultLocation, FieldAccess,
}

// FieldValue renders one field as text, for diffs, display and
// verification.
func FieldValue(u User, f Field) string {
	switch f {
	case FieldUserName:
		return u.UserName
	case FieldGivenName:
		return u.GivenName
	case FieldFamilyName:
		return u.FamilyName
	case FieldPhone:
		return u.Phone
	case FieldMobile:
		return u.Mobile
	case FieldLanguage:
		return u.Language
	case FieldTitle:
		return u.Title
	case FieldCity:
		return u.City
	case FieldActive:
		return fmt.Sprint(u.Active)
	case FieldDefaultLocation:
		return u.DefaultLocation
	case FieldAccess:
		return AccessString(u.Access)
	case FieldExternalID:
		return u.ExternalID
	}
	return ""
}

// FieldEqual compares one field the way Visitor does: userName
// case-insensitively (its uniqueness ignores case), access lists as sets.
func FieldEqual(a, b User, f Field) bool {
	switch f {
	case FieldUserName:
		return strings.EqualFold(a.UserName, b.UserName)
	case FieldAccess:
		return AccessEqual(a.Access, b.Access) // without rendering two long lists as text
	case FieldPhone, FieldMobile:
		return SamePhone(FieldValue(a, f), FieldValue(b, f))
	}
	return FieldValue(a, f) == FieldValue(b, f)
}

// SamePhone compares two phone numbers as RFC 3966 has them: a server may
// store "+442071234567" as "tel:+44-20-7123-4567" (RFC 7643 §4.1.2 says
// SHOULD), and reading that as a change would rewrite it on every run.
func SamePhone(a, b string) bool { return phoneKey(a) == phoneKey(b) }

// phoneKey drops a tel: scheme and the visual separators of RFC 3966
// §3 (- . ( ) and, as written by hand, spaces).
func phoneKey(v string) string {
	if len(v) >= 4 && strings.EqualFold(v[:4], "tel:") {
		v = v[4:]
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '.', '(', ')', ' ':
			return -1
		}
		return r
	}, v)
}
