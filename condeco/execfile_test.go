package condeco

import (
	"slices"
	"testing"
)

func TestSplitStatements(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		dropN bool
		want  []string
	}{
		{"semicolons", "SELECT 1; SELECT 2;", false, []string{"SELECT 1", "SELECT 2"}},
		{"semicolon in string", "INSERT INTO t VALUES ('a;b'); SELECT 1", false, []string{"INSERT INTO t VALUES ('a;b')", "SELECT 1"}},
		{"doubled quote", "SELECT 'O''Brien; x'", false, []string{"SELECT 'O''Brien; x'"}},
		{"line comment", "-- a; comment\nSELECT 1;", false, []string{"SELECT 1"}},
		{"block comment", "/* x; y */ SELECT 1;", false, []string{"SELECT 1"}},
		{"GO separator", "SELECT 1\nGO\nSELECT 2\n  go  \n", false, []string{"SELECT 1", "SELECT 2"}},
		{"GO inside word kept", "SELECT going FROM t", false, []string{"SELECT going FROM t"}},
		{"N prefix kept", "SELECT N'é'", false, []string{"SELECT N'é'"}},
		{"N prefix dropped", "SELECT N'é', LEN(N'x'), COLUMN_N", true, []string{"SELECT 'é', LEN('x'), COLUMN_N"}},
		{"N inside string untouched", "SELECT 'AN''N'", true, []string{"SELECT 'AN''N'"}},
		{"bracket identifier", "SELECT [a;b] FROM t", false, []string{"SELECT [a;b] FROM t"}},
		{"empty", " ;\n; -- only\n", false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := SplitStatements(c.in, c.dropN)
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}
