package apply

import (
	"strings"
	"testing"

	"condeco-visitor-sync/visitor"
)

func scimErr(status int, typ, detail string) error {
	return &visitor.Error{Status: status, ScimType: typ, Detail: detail}
}

func TestUpdateFix(t *testing.T) {
	want := visitor.User{UserName: "new@example.com"}
	cases := []struct {
		name   string
		err    error
		fields []visitor.Field
		words  string
	}{
		{"last admin demotion", scimErr(409, "mutability", "last admin"), []visitor.Field{visitor.FieldAccess}, "at least one active admin"},
		{"rename taken", scimErr(409, "uniqueness", "taken"), []visitor.Field{visitor.FieldUserName}, "free it in Visitor"},
		{"other conflict", scimErr(409, "", "busy"), []visitor.Field{visitor.FieldGivenName}, "next run retries"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := updateFix(c.err, want, c.fields); !strings.Contains(got, c.words) {
				t.Errorf("fix = %q, want %q", got, c.words)
			}
		})
	}
}
