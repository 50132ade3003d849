package condeco

import (
	"database/sql"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"condeco-visitor-sync/visitor"
)

// Fuzz tests for the row validator: whatever a Condeco row holds, it ends
// as a clean exported user or as per-field errors naming the row and the
// rule, never a panic and never a half-checked value. `go test` runs the
// starting corpus (here and in testdata/fuzz); docs/reliability.md records
// how long each was fuzzed.

// nullable makes a column value; null is the bit of mask for the column.
func nullable(s string, mask uint16, bit uint) sql.NullString {
	return sql.NullString{String: s, Valid: mask&(1<<bit) == 0}
}

var fuzzRules = Rules{GlobalAdminLevels: []int{1}, PhoneRegion: "GB"}

// userFields are the column names a users problem may name.
var userFields = map[string]bool{"id": true, "username": true, "email": true, "first_name": true, "last_name": true,
	"phone": true, "mobile": true, "language": true, "user_type": true, "location_id": true, "sso_id": true}

// FuzzValidateUserRow goes further than FuzzValidateUser in validate_test.go:
// every column, NULLs, all user types, the problem texts, and that an
// exported user validates again to itself.
func FuzzValidateUserRow(f *testing.F) {
	type start struct {
		id, username, email, first, last, phone, mobile, lang, loc, sso string
		access, utype                                                   int64
		nulls                                                           uint16
	}
	for _, s := range []start{
		{"42", "Ana.Silva@Example.com", "", "Ana", "Silva", "020 7946 0123", "+44 7911 123456", "en-GB", "101", "abc", 0, 1, 0},
		{"7", `CORP\asilva`, "ana@example.com", "Ana", "", "", "", "fr_fr", "", "", 1, 2, 0},
		{"8", "x", "", "", "", "", "", "", "", "", 0, 1, 0xffff},
		{"9", "visitor@example.com", "", "V", "", "", "", "", "", "", 0, 3, 0},
		{`7" or externalId pr or externalId eq "`, "quote@example.com", "", `O"Brien \ `, `Back\slash`, "", "", "", "", "", 0, 1, 0},
		{"10", "pаypal@example.com", "", "Cyrillic а", "", "", "", "", "", "", 0, 1, 0},
		{"11", "rtl@example.com", "", "\u200fعلي\u200f", "\u202eevil", "", "", "ar-AE", "", "", 0, 1, 0},
		{"12", "ctl@example.com", "", "a\x00b", "c\nd", "\x1b[31m", "", "", "", "", 0, 1, 0},
		{"13", strings.Repeat("a", 60) + "@example.com", "", strings.Repeat("é", 65), "x", "", "", "", "", "", 0, 1, 0},
		{"14", "bad\xff@example.com", "", "\xfe", "ok", "", "", "", "", "", 0, 1, 0},
		{"  15  ", " Trim@Example.COM ", "", " Jose\u0301 ", "Garci\u0301a", "+81 3-3210-0001", "not a phone", "zz-ZZ-x-y", "", "", 5, 99, 0},
		{"", "noid@example.com", "", "A", "B", "", "", "", "", "", 0, 1, 0},
		{"16", "a@b", "", "A", "", "", "", "", "", "", 0, 1, 0},
		{"17", "a@b.c#d", "", "A", "", "", "", "", "", "", 0, 1, 0},
		{"18", "user\u00a0name@example.com", "", "A", "", "", "", "", "", "", 0, 1, 0},
	} {
		f.Add(s.id, s.username, s.email, s.first, s.last, s.phone, s.mobile, s.lang, s.loc, s.sso, s.access, s.utype, s.nulls)
	}
	f.Fuzz(func(t *testing.T, id, username, email, first, last, phone, mobile, lang, loc, sso string, access, utype int64, nulls uint16) {
		raw := RawUser{
			ID: nullable(id, nulls, 0), UserName: nullable(username, nulls, 1), Email: nullable(email, nulls, 2),
			FirstName: nullable(first, nulls, 3), LastName: nullable(last, nulls, 4), Phone: nullable(phone, nulls, 5),
			Mobile: nullable(mobile, nulls, 6), Language: nullable(lang, nulls, 7),
			AccessLevel: sql.NullInt64{Int64: access, Valid: nulls&(1<<8) == 0},
			UserType:    sql.NullInt64{Int64: utype, Valid: nulls&(1<<9) == 0},
			LocationID:  nullable(loc, nulls, 10), SSOID: nullable(sso, nulls, 11),
		}
		c := ValidateUser(raw, fuzzRules)
		if again := ValidateUser(raw, fuzzRules); !reflect.DeepEqual(c, again) {
			t.Fatalf("not deterministic:\n%+v\n%+v", c, again)
		}
		if c.Skip {
			if !raw.UserType.Valid || UserType(raw.UserType.Int64) != TypeVisitor {
				t.Fatalf("skipped a row of user type %v", raw.UserType)
			}
			return
		}
		wantID := clean(raw.ID)
		if wantID == "" {
			wantID = "(no id)"
		}
		for _, p := range append(append([]RowError{}, c.Problems...), c.Warnings...) {
			if p.Table != "users" || p.RowID != wantID || !userFields[p.Field] || p.Rule == "" {
				t.Fatalf("problem does not name the row, field and rule: %+v", p)
			}
			if !strings.HasPrefix(p.Error(), "users row "+wantID+": field "+p.Field+": ") {
				t.Fatalf("problem text %q", p.Error())
			}
		}
		if len(c.Problems) > 0 {
			return
		}
		checkExported(t, c.User)
		// An exported user is a fixed point: validating it again keeps it.
		back := ValidateUser(RawUser{
			ID: ns2(c.User.ID), UserName: ns2(c.User.UserName), Email: ns2(c.User.Email),
			FirstName: ns2(c.User.FirstName), LastName: ns2(c.User.LastName), Phone: ns2(c.User.Phone),
			Mobile: ns2(c.User.Mobile), Language: ns2(c.User.Language), AccessLevel: raw.AccessLevel,
			UserType: raw.UserType, LocationID: ns2(c.User.LocationID), SSOID: ns2(c.User.SSOID),
		}, fuzzRules)
		if len(back.Problems) > 0 || !reflect.DeepEqual(back.User, c.User) {
			t.Fatalf("re-validating the exported user changed it:\n%+v\n%+v\n%v", c.User, back.User, back.Problems)
		}
	})
}

func ns2(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// checkExported is what every exported user guarantees to the sync.
func checkExported(t *testing.T, u User) {
	t.Helper()
	if u.ID == "" {
		t.Fatal("exported a user without an id")
	}
	for name, v := range map[string]string{"id": u.ID, "userName": u.UserName, "firstName": u.FirstName,
		"lastName": u.LastName, "phone": u.Phone, "mobile": u.Mobile, "language": u.Language,
		"locationId": u.LocationID, "ssoId": u.SSOID} {
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > visitor.MaxLen || !norm.NFC.IsNormalString(v) || strings.TrimSpace(v) != v {
			t.Fatalf("exported %s %q is not clean", name, v)
		}
		if strings.IndexFunc(v, unicode.IsControl) >= 0 {
			t.Fatalf("exported %s %q holds a control character", name, v)
		}
	}
	if u.Email != u.UserName || strings.ToLower(u.UserName) != u.UserName {
		t.Fatalf("userName %q / email %q", u.UserName, u.Email)
	}
	local, domain, ok := strings.Cut(u.UserName, "@")
	if !ok || local == "" || strings.Contains(domain, "@") || !strings.Contains(domain, ".") ||
		strings.ContainsAny(u.UserName, visitor.ForbiddenEmailChars) || strings.IndexFunc(u.UserName, func(r rune) bool {
		return r > unicode.MaxASCII || unicode.IsSpace(r)
	}) >= 0 {
		t.Fatalf("exported userName %q is not a plain email", u.UserName)
	}
	if u.FirstName == "" && u.LastName == "" {
		t.Fatal("exported a user with no name")
	}
	if strings.Contains(u.FirstName+u.LastName, "_") {
		t.Fatalf("exported name with '_': %q %q", u.FirstName, u.LastName)
	}
	for _, p := range []string{u.Phone, u.Mobile} {
		if p != "" && (p[0] != '+' || strings.Trim(p[1:], "0123456789") != "" || len(p) > 16) {
			t.Fatalf("exported phone %q is not E.164", p)
		}
	}
}

func FuzzValidateLocation(f *testing.F) {
	f.Add("101", "London Bridge", "United Kingdom", "London", uint8(0))
	f.Add("", "", "", "", uint8(0xff))
	f.Add("203", "أبوظبي Al Maryah Island\u200f", "", "", uint8(0))
	f.Add("199", strings.Repeat("x", 65), "a\tb", "\xff", uint8(0))
	f.Fuzz(func(t *testing.T, id, name, country, region string, nulls uint8) {
		raw := RawLocation{ID: nullable(id, uint16(nulls), 0), Name: nullable(name, uint16(nulls), 1),
			Country: nullable(country, uint16(nulls), 2), Region: nullable(region, uint16(nulls), 3)}
		l, probs := ValidateLocation(raw)
		wantID := clean(raw.ID)
		if wantID == "" {
			wantID = "(no id)"
		}
		for _, p := range probs {
			if p.Table != "locations" || p.RowID != wantID || p.Rule == "" ||
				(p.Field != "id" && p.Field != "name" && p.Field != "country" && p.Field != "region") {
				t.Fatalf("problem does not name the row, field and rule: %+v", p)
			}
		}
		if len(probs) > 0 {
			return
		}
		if l.ID == "" || l.Name == "" {
			t.Fatalf("exported a location without id or name: %+v", l)
		}
		for _, v := range []string{l.ID, l.Name, l.Country, l.Region} {
			if !utf8.ValidString(v) || utf8.RuneCountInString(v) > visitor.MaxLen || strings.IndexFunc(v, unicode.IsControl) >= 0 {
				t.Fatalf("exported location value %q is not clean", v)
			}
		}
	})
}
