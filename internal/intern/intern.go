// Package intern shares equal strings within one pass over many records
// (an export, a listing): names and language tags repeat from record to
// record, each in its own allocation from a driver or a decoder, and the
// records are held for the whole run.
package intern

import "unique"

// Pool gives one shared copy of each string through the standard
// library's unique package, and keeps a handle of each: unique forgets a
// value at the first garbage collection after its last handle is dropped,
// so without them equal strings read either side of a collection would be
// two copies. The zero Pool is ready; a nil *Pool shares only until the
// next collection. A Pool belongs to one goroutine; drop it when the pass
// ends (the shared strings stay shared).
type Pool struct {
	kept map[unique.Handle[string]]struct{}
}

// String returns the shared copy of s.
func (p *Pool) String(s string) string {
	if s == "" {
		return s
	}
	h := unique.Make(s)
	if p != nil {
		if p.kept == nil {
			p.kept = map[unique.Handle[string]]struct{}{}
		}
		p.kept[h] = struct{}{}
	}
	return h.Value()
}
