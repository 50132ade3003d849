package simulator

import (
	"slices"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// userIndex finds users by userName and externalId without scanning the
// store, keeps the last listing's matches while nothing changes, and
// stores each distinct location list once. Without it the simulator, not
// the client, is what a benchmark with a million users measures: every
// create would compare itself with every user, every page of a listing
// would filter the whole store again, and every user would hold its own
// copy of a list as long as the tenant's locations. All methods need s.mu.
type userIndex struct {
	names   map[string][]string // lower-cased userName -> user ids
	exts    map[string][]string // externalId -> user ids
	seq     map[string]int64    // user id -> creation order, for listing order
	nextSeq int64
	version int64 // bumped by every change to the users

	listFilter  string
	listVersion int64
	listHits    []*User

	lists  map[string][]LocationRole // location lists by content
	stored map[*LocationRole]bool    // the first entry of each list in lists

	listJSON [8]cachedList // encoded lists, most recent first out
	nextJSON int
}

func (x *userIndex) init() {
	if x.names == nil {
		x.names, x.exts, x.seq = map[string][]string{}, map[string][]string{}, map[string]int64{}
		x.lists, x.stored = map[string][]LocationRole{}, map[*LocationRole]bool{}
	}
}

// add indexes u (new, or the new version of a stored user whose old
// version was removed).
func (x *userIndex) add(u *User) {
	x.init()
	x.version++
	if _, ok := x.seq[u.ID]; !ok {
		x.nextSeq++
		x.seq[u.ID] = x.nextSeq
	}
	n := strings.ToLower(u.UserName)
	x.names[n] = append(x.names[n], u.ID)
	if u.ExternalID != "" {
		x.exts[u.ExternalID] = append(x.exts[u.ExternalID], u.ID)
	}
	u.Locations = x.sharedList(u.Locations)
}

// remove drops u from the name and externalId maps; forget also drops its
// place in the listing order (a delete).
func (x *userIndex) remove(u *User, forget bool) {
	x.init()
	x.version++
	drop := func(m map[string][]string, k string) {
		ids := slices.DeleteFunc(m[k], func(id string) bool { return id == u.ID })
		if len(ids) == 0 {
			delete(m, k)
		} else {
			m[k] = ids
		}
	}
	drop(x.names, strings.ToLower(u.UserName))
	if u.ExternalID != "" {
		drop(x.exts, u.ExternalID)
	}
	if forget {
		delete(x.seq, u.ID)
	}
}

// taken says whether a user other than id holds key in m.
func taken(m map[string][]string, key, id string) bool {
	for _, o := range m[key] {
		if o != id {
			return true
		}
	}
	return false
}

// sharedList returns the stored copy of a list with the same entries.
func (x *userIndex) sharedList(l []LocationRole) []LocationRole {
	if len(l) == 0 || (len(l) == cap(l) && x.stored[&l[0]]) { // empty, or a stored list itself
		return l
	}
	var b strings.Builder
	for _, e := range l {
		b.WriteString(e.Value)
		b.WriteByte(0)
		b.WriteString(e.Role)
		b.WriteByte(1)
	}
	k := b.String()
	if s, ok := x.lists[k]; ok {
		return s
	}
	s := slices.Clip(slices.Clone(l))
	x.lists[k] = s
	x.stored[&s[0]] = true
	return s
}

// isShared says whether l is a list sharedList stored: never changed,
// never freed.
func (x *userIndex) isShared(l []LocationRole) bool {
	return len(l) > 0 && x.stored[&l[0]] && len(x.lists) > 0
}

// cachedHits returns the matches of the last listing with this filter if
// no user changed since.
func (x *userIndex) cachedHits(f string) ([]*User, bool) {
	if x.listHits != nil && x.listFilter == f && x.listVersion == x.version {
		return x.listHits, true
	}
	return nil, false
}

// hits returns the users a listing with filter f matches, for both
// flavours: the last listing's answer while no user changed, else what
// lookup finds in an index (nil: no index answers f), else a scan with
// match; kept for the listing's next page. Caller holds s.mu.
func (s *Server) hits(f string, lookup func() []*User, match func(*User) bool) []*User {
	hits, ok := s.idx.cachedHits(f)
	if !ok && lookup != nil {
		hits, ok = lookup(), true
	}
	if !ok {
		hits = s.scanUsers(match)
	}
	s.idx.keepHits(f, hits)
	return hits
}

func (x *userIndex) keepHits(f string, hits []*User) {
	x.listFilter, x.listVersion, x.listHits = f, x.version, hits
	if hits == nil {
		x.listHits = []*User{}
	}
}

// externalIDSet recognises `externalId eq "a"` and `externalId eq "a" or
// externalId eq "b" …` (the client's batched re-read) and returns the
// values; ok is false for any other filter, valid or not.
func externalIDSet(raw string) (set map[string]bool, ok bool) {
	expr, err := filter.ParseFilter([]byte(raw))
	if err != nil {
		return nil, false
	}
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		s, isString := e.CompareValue.(string)
		v, valid := unescape(s)
		if e.Operator != filter.EQ || !isString || !valid || !strings.EqualFold(e.AttributePath.String(), "externalId") {
			return nil, false
		}
		return map[string]bool{v: true}, true
	case *filter.LogicalExpression:
		// Of the user attributes only externalId compares case-exactly.
		vals, g, isSet := eqSet(e, userFilterAttrs())
		if !isSet || !g.caseExact {
			return nil, false
		}
		return vals, true
	}
	return nil, false
}

// byExternalID finds the users with these externalIds from the index, in
// listing order.
func (s *Server) byExternalID(set map[string]bool) []*User {
	s.idx.init()
	var hits []*User
	for v := range set {
		for _, id := range s.idx.exts[v] {
			hits = append(hits, s.users[id])
		}
	}
	slices.SortFunc(hits, func(a, b *User) int { return int(s.idx.seq[a.ID] - s.idx.seq[b.ID]) })
	return hits
}
