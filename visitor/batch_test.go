package visitor

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	filter "github.com/scim2/filter-parser/v2"
)

func TestFilterBatches(t *testing.T) {
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("condeco:%d", 100000+i)
		}
		return out
	}
	cases := []struct {
		name        string
		ids         []string
		limit       int
		wantBatches int
	}{
		{"none", nil, MaxFilterBytes, 0},
		{"one", ids(1), MaxFilterBytes, 1},
		{"a day's changes fit in few requests", ids(1000), MaxFilterBytes, 12},
		{"tiny limit: one clause each", ids(5), 10, 5},
		{"hostile id stays one escaped clause", []string{`condeco:1" or userName sw "`, "condeco:2"}, MaxFilterBytes, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := filterBatches(tc.ids, tc.limit)
			if len(got) != tc.wantBatches {
				t.Fatalf("%d batches, want %d", len(got), tc.wantBatches)
			}
			seen := 0
			for _, f := range got {
				if tc.limit == MaxFilterBytes && len(url.QueryEscape(f)) > tc.limit {
					t.Errorf("batch of %d bytes exceeds %d", len(url.QueryEscape(f)), tc.limit)
				}
				expr, err := filter.ParseFilter([]byte(f))
				if err != nil {
					t.Fatalf("batch does not parse: %v\n%s", err, f)
				}
				seen += countEq(t, expr)
			}
			if seen != len(tc.ids) {
				t.Errorf("batches hold %d clauses, want %d", seen, len(tc.ids))
			}
		})
	}
}

// countEq counts externalId eq clauses in an or-tree and fails on anything
// else, so an injected operator would show.
func countEq(t *testing.T, e filter.Expression) int {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		if e.Operator != filter.OR {
			t.Fatalf("unexpected operator %v", e.Operator)
		}
		return countEq(t, e.Left) + countEq(t, e.Right)
	case *filter.AttributeExpression:
		if e.Operator != filter.EQ || !strings.EqualFold(e.AttributePath.String(), "externalId") {
			t.Fatalf("unexpected clause %v", e)
		}
		return 1
	}
	t.Fatalf("unexpected expression %T", e)
	return 0
}
