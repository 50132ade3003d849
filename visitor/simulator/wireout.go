package simulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Users are written by hand, as docs/visitor-scim.md shows them. Through
// maps and the reflection encoder a user with 1 000 locations costs the
// simulator more CPU than the client spends building and reading it, and
// the bench runs both on the same two cores: a budget-use figure at scale
// would measure the simulator, not the client.

// appendUser appends u as its JSON resource. base is the SCIM base URL
// for meta.location.
func (s *Server) appendUser(b []byte, u *User, base string) []byte {
	// One allocation for the whole resource: a user with every location
	// is tens of kilobytes, and growing b by doubling copied it about as
	// many times again (a sixth of the simulator's CPU at 1 000 locations).
	b = slices.Grow(b, userJSONBase+s.idx.locationsSize(u.Locations))
	b = append(b, `{"schemas":[`...)
	b = appendString(b, coreUserSchema)
	b = append(b, ',')
	b = appendString(b, s.opts.UserSchema)
	b = append(b, `],"id":`...)
	b = appendString(b, u.ID)
	if u.ExternalID != "" {
		b = append(b, `,"externalId":`...)
		b = appendString(b, u.ExternalID)
	}
	b = append(b, `,"userName":`...)
	b = appendString(b, u.UserName)
	b = append(b, `,"name":{"givenName":`...)
	b = appendString(b, u.GivenName)
	b = append(b, `,"familyName":`...)
	b = appendString(b, u.FamilyName)
	b = append(b, `},"emails":[`...)
	for i, e := range u.Emails {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"value":`...)
		b = appendString(b, e.Value)
		if e.Type != "" {
			b = append(b, `,"type":`...)
			b = appendString(b, e.Type)
		}
		if e.Primary {
			b = append(b, `,"primary":true`...)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if len(u.PhoneNumbers) > 0 {
		b = append(b, `,"phoneNumbers":[`...)
		for i, p := range u.PhoneNumbers {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"value":`...)
			b = appendString(b, p.Value)
			if p.Type != "" {
				b = append(b, `,"type":`...)
				b = appendString(b, p.Type)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if u.PreferredLanguage != "" {
		b = append(b, `,"preferredLanguage":`...)
		b = appendString(b, u.PreferredLanguage)
	}
	if u.Title != "" {
		b = append(b, `,"title":`...)
		b = appendString(b, u.Title)
	}
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, u.Active)
	b = append(b, `,"meta":{"resourceType":"User","created":`...)
	b = appendString(b, u.Created.UTC().Format(time.RFC3339))
	b = append(b, `,"lastModified":`...)
	b = appendString(b, u.LastModified.UTC().Format(time.RFC3339))
	b = append(b, `,"location":`...)
	b = appendString(b, base+"/Users/"+u.ID)
	b = append(b, `},`...)
	b = appendString(b, s.opts.UserSchema)
	b = append(b, `:{"locations":`...)
	b = s.idx.appendLocations(b, u.Locations)
	if u.DefaultLocation != "" {
		b = append(b, `,"defaultLocation":`...)
		b = appendString(b, u.DefaultLocation)
	}
	return append(b, `}}`...)
}

// appendLocations appends a location list. A stored list is shared by
// every user with the same entries and never changed, so its JSON is
// kept for the next user that has it (the last few lists).
func (x *userIndex) appendLocations(b []byte, l []LocationRole) []byte {
	if len(l) == 0 {
		return append(b, `[]`...)
	}
	for _, c := range x.listJSON {
		if c.n == len(l) && c.first == &l[0] {
			return append(b, c.json...)
		}
	}
	start := len(b)
	b = append(b, '[')
	for i, e := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"value":`...)
		b = appendString(b, e.Value)
		b = append(b, `,"role":`...)
		b = appendString(b, e.Role)
		b = append(b, '}')
	}
	b = append(b, ']')
	if x.isShared(l) {
		x.listJSON[x.nextJSON] = cachedList{first: &l[0], n: len(l), json: append([]byte(nil), b[start:]...)}
		x.nextJSON = (x.nextJSON + 1) % len(x.listJSON)
	}
	return b
}

// userJSONBase is room for a user's JSON without its locations.
const userJSONBase = 1024

// locationsSize is the encoded length of l when it is cached, otherwise an
// estimate for typical ids and roles.
func (x *userIndex) locationsSize(l []LocationRole) int {
	if len(l) == 0 {
		return 2
	}
	for _, c := range x.listJSON {
		if c.n == len(l) && c.first == &l[0] {
			return len(c.json)
		}
	}
	return 48 * len(l)
}

// cachedList is the JSON of one shared location list.
type cachedList struct {
	first *LocationRole
	n     int
	json  []byte
}

// appendString appends s as a JSON string. Printable ASCII without
// quotes or backslashes (nearly every value here) is copied as it is;
// anything else is left to encoding/json, which also replaces invalid
// UTF-8.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendUserList appends a ListResponse of users.
func (s *Server) appendUserList(b []byte, total, start int, users []*User, base string) []byte {
	size := userJSONBase
	for _, u := range users {
		size += userJSONBase + s.idx.locationsSize(u.Locations)
	}
	b = slices.Grow(b, size) // a page of 200 users at 1 000 locations is 7 MB: one allocation
	b = append(b, `{"schemas":[`...)
	b = appendString(b, listResponseSchema)
	b = append(b, `],"totalResults":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"itemsPerPage":`...)
	b = strconv.AppendInt(b, int64(len(users)), 10)
	b = append(b, `,"startIndex":`...)
	b = strconv.AppendInt(b, int64(start), 10)
	b = append(b, `,"Resources":[`...)
	for i, u := range users {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.appendUser(b, u, base)
	}
	return append(b, `]}`...)
}

// writeRaw writes a JSON answer already encoded.
func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	if bw, ok := w.(*buffer); ok && bw.body.Len() == 0 {
		bw.body = *bytes.NewBuffer(b) // b is ours to give: no second copy
		return
	}
	_, _ = w.Write(b)
}
