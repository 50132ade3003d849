// Package archtest checks the import rules of docs/architecture.md, so a
// package that reaches around another fails the build's tests rather than
// a review.
package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "condeco-visitor-sync/"

// never maps a package folder to the imports it must not have (a prefix
// ends in "/"; a std package is named as is). Test files are included
// except where noted: the rules are about the code.
var never = map[string][]string{
	// The planner is a pure function: no I/O, no other step of the loop.
	"sync/plan": {"os", "net", "net/http", "database/sql", "io/fs", module + "sync/apply", module + "sync/runner",
		module + "sync/service", module + "state", module + "config", module + "notify"},
	"sync/apply":  {module + "sync/runner", module + "sync/service", module + "state", module + "config", module + "condeco"},
	"sync/audit":  {module + "sync/apply", module + "sync/runner", module + "sync/service", module + "state", module + "config"},
	"sync/runner": {module + "sync/service", module + "config", module + "notify", module + "state"},
	// The source knows nothing of the sync or of the process around it.
	"condeco": {module + "sync/", module + "state", module + "config", module + "notify"},
	// The target knows nothing of the source, the sync or configuration.
	"visitor": {module + "sync/", module + "condeco", module + "state", module + "config", module + "notify"},
	"state":   {module + "sync/", module + "condeco", module + "visitor", module + "config", module + "notify"},
	"notify":  {module + "sync/", module + "condeco", module + "visitor", module + "state", module + "config"},
	"config":  {module + "sync/runner", module + "sync/service", module + "state", module + "cmd/"},
	// Leaves.
	"internal/urlcheck": {module},
	"internal/intern":   {module},
}

func TestImportRules(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	for dir, banned := range never {
		base := filepath.Join(root, filepath.FromSlash(dir))
		err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				// Sub-packages have rules of their own (visitor/simulator
				// is a test double; sync/internal the tests' helpers).
				if path != base && (d.Name() == "testdata" || d.Name() == "simulator" || d.Name() == "internal" || d.Name() == "notifytest") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, im := range f.Imports {
				p, _ := strconv.Unquote(im.Path.Value)
				for _, b := range banned {
					if p == b || strings.HasSuffix(b, "/") && strings.HasPrefix(p, b) || b == module && strings.HasPrefix(p, module) {
						t.Errorf("%s imports %s: %s must not (docs/architecture.md)", path, p, dir)
					}
				}
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}
