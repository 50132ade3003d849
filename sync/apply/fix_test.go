package apply

import (
	"strings"
	"testing"

	"condeco-visitor-sync/visitor"
)

func TestUpdateFix(t *testing.T) {
	want := visitor.User{UserName: "new@example.com"}
	cases := []struct {
		name   string
		err    error
		fields []visitor.Field
		words  string
	}{
		{"last admin demotion", visitor.NewError(409, "mutability", "last admin"), []visitor.Field{visitor.FieldAccess}, "at least one active admin"},
		{"rename taken", visitor.NewError(409, "uniqueness", "taken"), []visitor.Field{visitor.FieldUserName}, "free it in Visitor"},
		{"other conflict", visitor.NewError(409, "", "busy"), []visitor.Field{visitor.FieldGivenName}, "next run retries"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := updateFix(c.err, want, c.fields); !strings.Contains(got, c.words) {
				t.Errorf("fix = %q, want %q", got, c.words)
			}
		})
	}
}

// TestRenameRefused: only a taken name and a read-only email stop a
// rename; the last-admin rule and other refusals are about something else.
func TestRenameRefused(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		refused bool
		fix     string // words of renameFix when refused
	}{
		{"name taken", visitor.NewError(409, "uniqueness", "taken"), true, "already has userName new@example.com"},
		{"plain 409", visitor.NewError(409, "", "taken"), true, "already has userName new@example.com"},
		{"email read-only", visitor.NewError(400, "mutability", "emails are read-only"), true, "by hand in Visitor"},
		{"last active admin", visitor.NewError(409, "mutability", "last admin"), false, ""},
		{"invalid value", visitor.NewError(400, "invalidValue", "bad"), false, ""},
		{"server error", visitor.NewError(500, "", "boom"), false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := renameRefused(c.err); got != c.refused {
				t.Fatalf("renameRefused = %v, want %v", got, c.refused)
			}
			if c.refused {
				if got := renameFix(c.err, "old@example.com", "new@example.com"); !strings.Contains(got, c.fix) {
					t.Errorf("fix = %q, want %q", got, c.fix)
				}
			}
		})
	}
}
