package condeco

import (
	"database/sql"
	"strings"
	"testing"
	"unicode/utf8"

	"condeco-visitor-sync/visitor"
)

func ns(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }

func ni(i int64) sql.NullInt64 { return sql.NullInt64{Int64: i, Valid: true} }

func goodRaw() RawUser {
	return RawUser{
		ID: ns("42"), UserName: ns("Ana.Silva@Example.com"), Email: ns("ana.silva@example.com"),
		FirstName: ns("Ana"), LastName: ns("Silva"), Phone: ns("020 7946 0123"), Mobile: ns("+44 7911 123456"),
		Language: ns("en-GB"), AccessLevel: ni(0), UserType: ni(1), LocationID: ns("101"), SSOID: ns("abc"),
	}
}

var rules = Rules{GlobalAdminLevels: []int{1}, PhoneRegion: "GB"}

func TestValidateUserRules(t *testing.T) {
	long := strings.Repeat("a", 65)
	cases := []struct {
		name      string
		edit      func(*RawUser)
		field     string // the one problem expected; "" = exported
		rule      string
		wantCheck func(User) bool
	}{
		{name: "good row", edit: func(*RawUser) {}, wantCheck: func(u User) bool {
			return u.UserName == "ana.silva@example.com" && u.Email == u.UserName && u.Phone == "+442079460123" &&
				u.Mobile == "+447911123456" && !u.GlobalAdmin && !u.Vendor
		}},
		{name: "username not an email uses email", edit: func(r *RawUser) { r.UserName = ns(`CORP\asilva`); r.Email = ns("Ana.S@Example.com") },
			wantCheck: func(u User) bool { return u.UserName == "ana.s@example.com" }},
		{name: "username email wins over email column", edit: func(r *RawUser) { r.Email = ns("other@example.com") },
			wantCheck: func(u User) bool { return u.UserName == "ana.silva@example.com" }},
		{name: "trim and NFC", edit: func(r *RawUser) { r.FirstName = ns("  Jose\u0301 ") },
			wantCheck: func(u User) bool { return u.FirstName == "José" && utf8.RuneCountInString(u.FirstName) == 4 }},
		{name: "global admin level", edit: func(r *RawUser) { r.AccessLevel = ni(1) },
			wantCheck: func(u User) bool { return u.GlobalAdmin && u.AccessLevel == LevelGlobalAdmin }},
		{name: "country admin is not global", edit: func(r *RawUser) { r.AccessLevel = ni(2) },
			wantCheck: func(u User) bool { return !u.GlobalAdmin && u.AccessLevel == LevelCountryAdmin }},
		{name: "vendor", edit: func(r *RawUser) { r.UserType = ni(2) }, wantCheck: func(u User) bool { return u.Vendor }},
		{name: "null user type is employee", edit: func(r *RawUser) { r.UserType = sql.NullInt64{} }, wantCheck: func(u User) bool { return !u.Vendor }},
		{name: "language normalised", edit: func(r *RawUser) { r.Language = ns("fr_fr") }, wantCheck: func(u User) bool { return u.Language == "fr-FR" }},
		{name: "null optional fields", edit: func(r *RawUser) {
			r.Phone, r.Mobile, r.Language, r.LocationID, r.SSOID = sql.NullString{}, sql.NullString{}, sql.NullString{}, sql.NullString{}, sql.NullString{}
		}, wantCheck: func(u User) bool { return u.Phone == "" && u.SSOID == "" }},
		{name: "one name is enough", edit: func(r *RawUser) { r.LastName = sql.NullString{} }, wantCheck: func(u User) bool { return u.FirstName == "Ana" }},
		{name: "exactly 64 characters allowed", edit: func(r *RawUser) { r.LastName = ns(strings.Repeat("é", 64)) },
			wantCheck: func(u User) bool { return utf8.RuneCountInString(u.LastName) == 64 }},
		{name: "hyphen period comma digits in names", edit: func(r *RawUser) { r.LastName = ns("Smith-Jones, Jr. 3") },
			wantCheck: func(u User) bool { return u.LastName == "Smith-Jones, Jr. 3" }},
		{name: "64 Chinese characters allowed (characters, not bytes)", edit: func(r *RawUser) { r.FirstName = ns(strings.Repeat("名", 64)) },
			wantCheck: func(u User) bool { return len(u.FirstName) == 192 }},
		{name: "64 characters after NFC of 128 code points allowed", edit: func(r *RawUser) { r.LastName = ns(strings.Repeat("é", 64)) },
			wantCheck: func(u User) bool { return u.LastName == strings.Repeat("é", 64) }},
		{name: "32 emoji are 64 units, allowed", edit: func(r *RawUser) { r.LastName = ns(strings.Repeat("😀", 32)) },
			wantCheck: func(u User) bool { return utf8.RuneCountInString(u.LastName) == 32 }},
		{name: "Arabic name with trailing space", edit: func(r *RawUser) { r.FirstName = ns("محمد "); r.LastName = ns("العلي") },
			wantCheck: func(u User) bool { return u.FirstName == "محمد" && u.LastName == "العلي" }},
		{name: "Japanese name", edit: func(r *RawUser) { r.FirstName = ns("花子"); r.LastName = ns("鈴木") },
			wantCheck: func(u User) bool { return u.FirstName == "花子" }},
		{name: "username with @ but not an address uses email", edit: func(r *RawUser) { r.UserName = ns("ana@corp"); r.Email = ns("Ana.Silva@Example.com") },
			wantCheck: func(u User) bool { return u.UserName == "ana.silva@example.com" }},
		{name: "username with two @ uses email", edit: func(r *RawUser) { r.UserName = ns("a@b@example.com") },
			wantCheck: func(u User) bool { return u.UserName == "ana.silva@example.com" }},
		{name: "email username with empty email column", edit: func(r *RawUser) { r.Email = ns("") },
			wantCheck: func(u User) bool { return u.UserName == "ana.silva@example.com" && u.Email == u.UserName }},
		{name: "email username with null email column", edit: func(r *RawUser) { r.Email = sql.NullString{} },
			wantCheck: func(u User) bool { return u.UserName == "ana.silva@example.com" }},
		{name: "email trimmed before use", edit: func(r *RawUser) { r.UserName = ns("asilva"); r.Email = ns("  Ana.S@Example.com ") },
			wantCheck: func(u User) bool { return u.UserName == "ana.s@example.com" }},
		{name: "vendor with Chinese name", edit: func(r *RawUser) { r.UserType = ni(2); r.FirstName = ns("静"); r.LastName = ns("王") },
			wantCheck: func(u User) bool { return u.Vendor && u.FirstName == "静" }},

		{name: "underscore in first name", edit: func(r *RawUser) { r.FirstName = ns("Ana_Maria") }, field: "first_name", rule: visitor.RuleUnderscore},
		{name: "underscore in last name", edit: func(r *RawUser) { r.LastName = ns("Sil_va") }, field: "last_name", rule: visitor.RuleUnderscore},
		{name: "first name too long", edit: func(r *RawUser) { r.FirstName = ns(long) }, field: "first_name", rule: visitor.RuleTooLong},
		{name: "email too long", edit: func(r *RawUser) { r.UserName = ns(strings.Repeat("a", 60) + "@example.com") }, field: "username", rule: visitor.RuleTooLong},
		{name: "sso id too long", edit: func(r *RawUser) { r.SSOID = ns(long) }, field: "sso_id", rule: visitor.RuleTooLong},
		{name: "control character", edit: func(r *RawUser) { r.LastName = ns("Sil\x00va") }, field: "last_name", rule: RuleControlChar},
		{name: "control character in phone is an error", edit: func(r *RawUser) { r.Phone = ns("020\x07 7946") }, field: "phone", rule: RuleControlChar},
		{name: "invalid utf-8", edit: func(r *RawUser) { r.FirstName = ns("An\xffa") }, field: "first_name", rule: RuleBadUTF8},
		{name: "empty email and non-email username", edit: func(r *RawUser) { r.UserName = ns("asilva"); r.Email = ns("  ") }, field: "email", rule: RuleNoEmail},
		{name: "null email and non-email username", edit: func(r *RawUser) { r.UserName = ns("asilva"); r.Email = sql.NullString{} }, field: "email", rule: RuleNoEmail},
		{name: "no id", edit: func(r *RawUser) { r.ID = sql.NullString{} }, field: "id", rule: RuleRequired},
		{name: "no names", edit: func(r *RawUser) { r.FirstName = ns(" "); r.LastName = sql.NullString{} }, field: "first_name", rule: RuleNoName},
		{name: "unknown user type", edit: func(r *RawUser) { r.UserType = ni(7) }, field: "user_type", rule: RuleUserType + " 7"},
		{name: "email without domain dot", edit: func(r *RawUser) { r.UserName = ns("asilva"); r.Email = ns("ana@localhost") }, field: "email", rule: visitor.RuleNotEmail},
		{name: "email with two @", edit: func(r *RawUser) { r.UserName = ns("asilva"); r.Email = ns("a@b@example.com") }, field: "email", rule: visitor.RuleNotEmail},
		{name: "email with a space", edit: func(r *RawUser) { r.UserName = ns("asilva"); r.Email = ns("ana silva@example.com") }, field: "email", rule: visitor.RuleNotEmail},
		{name: "non-ascii email username", edit: func(r *RawUser) { r.UserName = ns("josé@example.com") }, field: "username", rule: visitor.RuleNotASCII},
		{name: "typographic quote is not ASCII", edit: func(r *RawUser) { r.UserName = ns("ana“silva@example.com") }, field: "username", rule: visitor.RuleNotASCII},
		{name: "forbidden char in an email username is reported, not replaced by email", edit: func(r *RawUser) { r.UserName = ns("ana#silva@example.com") },
			field: "username", rule: visitor.RuleForbiddenChar},
		{name: "username with @ but not an address, email empty", edit: func(r *RawUser) { r.UserName = ns("ana@corp"); r.Email = ns("") }, field: "email", rule: RuleNoEmail},
		{name: "65 characters", edit: func(r *RawUser) { r.FirstName = ns(strings.Repeat("名", 65)) }, field: "first_name", rule: visitor.RuleTooLong},
		{name: "63 characters and an emoji count as 65", edit: func(r *RawUser) { r.FirstName = ns(strings.Repeat("a", 63) + "😀") }, field: "first_name", rule: visitor.RuleTooLong},
		{name: "65 characters after NFC of 66 code points", edit: func(r *RawUser) { r.LastName = ns(strings.Repeat("e", 64) + "é") }, field: "last_name", rule: visitor.RuleTooLong},
		{name: "active column NULL is active", edit: func(r *RawUser) { r.Active = sql.NullString{} },
			wantCheck: func(u User) bool { return !u.Inactive && u.UserName == "ana.silva@example.com" }},
		{name: "active column 1 and true are active", edit: func(r *RawUser) { r.Active = ns(" TRUE ") },
			wantCheck: func(u User) bool { return !u.Inactive }},
		{name: "active column 0 is deactivated", edit: func(r *RawUser) { r.Active = ns("0") },
			wantCheck: func(u User) bool { return u.Inactive && u.ID == "42" && u.UserName == "ana.silva@example.com" }},
		{name: "active column false is deactivated", edit: func(r *RawUser) { r.Active = ns("false") },
			wantCheck: func(u User) bool { return u.Inactive }},
		{name: "a deactivated row is not held for its other values", edit: func(r *RawUser) { r.Active = ns("0"); r.FirstName = ns("Ana_Maria") },
			wantCheck: func(u User) bool { return u.Inactive && u.ID == "42" && u.FirstName == "" }},
		{name: "active column with another value holds the row", edit: func(r *RawUser) { r.Active = ns("yes") }, field: "active", rule: RuleActive},
		{name: "active column 2 holds the row", edit: func(r *RawUser) { r.Active = ns("2") }, field: "active", rule: RuleActive},
		{name: "a deactivated row without an id is held", edit: func(r *RawUser) { r.Active = ns("0"); r.ID = sql.NullString{} }, field: "id", rule: RuleRequired},
		{name: "NBSP around a name is trimmed, not counted", edit: func(r *RawUser) { r.FirstName = ns(" " + strings.Repeat("x", 64) + "　") },
			field: "", wantCheck: func(u User) bool { return u.FirstName == strings.Repeat("x", 64) }},
	}
	for _, ch := range visitor.ForbiddenEmailChars {
		c := string(ch)
		cases = append(cases, struct {
			name      string
			edit      func(*RawUser)
			field     string
			rule      string
			wantCheck func(User) bool
		}{name: "forbidden email char " + c, edit: func(r *RawUser) { r.UserName = ns("x"); r.Email = ns("ana" + c + "silva@example.com") },
			field: "email", rule: visitor.RuleForbiddenChar})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := goodRaw()
			c.edit(&raw)
			got := ValidateUser(raw, rules)
			if got.Skip {
				t.Fatal("row skipped")
			}
			if c.field == "" {
				if len(got.Problems) > 0 {
					t.Fatalf("unexpected problems: %v", got.Problems)
				}
				if !c.wantCheck(got.User) {
					t.Fatalf("user not as expected: %+v", got.User)
				}
				return
			}
			if len(got.Problems) != 1 || got.Problems[0].Field != c.field || got.Problems[0].Rule != c.rule {
				t.Fatalf("problems = %v, want one on %s: %s", got.Problems, c.field, c.rule)
			}
			if p := got.Problems[0]; p.Table != "users" || (c.field != "id" && p.RowID != "42") {
				t.Fatalf("problem does not name the row: %+v", p)
			}
		})
	}
}

func TestValidateUserWarnings(t *testing.T) {
	cases := []struct {
		name, field string
		edit        func(*RawUser)
	}{
		{"unparseable phone", "phone", func(r *RawUser) { r.Phone = ns("ext. 1234") }},
		// libphonenumber finds it valid, but 17 digits are not E.164, and
		// Visitor would drop it.
		{"valid number of 17 digits", "phone", func(r *RawUser) { r.Phone = ns("+49 576 568877780518") }},
		{"national mobile without region", "mobile", func(r *RawUser) { r.Mobile = ns("07911 123456"); r.Phone = ns("+44 20 7946 0123") }},
		{"bad language", "language", func(r *RawUser) { r.Language = ns("not a language") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := goodRaw()
			c.edit(&raw)
			r := rules
			if c.field == "mobile" {
				r.PhoneRegion = ""
			}
			got := ValidateUser(raw, r)
			if len(got.Problems) != 0 {
				t.Fatalf("problems = %v, want none", got.Problems)
			}
			if len(got.Warnings) != 1 || got.Warnings[0].Field != c.field {
				t.Fatalf("warnings = %v, want one on %s", got.Warnings, c.field)
			}
		})
	}
}

func TestValidateUserVisitorSkipped(t *testing.T) {
	raw := goodRaw()
	raw.UserType = ni(int64(TypeVisitor))
	raw.FirstName = ns("bad_name") // a visitor is skipped, never reported
	got := ValidateUser(raw, rules)
	if !got.Skip || len(got.Problems) != 0 {
		t.Fatalf("visitor: %+v", got)
	}
}

func TestValidateLocation(t *testing.T) {
	cases := []struct {
		name  string
		raw   RawLocation
		field string
	}{
		{"good", RawLocation{ID: ns("101"), Name: ns(" 東京 丸の内 "), Country: ns("Japan")}, ""},
		{"no name", RawLocation{ID: ns("101")}, "name"},
		{"no id", RawLocation{Name: ns("x")}, "id"},
		{"long name", RawLocation{ID: ns("1"), Name: ns(strings.Repeat("x", 65))}, "name"},
		{"control char in region", RawLocation{ID: ns("1"), Name: ns("x"), Region: ns("a\nb")}, "region"},
		{"active neither open nor closed", RawLocation{ID: ns("1"), Name: ns("x"), Active: ns("closed")}, "active"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, probs := ValidateLocation(c.raw)
			if c.field == "" {
				if len(probs) != 0 || l.Name != "東京 丸の内" {
					t.Fatalf("got %+v %v", l, probs)
				}
				return
			}
			if len(probs) != 1 || probs[0].Field != c.field || probs[0].Table != "locations" {
				t.Fatalf("problems = %v, want one on %s", probs, c.field)
			}
		})
	}
}

// FuzzValidateUser checks invariants that must hold for any input: an
// exported user satisfies every rule the target enforces.
func FuzzValidateUser(f *testing.F) {
	f.Add("1", "a@example.com", "", "Ana", "Silva", "020 7946 0123", "en-GB")
	f.Add("2", "login", "Jose\u0301@x.com", "A_b", "\x00", "+1", "zz")
	f.Fuzz(func(t *testing.T, id, username, email, first, last, phone, lang string) {
		raw := RawUser{ID: ns(id), UserName: ns(username), Email: ns(email), FirstName: ns(first),
			LastName: ns(last), Phone: ns(phone), Language: ns(lang), UserType: ni(1)}
		c := ValidateUser(raw, rules)
		if len(c.Problems) > 0 {
			return
		}
		u := c.User
		for _, s := range []string{u.ID, u.UserName, u.FirstName, u.LastName, u.Phone, u.Language} {
			if checkText(s) != "" {
				t.Fatalf("exported string %q breaks %s", s, checkText(s))
			}
		}
		if u.UserName != strings.ToLower(u.UserName) {
			t.Fatalf("userName %q not lower-case", u.UserName)
		}
		vu := visitor.User{UserName: u.UserName, Email: u.Email, GivenName: u.FirstName, FamilyName: u.LastName,
			Phone: u.Phone, Mobile: u.Mobile, Language: u.Language}
		if errs := visitor.CheckUser(vu); len(errs) > 0 {
			t.Fatalf("exported user breaks Visitor's rules: %v", errs)
		}
	})
}
