package visitor

import (
	"encoding/json"
	"strings"
	"testing"

	filter "github.com/scim2/filter-parser/v2"
)

func TestFilterEscaping(t *testing.T) {
	tests := []struct {
		name, attr, op, value string
		want                  string
	}{
		{"plain", "userName", "eq", "ana@example.com", `userName eq "ana@example.com"`},
		{"prefix", "externalId", "sw", "condeco:", `externalId sw "condeco:"`},
		{"quote", "userName", "eq", `a"b`, `userName eq "a\"b"`},
		{"backslash", "userName", "eq", `a\b`, `userName eq "a\\b"`},
		{"backslash before quote", "userName", "eq", `a\"`, `userName eq "a\\\""`},
		{"injection", "userName", "eq", `x" or userName pr or userName eq "`, `userName eq "x\" or userName pr or userName eq \""`},
		{"unicode", "name.givenName", "co", "Zoë 李 😀", `name.givenName co "Zoë 李 😀"`},
		{"control chars", "userName", "eq", "a\nb\x01\x1f", `userName eq "a\nb\u0001\u001F"`},
		{"upper case op", "userName", "EQ", "x", `userName eq "x"`},
		{"urn attribute", DefaultUserSchema + ":defaultLocation", "eq", "loc-1", DefaultUserSchema + `:defaultLocation eq "loc-1"`},
		{"empty", "externalId", "ne", "", `externalId ne ""`},
		{"slash", "userName", "ew", "/x/", `userName ew "/x/"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BuildFilter(tt.attr, tt.op, tt.value)
			if err != nil {
				t.Fatalf("BuildFilter: %v", err)
			}
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			// The output must parse as exactly one comparison whose value
			// decodes back to the input: nothing can break out of it.
			exp, err := filter.ParseFilter([]byte(got))
			if err != nil {
				t.Fatalf("parse %s: %v", got, err)
			}
			ae, ok := exp.(*filter.AttributeExpression)
			if !ok {
				t.Fatalf("parsed as %T, want a single attribute expression", exp)
			}
			if !strings.EqualFold(string(ae.Operator), tt.op) {
				t.Errorf("operator %q, want %q", ae.Operator, tt.op)
			}
			var back string
			if err := json.Unmarshal([]byte(`"`+ae.CompareValue.(string)+`"`), &back); err != nil {
				t.Fatalf("compare value is not a JSON string: %v", err)
			}
			if back != tt.value {
				t.Errorf("round trip %q, want %q", back, tt.value)
			}
		})
	}
}

func TestFilterInvalidUTF8(t *testing.T) {
	got := Filter("userName", "eq", "a\xffb")
	if _, err := filter.ParseFilter([]byte(got)); err != nil {
		t.Fatalf("parse %q: %v", got, err)
	}
}

func TestFilterRejects(t *testing.T) {
	tests := []struct{ name, attr, op string }{
		{"operator pr", "userName", "pr"},
		{"operator gt", "userName", "gt"},
		{"operator injection", "userName", `eq "x" or userName eq`},
		{"attr with space", "user Name", "eq"},
		{"attr with quote", `userName"`, "eq"},
		{"attr injection", `userName pr or userName`, "eq"},
		{"attr empty", "", "eq"},
		{"attr starts with digit", "1userName", "eq"},
		{"attr bracket", `emails[type eq "work"]`, "eq"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f, err := BuildFilter(tt.attr, tt.op, "v"); err == nil {
				t.Fatalf("BuildFilter accepted %q", f)
			}
			defer func() {
				if recover() == nil {
					t.Fatal("Filter did not panic")
				}
			}()
			Filter(tt.attr, tt.op, "v")
		})
	}
}
