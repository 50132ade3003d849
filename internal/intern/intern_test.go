package intern

import (
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// Equal strings, each in its own allocation, come out of one Pool as one
// string even with garbage collections between them; the empty string
// stays empty.
func TestPoolSharesAcrossCollections(t *testing.T) {
	var p Pool
	var got []string
	for range 3 {
		got = append(got, p.String(strings.Clone("Siobhán Ó Súilleabháin")))
		runtime.GC()
	}
	for _, s := range got[1:] {
		if s != got[0] || unsafe.StringData(s) != unsafe.StringData(got[0]) {
			t.Fatalf("%q and %q are two copies", s, got[0])
		}
	}
	if p.String("") != "" {
		t.Error("the empty string changed")
	}
	var none *Pool
	if none.String("en-GB") != "en-GB" {
		t.Error("a nil Pool changed the value")
	}
}
