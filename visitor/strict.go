package visitor

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed means a resource or listing from the target is ambiguous:
// an object with two members of one name. encoding/json keeps the last
// one silently (and matches names case-insensitively), so a duplicated
// externalId could make a managed user look unmanaged and be deleted and
// created again. Such an answer is refused, naming the member.
var ErrMalformed = errors.New("ambiguous answer")

// strictMembers checks every object in b, which must be valid JSON, at
// every depth: no two members whose names are equal ignoring case. RFC
// 7643 §2.1 makes attribute names case-insensitive, so "ExternalId" alone
// is externalId, but "externalId" and "externalID" together name one
// attribute twice. path names the resource b belongs to, for the error
// (which names the member; building the path of every nested value would
// cost an allocation per value of every listed user).
func strictMembers(b []byte, path string) error {
	// One pass over the bytes with a stack of the open objects' keys: no
	// callback, and no allocation for keys without escapes, since every
	// listed user goes through here.
	var stackBuf [16]int
	var keysBuf [32][]byte
	stack := stackBuf[:0] // per open value: where its keys start in keys, -1 for an array
	keys := keysBuf[:0]
	expectKey := false
	for i := 0; i < len(b); {
		switch b[i] {
		case '{':
			stack = append(stack, len(keys))
			expectKey = true
			i++
		case '[':
			stack = append(stack, -1)
			i++
		case '}', ']':
			if len(stack) > 0 {
				if top := stack[len(stack)-1]; top >= 0 {
					keys = keys[:top]
				}
				stack = stack[:len(stack)-1]
			}
			expectKey = false
			i++
		case ',':
			expectKey = len(stack) > 0 && stack[len(stack)-1] >= 0
			i++
		case '"':
			end, escaped, err := skipString(b, i)
			if err != nil {
				return err
			}
			if expectKey {
				key := b[i+1 : end-1]
				if escaped {
					key = []byte(member{key: key, escaped: true}.name())
				}
				for _, k := range keys[stack[len(stack)-1]:] {
					if foldEqual(k, key) {
						return fmt.Errorf("%w: member %q appears twice in %s (as %q and %q)", ErrMalformed, string(key), path, string(k), string(key))
					}
				}
				keys = append(keys, key)
				expectKey = false
			}
			i = end
		default:
			i++
		}
	}
	return nil
}

// foldEqual is strings.EqualFold(strings.ToLower) on bytes: what a lower-
// cased comparison would say, without a copy.
func foldEqual(a, b []byte) bool {
	if len(a) != len(b) {
		// Lower-casing keeps an ASCII name's length: only a name with
		// other letters can still match.
		if ascii(a) && ascii(b) {
			return false
		}
		return strings.ToLower(string(a)) == strings.ToLower(string(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x >= 0x80 || y >= 0x80 {
			return strings.ToLower(string(a)) == strings.ToLower(string(b))
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
