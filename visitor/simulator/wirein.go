package simulator

import (
	"bytes"
	"encoding/json"
	"strings"
)

// A user body is read in one pass where it can be. Decoding it as a map,
// then as the core user, then its extension scanned a 35 KB body (a user
// with 1 000 locations) six times through encoding/json: half of the
// simulator's CPU in a bench at scale. decodeUserFast gives the same
// result for the bodies the client writes and reports false for anything
// else, which then takes the general path (and its error messages).

// decodeUserFast is decodeUser for a valid JSON object whose extension
// appears once and is in the shape the client writes.
func (s *Server) decodeUserFast(b []byte) (userInput, bool) {
	var in userInput
	// Validity needs no pass of its own: the core is decoded by
	// encoding/json and the extension read strictly, so a body with a
	// syntax error anywhere goes the general way.
	keys, vals, ok := topLevel(b)
	if !ok {
		return in, false
	}
	ext := -1
	for i, k := range keys {
		switch {
		case strings.EqualFold(k, s.opts.UserSchema):
			if ext >= 0 {
				return in, false
			}
			ext = i
		case strings.EqualFold(k, enterpriseUserSchema):
		case strings.HasPrefix(strings.ToLower(k), "urn:"):
			return in, false // the general path names it
		}
	}
	core := b
	if ext >= 0 {
		// The core user without the extension's value: wireUser has no
		// field for a URN key, so this decodes exactly as the whole body.
		v := vals[ext]
		core = make([]byte, 0, len(b)-(v[1]-v[0])+2)
		core = append(append(append(core, b[:v[0]]...), "{}"...), b[v[1]:]...)
	}
	if json.Unmarshal(core, &in.core) != nil {
		return in, false
	}
	if ext >= 0 {
		e, ok := parseExt(b[vals[ext][0]:vals[ext][1]])
		if !ok {
			return in, false
		}
		in.hasExt, in.ext = true, e
	}
	return in, true
}

// topLevel lists an object's keys and the byte range of each value
// without decoding them. ok is false for anything but an object with
// plain keys (no escapes); it need not be valid JSON past that.
func topLevel(b []byte) (keys []string, vals [][2]int, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, nil, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil, nil, skipSpace(b, i+1) == len(b)
	}
	for {
		k, j, ok := plainString(b, i)
		if !ok {
			return nil, nil, false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return nil, nil, false
		}
		i = skipSpace(b, i+1)
		end, ok := skipValue(b, i)
		if !ok {
			return nil, nil, false
		}
		keys, vals = append(keys, k), append(vals, [2]int{i, end})
		var more bool
		if i, more, ok = afterValue(b, end, '}'); !ok {
			return nil, nil, false
		} else if !more {
			return keys, vals, skipSpace(b, i) == len(b)
		}
	}
}

// afterValue reads what follows a member or an element at b[i]: a comma
// (more follow; next is the start of the next one) or closing (the end;
// next is after it).
func afterValue(b []byte, i int, closing byte) (next int, more, ok bool) {
	i = skipSpace(b, i)
	switch {
	case i >= len(b):
		return i, false, false
	case b[i] == ',':
		return skipSpace(b, i+1), true, true
	case b[i] == closing:
		return i + 1, false, true
	}
	return i, false, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a string at b[i] made of printable ASCII without
// escapes, and returns it with the index after its closing quote.
func plainString(b []byte, i int) (string, int, bool) {
	start, end, next, ok := plainSpan(b, i)
	if !ok {
		return "", i, false
	}
	return string(b[start:end]), next, true
}

// skipValue returns the index after the JSON value at b[i]. For invalid
// JSON the index means nothing, but it stays within b.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true
			}
		}
		return len(b), false
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, true
				}
			case '"':
				end, ok := skipValue(b, j)
				if !ok {
					return len(b), false
				}
				j = end - 1
			}
		}
		return len(b), false
	}
	j := i
	for j < len(b) && bytes.IndexByte([]byte(",}] \t\r\n"), b[j]) < 0 {
		j++
	}
	return j, j > i
}

// parseExt reads the extension as the client writes it: locations as
// {"value":…,"role":…} objects, defaultLocation a string, sendInvitation
// a boolean, each key once and spelt exactly, strings plain. Anything
// else is left to encoding/json (ok false).
func parseExt(b []byte) (*wireExt, bool) {
	keys, vals, ok := topLevel(b)
	if !ok {
		return nil, false
	}
	e := &wireExt{}
	for i, k := range keys {
		v := b[vals[i][0]:vals[i][1]]
		switch {
		case k == "locations" && e.Locations == nil:
			l, ok := parseLocations(v)
			if !ok {
				return nil, false
			}
			e.Locations = &l
		case k == "defaultLocation" && e.DefaultLocation == nil:
			s, end, ok := plainString(v, 0)
			if !ok || end != len(v) {
				return nil, false
			}
			e.DefaultLocation = &s
		case k == "sendInvitation" && e.SendInvitation == nil:
			t, f := string(v) == "true", string(v) == "false"
			if !t && !f {
				return nil, false
			}
			e.SendInvitation = &t
		default:
			return nil, false
		}
	}
	return e, true
}

// parseLocations reads [{"value":"…","role":"…"}, …].
func parseLocations(b []byte) ([]LocationRole, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	out := make([]LocationRole, 0, bytes.Count(b, []byte(`"value"`)))
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return out, skipSpace(b, i+1) == len(b)
	}
	for {
		l, end, ok := parseLocation(b, i)
		if !ok {
			return nil, false
		}
		out = append(out, l)
		var more bool
		if i, more, ok = afterValue(b, end, ']'); !ok {
			return nil, false
		} else if !more {
			return out, skipSpace(b, i) == len(b)
		}
	}
}

// parseLocation reads one {"value":"…","role":"…"} (either order) at b[i]
// and returns the index after it.
func parseLocation(b []byte, i int) (LocationRole, int, bool) {
	var l LocationRole
	if i >= len(b) || b[i] != '{' {
		return l, i, false
	}
	var haveValue, haveRole bool
	i = skipSpace(b, i+1)
	for {
		k0, k1, next, ok := plainSpan(b, i)
		if !ok {
			return l, i, false
		}
		i = skipSpace(b, next)
		if i >= len(b) || b[i] != ':' {
			return l, i, false
		}
		v0, v1, next, ok := plainSpan(b, skipSpace(b, i+1))
		if !ok {
			return l, i, false
		}
		switch key := b[k0:k1]; {
		case string(key) == "value" && !haveValue:
			l.Value, haveValue = string(b[v0:v1]), true
		case string(key) == "role" && !haveRole:
			l.Role, haveRole = roleName(b[v0:v1]), true
		default:
			return l, i, false
		}
		var more bool
		if i, more, ok = afterValue(b, next, '}'); !ok {
			return l, i, false
		} else if !more {
			return l, i, haveValue && haveRole
		}
	}
}

// plainSpan is plainString without the copy: the string's bytes are
// b[start:end], and next is the index after its closing quote.
func plainSpan(b []byte, i int) (start, end, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return i + 1, j, j + 1, true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return 0, 0, i, false
		}
	}
	return 0, 0, i, false
}

// roleName returns the role's name, one string for each Visitor role
// rather than one per location of every user.
func roleName(b []byte) string {
	switch string(b) {
	case "user":
		return "user"
	case "admin":
		return "admin"
	}
	return string(b)
}
