package visitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// The encoders and decoder of wire.go write and cut bytes themselves for
// speed. These are the plain encoding/json versions they replaced (commit
// 272e3a5), kept as the reference they must agree with byte for byte.

func refEncodeUser(c *Client, u User) []byte {
	active := u.Active
	w := wireUser{
		Schemas:           []string{CoreUserSchema, c.userSchema},
		ExternalID:        u.ExternalID,
		UserName:          u.UserName,
		Name:              &wireName{GivenName: u.GivenName, FamilyName: u.FamilyName},
		Emails:            emailsOf(u),
		PreferredLanguage: u.Language,
		Active:            &active,
	}
	if p := phonesOf(u); len(p) > 0 {
		w.PhoneNumbers = p
	}
	b, err := json.Marshal(w)
	if err != nil {
		panic(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	ext := wireUserExt{DefaultLocation: u.DefaultLocation, SendInvitation: u.SendInvitation}
	if len(u.Access) > 0 {
		ext.Locations = refAccess(u.Access)
	}
	m[c.userSchema] = ext
	if b, err = json.Marshal(m); err != nil {
		panic(err)
	}
	return b
}

func refAccess(as []Access) []wireAccess {
	out := make([]wireAccess, 0, len(as))
	for _, a := range as {
		out = append(out, wireAccess{Value: a.LocationID, Role: string(a.Role)})
	}
	return out
}

func refPatchBody(ops []patchOp) []byte {
	ref := make([]patchOp, len(ops))
	for i, op := range ops {
		ref[i] = op
		if l, ok := op.Value.(locationList); ok {
			ref[i].Value = refAccess(l)
		}
	}
	b, err := json.Marshal(struct {
		Schemas    []string  `json:"schemas"`
		Operations []patchOp `json:"Operations"`
	}{[]string{PatchOpSchema}, ref})
	if err != nil {
		panic(err)
	}
	return b
}

func refDecodeUser(c *Client, raw json.RawMessage) (User, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return User{}, fmt.Errorf("decoding user: %w", err)
	}
	ext, hasExt := top[c.userSchema]
	core := raw
	if hasExt {
		delete(top, c.userSchema)
		var err error
		if core, err = json.Marshal(top); err != nil {
			return User{}, fmt.Errorf("decoding user: %w", err)
		}
	}
	var w wireUser
	if err := json.Unmarshal(core, &w); err != nil {
		return User{}, fmt.Errorf("decoding user: %w", err)
	}
	u := userOf(w)
	if hasExt && string(ext) != "null" {
		e, err := c.ext.decode(ext)
		if err != nil {
			return User{}, fmt.Errorf("decoding user %q: visitor extension: %w", u.ID, err)
		}
		u.DefaultLocation, u.Access = e.defaultLocation, e.access
	}
	return u, nil
}

// sameMeaning reports whether two JSON texts decode to the same value.
func sameMeaning(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func wireUsers() map[string]User {
	full := userWith(3)
	full.Access[1].Role = RoleAdmin
	full.Access[2].Role = ""
	odd := sampleUser(7)
	odd.GivenName, odd.FamilyName = `Ana "<b>" & co\`, "Núñez\u2028\t"
	odd.Access = []Access{{LocationID: "loc<1>&\"x\"", Role: "réception"}, {LocationID: "\x01"}}
	odd.DefaultLocation = "loc<1>"
	bare := User{UserName: "a@example.com", Email: "a@example.com"}
	noAccess := sampleUser(8)
	noAccess.DefaultLocation = "loc-0001"
	return map[string]User{"full": full, "escapes": odd, "bare": bare, "no access": noAccess,
		"1000 locations": userWith(1000), "invitation only": {UserName: "b@x", Email: "b@x", SendInvitation: true}}
}

// TestEncodeUserSameBytes: the create body is byte for byte what the map
// round trip wrote, for user schemas that sort before, among and after the
// core keys, and one equal to a core key (the map kept only the extension).
func TestEncodeUserSameBytes(t *testing.T) {
	for _, schema := range []string{DefaultUserSchema, "aaa:first", "phoneNumbers2", "zzz:last", "name", "userName", "urn:<&>"} {
		c, err := New(Options{BaseURL: "https://visitor.example/scim/v2", Token: "t", UserSchema: schema}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for name, u := range wireUsers() {
			t.Run(schema+"/"+name, func(t *testing.T) {
				got, want := c.encodeUser(u), refEncodeUser(c, u)
				if string(got) != string(want) {
					t.Fatalf("body differs\n got %s\nwant %s", clip(got), clip(want))
				}
			})
		}
	}
}

// TestEncodeUserInvalidUTF8: invalid UTF-8 the old double pass turned into
// U+FFFD itself now goes out as the escape \ufffd: other bytes, the same
// text.
func TestEncodeUserInvalidUTF8(t *testing.T) {
	c, err := New(Options{BaseURL: "https://visitor.example/scim/v2", Token: "t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := sampleUser(1)
	u.GivenName, u.Access = "bad\xffname", []Access{{LocationID: "l\xfe", Role: "user"}}
	if got, want := c.encodeUser(u), refEncodeUser(c, u); !sameMeaning(got, want) {
		t.Fatalf("meaning differs\n got %s\nwant %s", got, want)
	}
}

// TestPatchBodySameBytes: a PATCH of every field is what json.Marshal
// wrote for the same operations.
func TestPatchBodySameBytes(t *testing.T) {
	c, err := New(Options{BaseURL: "https://visitor.example/scim/v2", Token: "t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := []Field{FieldUserName, FieldGivenName, FieldFamilyName, FieldPhone, FieldMobile, FieldLanguage,
		FieldActive, FieldDefaultLocation, FieldAccess, FieldExternalID}
	for name, u := range wireUsers() {
		u.ExternalID = "condeco:1"
		for _, fields := range [][]Field{all, {FieldAccess}, {FieldGivenName}} {
			t.Run(fmt.Sprint(name, fields), func(t *testing.T) {
				ops, err := c.patchOps(u, fields)
				if err != nil {
					t.Fatal(err)
				}
				got := patchRequest{Schemas: []string{PatchOpSchema}, Operations: ops}.appendJSON(nil)
				if want := refPatchBody(ops); string(got) != string(want) {
					t.Fatalf("body differs\n got %s\nwant %s", clip(got), clip(want))
				}
				// encoding/json reaches the same bytes through MarshalJSON.
				if viaJSON := mustJSON(t, patchRequest{Schemas: []string{PatchOpSchema}, Operations: ops}); string(viaJSON) != string(got) {
					t.Fatalf("MarshalJSON differs\n got %s\nwant %s", clip(viaJSON), clip(got))
				}
			})
		}
	}
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// TestDecodeUserSameAsMap: cutting the extension out of the raw bytes
// reads every user as the map split did, including escaped, repeated and
// null extension keys, whitespace, and bytes that are not a user.
func TestDecodeUserSameAsMap(t *testing.T) {
	ext := `{"defaultLocation":"loc-1","locations":[{"value":"loc-1","role":"admin"},{"value":"a\"]}","role":"user"}]}`
	core := `"id":"u1","userName":"a@b.c","emails":[{"value":"a@b.c","type":"work","primary":true}],"active":true`
	key := `"` + DefaultUserSchema + `"`
	escKey := `"` + strings.Replace(DefaultUserSchema, "urn", `\u0075rn`, 1) + `"`
	cases := map[string]string{
		"extension last":      `{` + core + `,` + key + `:` + ext + `}`,
		"extension first":     `{` + key + `:` + ext + `,` + core + `}`,
		"extension only":      `{` + key + `:` + ext + `}`,
		"escaped key":         `{` + core + `,` + escKey + `:` + ext + `}`,
		"repeated key":        `{` + key + `:{"defaultLocation":"first"},` + core + `,` + key + `:` + ext + `}`,
		"null extension":      `{` + core + `,` + key + `:null}`,
		"spaces":              " \n{ " + key + " :\t" + ext + " , " + core + " }\r\n",
		"no extension":        `{` + core + `}`,
		"empty object":        `{}`,
		"null":                `null`,
		"array":               `[]`,
		"string extension":    `{` + key + `:"x"}`,
		"number extension":    `{` + key + `:12}`,
		"cut after extension": `{` + key + `:` + ext,
		"garbage after":       `{` + core + `,` + key + `:` + ext + `}x`,
		"missing comma":       `{` + key + `:` + ext + ` ` + core + `}`,
		"broken extension":    `{` + key + `:{"locations":[}}`,
		"key case differs":    `{` + strings.ToUpper(key) + `:` + ext + `}`,
		"extension in a name": `{"name":{` + key + `:` + ext + `},` + core + `}`,
	}
	c, err := New(Options{BaseURL: "https://visitor.example/scim/v2", Token: "t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			got, gerr := c.decodeUser(json.RawMessage(raw))
			if refDuplicates([]byte(raw), true) {
				if !errors.Is(gerr, ErrMalformed) {
					t.Fatalf("a user naming a member twice: got %+v, %v; want %v", got, gerr, ErrMalformed)
				}
				return
			}
			want, werr := refDecodeUser(c, json.RawMessage(raw))
			if (gerr == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, %v\nwant %+v, %v", got, gerr, want, werr)
			}
			if gerr != nil && !strings.HasPrefix(gerr.Error(), "decoding user") {
				t.Fatalf("error does not say what failed: %v", gerr)
			}
		})
	}
}

// FuzzWireSameAsMap: for any bytes, a list page reads as json.Unmarshal
// reads it, decodeUser agrees with the map split, and the decoded user (whose strings encoding/json has made valid UTF-8)
// encodes to the bytes the map round trip wrote.
func FuzzWireSameAsMap(f *testing.F) {
	for _, u := range wireUsers() {
		if len(u.Access) < 10 { // a big starting input makes minimising crawl
			f.Add(refEncodeUser(&Client{userSchema: DefaultUserSchema}, u))
		}
	}
	f.Add([]byte(`{"` + DefaultUserSchema + `":{"locations":[{"value":"x"}]},"id":"1","` + DefaultUserSchema + `":null}`))
	f.Add([]byte(`{"a":"\"` + DefaultUserSchema + `\"","` + DefaultUserSchema + `":{}}`))
	f.Add([]byte(`{"totalResults":2,"resources":[{"id":"1"},[]],"Resources":[{"id":"2"}]}`))
	c := fuzzClient(f, "http://127.0.0.1:1/scim/v2")
	f.Fuzz(func(t *testing.T, raw []byte) {
		samePage(t, raw)
		got, gerr := c.decodeUser(raw)
		if json.Valid(raw) && refDuplicates(raw, true) {
			if !errors.Is(gerr, ErrMalformed) {
				t.Fatalf("a user naming a member twice: got %+v, %v; want %v", got, gerr, ErrMalformed)
			}
			return
		}
		if errors.Is(gerr, ErrMalformed) {
			t.Fatalf("refused %q without a member named twice: %v", clip(raw), gerr)
		}
		want, werr := refDecodeUser(c, raw)
		if (gerr == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v\nwant %+v, %v", got, gerr, want, werr)
		}
		if gerr != nil {
			return
		}
		if enc, ref := c.encodeUser(got), refEncodeUser(c, got); string(enc) != string(ref) {
			t.Fatalf("body differs\n got %s\nwant %s", clip(enc), clip(ref))
		}
	})
}

// samePage fails when decodeAnswer reads raw otherwise than json.Unmarshal
// into a fresh listResponse: error or not, every field, every resource's
// bytes.
func samePage(t *testing.T, raw []byte) {
	t.Helper()
	var got, want listResponse
	gerr, werr := got.decodeAnswer(raw), json.Unmarshal(raw, &want)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("page %q: err %v, json.Unmarshal %v", clip(raw), gerr, werr)
	}
	if gerr != nil {
		return
	}
	// A page naming a member twice is refused by list (malformed); its
	// fields still read as encoding/json reads them.
	if dup := refDuplicates(raw, false); (got.malformed != nil) != dup {
		t.Fatalf("page %q: malformed %v, a member named twice %v", clip(raw), got.malformed, dup)
	}
	got.malformed = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("page %q:\n got %+v\nwant %+v", clip(raw), got, want)
	}
}

// TestListPageSameAsUnmarshal: a page split in place reads as
// json.Unmarshal reads it, including Resources spelled in another case,
// repeated, null, empty, of the wrong type, and pages that are not JSON.
func TestListPageSameAsUnmarshal(t *testing.T) {
	u := string(rawUser(2))
	cases := map[string]string{
		"page":              `{"schemas":["x"],"totalResults":2,"startIndex":1,"itemsPerPage":2,"Resources":[` + u + `, ` + u + `]}`,
		"resources first":   `{"Resources":[1,"a\"]",null,{"x":[]}],"totalResults":4}`,
		"other case":        `{"resources":[` + u + `],"TOTALRESULTS":1}`,
		"long s folds":      "{\"Re\u017fources\":[1],\"totalResults\":1}",
		"escaped key":       `{"R\u0065sources":[1,2]}`,
		"repeated":          `{"Resources":[1,2,3],"totalResults":3,"Resources":[4]}`,
		"repeated, null":    `{"Resources":[1],"Resources":null}`,
		"wrong type first":  `{"Resources":"x","Resources":[1]}`,
		"wrong type":        `{"Resources":{"a":1}}`,
		"empty":             `{"Resources":[],"totalResults":0}`,
		"empty with spaces": " { \"Resources\" : [ ] } ",
		"no resources":      `{"totalResults":0}`,
		"bad total":         `{"totalResults":"1","Resources":[1]}`,
		"null page":         `null`,
		"array page":        `[]`,
		"cut":               `{"Resources":[` + u,
		"garbage after":     `{"Resources":[]}x`,
		"empty body":        ``,
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) { samePage(t, []byte(raw)) })
	}
}

// refDuplicates says whether an object in raw (valid JSON) has two member
// names equal ignoring case: at any depth, or only at the top with deep
// false. It reads tokens with encoding/json, independent of jsonobj.go.
func refDuplicates(raw []byte, deep bool) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct {
		object bool
		keys   map[string]bool
		want   bool // an object expecting a key next
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.want {
			if k, ok := tok.(string); ok {
				if (deep || len(stack) == 1) && top.keys[strings.ToLower(k)] {
					return true
				}
				top.keys[strings.ToLower(k)] = true
				top.want = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, want: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].want = true
		}
		if len(stack) == 0 {
			return false
		}
	}
}
