package visitor

import (
	"slices"
	"strings"
	"testing"
)

// TestForbiddenEmailCharsMatchEptura keeps the list equal to the one
// Eptura publishes (docs/visitor-scim.md), written there as
// "# % * ( ) = [ ] | \ " ; : < > , ? /" (a curly quote in that text is a
// straight one typeset; a curly one fails as non-ASCII anyway).
func TestForbiddenEmailCharsMatchEptura(t *testing.T) {
	published := strings.Join(strings.Fields(`# % * ( ) = [ ] | \ " ; : < > , ? /`), "")
	if ForbiddenEmailChars != published {
		t.Fatalf("ForbiddenEmailChars = %q, Eptura publishes %q", ForbiddenEmailChars, published)
	}
	for _, ok := range []string{"a.b-c+d'e&f!g$h~i^j{k}l@example.com", "x_y@example.co.uk"} {
		if rule := CheckEmail(ok); rule != "" {
			t.Errorf("%q rejected: %s", ok, rule)
		}
	}
}

func TestCheckValues(t *testing.T) {
	cases := []struct {
		name  string
		check func(string) string
		in    string
		want  string
	}{
		{"64 ASCII characters", CheckString, strings.Repeat("a", 64), ""},
		{"65 ASCII characters", CheckString, strings.Repeat("a", 65), RuleTooLong},
		{"64 Chinese characters (characters, not bytes)", CheckString, strings.Repeat("名", 64), ""},
		{"32 emoji are 64 units", CheckString, strings.Repeat("😀", 32), ""},
		{"63 characters and an emoji count as 65", CheckString, strings.Repeat("a", 63) + "😀", RuleTooLong},
		{"name with hyphen, period, comma, digits", CheckName, "Smith-Jones, Jr. 3", ""},
		{"underscore in a name", CheckName, "Ana_Maria", RuleUnderscore},
		{"plain email", CheckEmail, "ana.silva@example.com", ""},
		{"forbidden character in email", CheckEmail, "ana#silva@example.com", RuleForbiddenChar},
		{"non-ASCII email", CheckEmail, "josé@example.com", RuleNotASCII},
		{"typographic quote is not ASCII", CheckEmail, "ana“silva@example.com", RuleNotASCII},
		{"email without a domain dot", CheckEmail, "ana@localhost", RuleNotEmail},
		{"email with two @", CheckEmail, "a@b@example.com", RuleNotEmail},
		{"email with a space", CheckEmail, "ana silva@example.com", RuleNotEmail},
		{"email with a no-break space", CheckEmail, "user\u00a0name@example.com", RuleNotASCII},
		{"email domain ends in a dot", CheckEmail, "ana@example.com.", RuleNotEmail},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.check(c.in); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestIsE164(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want bool
	}{
		{"UK landline", "+442079460123", true},
		{"shortest", "+12", true},
		{"15 digits", "+123456789012345", true},
		{"16 digits", "+1234567890123456", false},
		{"no plus", "442079460123", false},
		{"country code starting with 0", "+0442079460123", false},
		{"spaces", "+44 20 7946 0123", false},
		{"plus alone", "+", false},
		{"one digit", "+4", false},
		{"empty", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := IsE164(c.in); got != c.want {
				t.Errorf("IsE164(%q) = %v, want %v", c.in, got, c.want)
			}
		})
	}
}

func TestCheckUser(t *testing.T) {
	good := User{UserName: "ana.silva@example.com", Email: "Ana.Silva@Example.com", GivenName: "Ana", FamilyName: "Silva",
		Phone: "+442079460123", Mobile: "+447911123456", Language: "en-GB"}
	cases := []struct {
		name string
		edit func(*User)
		want []RuleError
	}{
		{"good user; email differs in case only", func(*User) {}, nil},
		{"no phones", func(u *User) { u.Phone, u.Mobile = "", "" }, nil},
		{"underscore and length in one name", func(u *User) { u.GivenName = strings.Repeat("_", 65) },
			[]RuleError{{FieldGivenName, RuleTooLong}, {FieldGivenName, RuleUnderscore}}},
		{"underscore in family name", func(u *User) { u.FamilyName = "Sil_va" }, []RuleError{{FieldFamilyName, RuleUnderscore}}},
		{"userName is not the email", func(u *User) { u.Email = "other@example.com" }, []RuleError{{FieldUserName, RuleUserNameEmail}}},
		{"forbidden character in userName", func(u *User) { u.UserName, u.Email = "a;b@example.com", "a;b@example.com" },
			[]RuleError{{FieldUserName, RuleForbiddenChar}}},
		{"phone not E.164", func(u *User) { u.Phone = "020 7946 0123" }, []RuleError{{FieldPhone, RuleNotE164}}},
		{"mobile of 16 digits", func(u *User) { u.Mobile = "+4915123456789012" }, []RuleError{{FieldMobile, RuleNotE164}}},
		{"language too long", func(u *User) { u.Language = strings.Repeat("x", 65) }, []RuleError{{FieldLanguage, RuleTooLong}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := good
			c.edit(&u)
			if got := CheckUser(u); !slices.Equal(got, c.want) {
				t.Errorf("CheckUser = %v, want %v", got, c.want)
			}
		})
	}
}
