package condeco

import (
	"hash/maphash"
	"strings"

	"golang.org/x/text/language"

	"condeco-visitor-sync/internal/intern"
)

// rowCache remembers answers that repeat from row to row within one
// export: a switchboard number shared by thousands of users, a language
// tag. Each part has a fixed size whatever the data. It
// belongs to one goroutine; nil is a cache that remembers nothing, and
// with or without it a row validates the same.
type rowCache struct {
	hash   maphash.Hash // its random key is drawn on first use and kept
	phones [phoneSlots]phoneEntry
	langs  map[string]langAnswer
	names  intern.Pool // first names, surnames, location ids, titles
}

// The sizes of a rowCache's parts: some 60 KB.
const (
	phoneSlots = 1024
	maxLangs   = 256 // a directory holds a handful of tags
)

type phoneEntry struct {
	raw, region, e164 string
	ok, set           bool
}

type langAnswer struct {
	tag string
	ok  bool
}

func newRowCache() *rowCache {
	return &rowCache{langs: map[string]langAnswer{}}
}

// e164 is E164, parsing a value only when it is not the one last seen in
// its slot (direct-mapped: a new value replaces the old one).
func (rc *rowCache) e164(s, region string) (string, bool) {
	if rc == nil {
		return E164(s, region)
	}
	rc.hash.Reset()
	rc.hash.WriteString(s)
	slot := &rc.phones[rc.hash.Sum64()%phoneSlots]
	if slot.set && slot.raw == s && slot.region == region {
		return slot.e164, slot.ok
	}
	e, ok := E164(s, region)
	*slot = phoneEntry{raw: s, region: region, e164: e, ok: ok, set: true}
	return e, ok
}

// intern returns the one shared copy of s: the export is held for the
// whole run, and first names, surnames and location ids repeat across
// thousands of users, each row's in its own allocation from the driver.
// The copy is the same for every row this cache validates (nil: only
// until the next collection).
func (rc *rowCache) intern(s string) string {
	var p *intern.Pool
	if rc != nil {
		p = &rc.names
	}
	return p.String(s)
}

// language normalises a language tag (en_gb -> en-GB), reporting false
// when it is not one.
func (rc *rowCache) language(s string) (string, bool) {
	if rc != nil {
		if a, ok := rc.langs[s]; ok {
			return a.tag, a.ok
		}
	}
	var a langAnswer
	if tag, err := language.Parse(strings.ReplaceAll(s, "_", "-")); err == nil {
		a = langAnswer{tag: tag.String(), ok: true}
	}
	if rc != nil && len(rc.langs) < maxLangs {
		rc.langs[s] = a
	}
	return a.tag, a.ok
}
