package visitor

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	filter "github.com/scim2/filter-parser/v2"
)

// TestGenericFiltersParseIndependently: every filter the generic-v1
// client sends is read by a SCIM filter parser we did not write
// (scim2/filter-parser) as the comparisons we meant, with SCIM 1.1
// operators only, and a hostile value cannot break out of its string.
func TestGenericFiltersParseIndependently(t *testing.T) {
	values := []string{`plain@example.com`, `quote"d@example.com`, `back\slash@example.com`,
		`or userName pr@example.com`, `ünïcødé@exämple.com`, `") or (id pr`}
	for _, v := range values {
		t.Run("userName "+v, func(t *testing.T) {
			got, err := BuildFilterV1("userName", "eq", v)
			if err != nil {
				t.Fatal(err)
			}
			exp, err := filter.ParseFilter([]byte(got))
			if err != nil {
				t.Fatalf("parse %s: %v", got, err)
			}
			ae, ok := exp.(*filter.AttributeExpression)
			if !ok || !strings.EqualFold(string(ae.Operator), "eq") {
				t.Fatalf("%s parsed as %T %+v, want one eq comparison", got, exp, exp)
			}
			var back string
			if err := json.Unmarshal([]byte(`"`+ae.CompareValue.(string)+`"`), &back); err != nil || back != v {
				t.Fatalf("value round trip %q (%v), want %q", back, err, v)
			}
		})
	}
	t.Run("or batches of ids", func(t *testing.T) {
		ids := make([]string, 300)
		for i := range ids {
			ids[i] = fmt.Sprintf("id-%03d", i)
		}
		seen := 0
		for _, f := range orBatches("id", ids, MaxFilterBytes) {
			if err := checkFilterV1(f); err != nil {
				t.Fatalf("the client's own check refuses its batch: %v", err)
			}
			exp, err := filter.ParseFilter([]byte(f))
			if err != nil {
				t.Fatalf("parse batch: %v", err)
			}
			seen += countEqV1(t, exp)
		}
		if seen != len(ids) {
			t.Fatalf("batches compare %d ids, want %d", seen, len(ids))
		}
	})
}

// countEqV1 counts the eq comparisons of an or-tree, failing on any other
// operator or a SCIM 2.0-only construct.
func countEqV1(t *testing.T, e filter.Expression) int {
	t.Helper()
	switch x := e.(type) {
	case *filter.AttributeExpression:
		if !slices.Contains(filterOperatorsV1, strings.ToLower(string(x.Operator))) || !strings.EqualFold(string(x.Operator), "eq") {
			t.Fatalf("operator %q in a batch", x.Operator)
		}
		return 1
	case *filter.LogicalExpression:
		if !strings.EqualFold(string(x.Operator), "or") {
			t.Fatalf("logical %q in a batch", x.Operator)
		}
		return countEqV1(t, x.Left) + countEqV1(t, x.Right)
	default:
		t.Fatalf("%T in a batch", e)
	}
	return 0
}
