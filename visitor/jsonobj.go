package visitor

import (
	"encoding/json"
	"errors"
	"strings"
)

// A user with every location carries a ~35 KB extension under a key that
// is configuration, not a struct tag, so encoding/json alone can only reach
// it through a map: every byte scanned and copied several times, on every
// write and for every listed user. These helpers find the members of one
// object so the extension is cut out or spliced in as bytes, and
// encoding/json still reads and writes everything else.

var (
	errNotObject = errors.New("not a JSON object")
	errObject    = errors.New("malformed JSON object")
)

// member is one member of a JSON object: the key as written between its
// quotes, and where the value lies in the object's bytes.
type member struct {
	key              []byte
	escaped          bool // the key holds a backslash escape
	keyStart         int  // the key's opening quote
	valStart, valEnd int
}

// is reports whether the member's key is name, decoding escapes as
// encoding/json would.
func (m member) is(name string) bool {
	if !m.escaped {
		return string(m.key) == name
	}
	return m.name() == name
}

// name is the key with its escapes decoded.
func (m member) name() string {
	if !m.escaped {
		return string(m.key)
	}
	var k string
	if err := json.Unmarshal(append(append([]byte{'"'}, m.key...), '"'), &k); err != nil {
		return string(m.key) // not valid JSON: whoever reads it next says so
	}
	return k
}

// elements calls fn with each element of the array in b, which must be
// valid JSON (checked before), in order.
func elements(b []byte, fn func([]byte)) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return errObject
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return nil
	}
	for {
		end, err := skipValue(b, i)
		if err != nil {
			return err
		}
		fn(b[i:end])
		var done bool
		if i, done, err = afterValue(b, end, ']'); err != nil || done {
			return err
		}
	}
}

// afterValue reads what follows a value in an object or array: a comma,
// then more, or the closing bracket.
func afterValue(b []byte, i int, closing byte) (next int, done bool, err error) {
	i = skipSpace(b, i)
	switch {
	case i >= len(b):
	case b[i] == ',':
		return skipSpace(b, i+1), false, nil
	case b[i] == closing:
		return i + 1, true, nil
	}
	return 0, false, errObject
}

// members calls fn for each member of the object in b, in order, until fn
// returns false. It checks the object's own structure (braces, keys,
// colons, commas, nothing after the end); values are skipped by their
// strings and brackets, not validated: whatever is taken from b goes
// through encoding/json afterwards.
func members(b []byte, fn func(member) bool) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errNotObject
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return trailing(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errObject
		}
		end, escaped, err := skipString(b, i)
		if err != nil {
			return err
		}
		m := member{key: b[i+1 : end-1], escaped: escaped, keyStart: i}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return errObject
		}
		m.valStart = skipSpace(b, i+1)
		if m.valEnd, err = skipValue(b, m.valStart); err != nil {
			return err
		}
		if !fn(m) {
			return nil
		}
		var done bool
		if i, done, err = afterValue(b, m.valEnd, '}'); err != nil {
			return err
		}
		if done {
			return trailing(b, i)
		}
	}
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errObject
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (end int, escaped bool, err error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped, nil
		}
	}
	return 0, false, errObject
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errObject
	}
	switch b[i] {
	case '"':
		end, _, err := skipString(b, i)
		return end, err
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, _, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errObject
	}
	j := i // number, true, false or null
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i {
		return 0, errObject
	}
	return j, nil
}

// appendString appends s as json.Marshal writes it. Plain ASCII (ids,
// roles, most names) is copied as it is; anything else takes
// json.Marshal's own path, so escapes, HTML-safe characters and invalid
// UTF-8 come out byte for byte the same.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			b, _ := json.Marshal(s) // a string always marshals
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// plainByte holds the bytes json.Marshal writes as they are: printable
// ASCII but the quote, the backslash and the HTML-escaped <, > and &.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = !strings.ContainsRune(`"\<>&`, rune(c))
	}
	return t
}()
