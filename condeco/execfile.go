package condeco

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/jmoiron/sqlx"
)

// ExecFile runs a .sql fixture one statement at a time. Statements end at
// a ';' outside quotes and comments, or at a line holding only GO (the SQL
// Server batch separator). On SQLite, N'…' literals (which SQL Server needs
// for Unicode text and SQLite does not parse) lose their N.
func ExecFile(ctx context.Context, db *sqlx.DB, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading sql file: %w", err)
	}
	sqlite := strings.HasPrefix(db.DriverName(), "sqlite")
	for i, st := range SplitStatements(string(b), sqlite) {
		if _, err := db.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("%s: statement %d (%.60q): %w", path, i+1, st, err)
		}
	}
	return nil
}

// SplitStatements splits SQL text into statements, dropping comments and
// empty statements. dropN rewrites N'…' to '…'.
func SplitStatements(text string, dropN bool) []string {
	var (
		out []string
		cur strings.Builder
	)
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	rs := []rune(text)
	atLineStart := true
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		next := rune(0)
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch {
		case atLineStart && isGoLine(rs[i:]):
			flush()
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
			continue
		case r == '-' && next == '-':
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
			cur.WriteRune('\n')
			atLineStart = true
			continue
		case r == '/' && next == '*':
			i += 2
			for i+1 < len(rs) && (rs[i] != '*' || rs[i+1] != '/') {
				i++
			}
			i++
			cur.WriteRune(' ')
			continue
		case (r == 'N' || r == 'n') && next == '\'' && (i == 0 || !isIdent(rs[i-1])):
			if !dropN {
				cur.WriteRune(r)
			}
			continue
		case r == '\'' || r == '"' || r == '[':
			end := r
			if r == '[' {
				end = ']'
			}
			cur.WriteRune(r)
			for i++; i < len(rs); i++ {
				cur.WriteRune(rs[i])
				if rs[i] == end {
					if i+1 < len(rs) && rs[i+1] == end { // doubled quote
						i++
						cur.WriteRune(rs[i])
						continue
					}
					break
				}
			}
			atLineStart = false
			continue
		case r == ';':
			flush()
			atLineStart = false
			continue
		}
		cur.WriteRune(r)
		if r == '\n' {
			atLineStart = true
		} else if r != ' ' && r != '\t' && r != '\r' {
			atLineStart = false
		}
	}
	flush()
	return out
}

func isGoLine(rs []rune) bool {
	line := string(rs)
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	return strings.EqualFold(strings.TrimSpace(line), "go")
}

func isIdent(r rune) bool {
	return r == '_' || r == '@' || r == '#' || r == '$' ||
		(r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
}
