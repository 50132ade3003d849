package visitor

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"
)

// Fuzz tests for the three places hostile bytes enter this package: SCIM
// answers (users, list pages, errors) and the values put into filters.
// `go test` runs the starting corpora in testdata/fuzz; docs/reliability.md
// says how long each was fuzzed and with what result.

func fuzzClient(t testing.TB, base string) *Client {
	t.Helper()
	c, err := New(Options{BaseURL: base, Token: "fuzz-token-secret", RetryMax: 0, RateLimit: 600000, Timeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// comparable drops what encodeUser does not send (the server's id and
// timestamp) so that decode∘encode∘decode can be compared with decode.
func comparable(u User) User {
	u.ID, u.LastModified, u.SendInvitation = "", time.Time{}, false
	if len(u.Access) == 0 {
		u.Access = nil
	}
	return u
}

// FuzzDecodeUser: any bytes decode to a user or to an error that says it
// was decoding a user; a decoded user survives being written back and read
// again unchanged, so no field is silently lost or mangled on the way.
func FuzzDecodeUser(f *testing.F) {
	f.Add([]byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","externalId":"condeco:1","userName":"ana@example.com","name":{"givenName":"Ana","familyName":"Núñez"},"emails":[{"value":"ana@example.com","type":"work","primary":true}],"active":true}`))
	f.Add([]byte(`{"id":"u2","userName":"x","emails":[{"value":"a@b.c","type":"home"},{"value":"w@b.c","type":"work"}],"phoneNumbers":[{"value":"+442079460000","type":"work"},{"value":"+447911123456","type":"mobile"}],"` + DefaultUserSchema + `":{"defaultLocation":"L1","locations":[{"value":"L1","role":"admin"}]}}`))
	f.Add([]byte(`{"userName":"\u202eevil\u200f","name":{"givenName":"a\"b\\c"},"meta":{"lastModified":"2026-11-22T02:00:00Z"}}`))
	f.Add([]byte(`{"` + DefaultUserSchema + `":"not an object"}`))
	f.Add([]byte(`{"active":"yes"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"userName":"ab`))
	f.Add([]byte("{\"userName\":\"\xff\xfe\"}"))
	c := fuzzClient(f, "http://127.0.0.1:1/scim/v2")
	f.Fuzz(func(t *testing.T, raw []byte) {
		u, err := c.decodeUser(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "decoding user") {
				t.Fatalf("error does not say what failed: %v", err)
			}
			return
		}
		for _, s := range []string{u.ID, u.ExternalID, u.UserName, u.Email, u.GivenName, u.FamilyName, u.Phone, u.Mobile, u.Language, u.DefaultLocation} {
			if !utf8.ValidString(s) {
				t.Fatalf("decoded invalid UTF-8 %q", s)
			}
		}
		again, err := c.decodeUser(mustJSON(t, c.encodeUser(u)))
		if err != nil {
			t.Fatalf("re-decoding an encoded user: %v", err)
		}
		if a, b := comparable(u), comparable(again); !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the user:\n got %+v\nwant %+v", b, a)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzListUsers serves any bytes as every page of GET /Users and lists
// through the real client (paging, startIndex checks, decoding). It must
// end with users or an error, never a panic, within a bounded number of
// requests: the fake server stops answering pages after maxPages.
func FuzzListUsers(f *testing.F) {
	f.Add([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"startIndex":1,"itemsPerPage":1,"Resources":[{"id":"u1","userName":"a@b.c","externalId":"condeco:1"}]}`))
	f.Add([]byte(`{"totalResults":0,"Resources":[]}`))
	f.Add([]byte(`{"totalResults":3,"startIndex":7,"Resources":[{"id":"x"}]}`))
	f.Add([]byte(`{"totalResults":2,"Resources":[{"id":"x"},null]}`))
	f.Add([]byte(`{"totalResults":-5,"Resources":[1,2,3]}`))
	f.Add([]byte(`{"totalResults":1,"Resources":[{"id":"x","` + DefaultUserSchema + `":{"locations":"nope"}}]}`))
	f.Add([]byte(`{"totalResults":9007199254740993,"Resources":[]}`))
	f.Add([]byte(`{"Resources":`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		srv, _ := pageServer(20, body)
		defer srv.Close()
		c := fuzzClient(t, srv.URL+"/scim/v2")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		users, err := c.ListUsers(ctx, Filter("externalId", "sw", "condeco:"))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "listing users: ") {
				t.Fatalf("error does not say what failed: %v", err)
			}
			return
		}
		for _, u := range users {
			if !utf8.ValidString(u.UserName) || !utf8.ValidString(u.ExternalID) {
				t.Fatalf("invalid UTF-8 in %+v", u)
			}
		}
	})
}

// FuzzDecodeError: any error body becomes an *Error that keeps the HTTP
// status unless the body names another 4xx/5xx, bounds the detail, and
// never repeats the secret it was told to cut out.
func FuzzDecodeError(f *testing.F) {
	f.Add(400, []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"bad filter"}`), "tok-0123456789abcdef")
	f.Add(409, []byte(`{"status":409,"scimType":"uniqueness","detail":"userName taken"}`), "tok-0123456789abcdef")
	f.Add(401, []byte(`{"detail":"token tok-0123456789abcdef is expired"}`), "tok-0123456789abcdef")
	f.Add(502, []byte(`<html><body>Bad gateway tok-0123456789abcdef</body></html>`), "tok-0123456789abcdef")
	f.Add(500, []byte(`{"status":"999"}`), "tok-0123456789abcdef")
	f.Add(503, []byte(strings.Repeat("é", 300)), "tok-0123456789abcdef")
	f.Add(429, []byte(`{"status":"4`), "secret-secret-secret")
	f.Fuzz(func(t *testing.T, status int, body []byte, secret string) {
		if status < 100 || status > 599 {
			return
		}
		e := decodeError(status, body, secret)
		if e.Status != status && (e.Status < 400 || e.Status >= 600) {
			t.Fatalf("status %d became %d", status, e.Status)
		}
		if n := len(e.Detail); n > maxDetail+len("…")+len("[redacted]")*(maxDetail/max(1, len(secret))+1) {
			t.Fatalf("detail of %d bytes is not bounded", n)
		}
		if !utf8.ValidString(e.Detail) {
			t.Fatalf("detail %q is not valid UTF-8", e.Detail)
		}
		if !strings.HasPrefix(e.Error(), "scim: status ") {
			t.Fatalf("error text %q", e.Error())
		}
		// A secret long enough to be a credential (and not made of the
		// marker's own letters) is never in the detail.
		if len(secret) >= 12 && !strings.Contains("[redacted]…", secret) && strings.Contains(e.Detail, secret) {
			t.Fatalf("detail %q repeats the secret", e.Detail)
		}
		var target *Error
		if !errors.As(error(e), &target) {
			t.Fatal("not an *Error")
		}
	})
}

// FuzzBuildFilter: whatever the value, an accepted filter parses (with the
// same parser servers use) as exactly one comparison on the given
// attribute and operator whose value decodes back to the input. An
// attribute or operator outside the allowed set is refused, not escaped.
func FuzzBuildFilter(f *testing.F) {
	f.Add("userName", "eq", "ana@example.com")
	f.Add("externalId", "sw", "condeco:")
	f.Add("userName", "eq", `x" or userName pr or userName eq "`)
	f.Add("userName", "eq", `a\"b\\`)
	f.Add("name.givenName", "co", "\u202eevil\u200f ‮")
	f.Add("userName", "eq", "pаypal@example.com") // Cyrillic а
	f.Add("userName", "eq", "a\x00b\x1fc\x7fd\u2028e")
	f.Add("userName", "eq", "\xff\xfe")
	f.Add("userName) or (userName", "eq", "x")
	f.Add("userName", "eq or userName pr", "x")
	f.Add(DefaultUserSchema+":defaultLocation", "ne", "")
	f.Add("emails[type eq \"work\"].value", "eq", "x")
	f.Add("userName", "pr", "")
	f.Add("userName", "EW", strings.Repeat(`"\`, 600))
	f.Fuzz(func(t *testing.T, attr, op, value string) {
		got, err := BuildFilter(attr, op, value)
		if err != nil {
			if attrRe.MatchString(attr) && slices.Contains(filterOperators, strings.ToLower(op)) {
				t.Fatalf("refused a valid attribute and operator: %v", err)
			}
			return
		}
		if !attrRe.MatchString(attr) || !slices.Contains(filterOperators, strings.ToLower(op)) {
			t.Fatalf("accepted attribute %q operator %q", attr, op)
		}
		checkOneComparison(t, got, attr, op, value)
		if attr == "externalId" || attr == "userName" {
			if f2 := Filter(attr, op, value); f2 != got {
				t.Fatalf("Filter %q differs from BuildFilter %q", f2, got)
			}
		}
	})
}

// checkOneComparison parses a filter and checks it is attr op "value".
func checkOneComparison(t *testing.T, got, attr, op, value string) {
	t.Helper()
	exp, err := filter.ParseFilter([]byte(got))
	if err != nil {
		t.Fatalf("filter %q does not parse: %v", got, err)
	}
	ae, ok := exp.(*filter.AttributeExpression)
	if !ok {
		t.Fatalf("filter %q parsed as %T, want one comparison", got, exp)
	}
	if p := ae.AttributePath.String(); p != attr {
		t.Fatalf("attribute %q, want %q", p, attr)
	}
	if !strings.EqualFold(string(ae.Operator), op) {
		t.Fatalf("operator %q, want %q", ae.Operator, op)
	}
	cv, ok := ae.CompareValue.(string)
	if !ok {
		t.Fatalf("compare value %T, want a string", ae.CompareValue)
	}
	var back string
	if err := json.Unmarshal([]byte(`"`+cv+`"`), &back); err != nil {
		t.Fatalf("compare value %q is not a JSON string body: %v", cv, err)
	}
	if want := strings.ToValidUTF8(value, string(utf8.RuneError)); back != want {
		t.Fatalf("value %q came back as %q", want, back)
	}
}

// FuzzFilterBatches: the batched externalId lookups of verification are
// only `eq` comparisons joined by `or`, and carry exactly the ids asked
// for, in order, however hostile the ids.
func FuzzFilterBatches(f *testing.F) {
	f.Add("condeco:1", "condeco:2", "condeco:3")
	f.Add(`condeco:7" or externalId pr or externalId eq "`, `\`, `"`)
	f.Add("condeco:\u202e1", "", strings.Repeat("x", 4000))
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ids := []string{a, b, c}
		var got []string
		for _, batch := range filterBatches(ids, MaxFilterBytes) {
			exp, err := filter.ParseFilter([]byte(batch))
			if err != nil {
				t.Fatalf("batch %q does not parse: %v", batch, err)
			}
			got = append(got, eqValues(t, exp)...)
		}
		for i := range ids {
			ids[i] = strings.ToValidUTF8(ids[i], string(utf8.RuneError))
		}
		if !reflect.DeepEqual(got, ids) {
			t.Fatalf("batches carry %q, want %q", got, ids)
		}
	})
}

// eqValues walks an or-tree of externalId eq comparisons, left to right.
func eqValues(t *testing.T, e filter.Expression) []string {
	t.Helper()
	switch x := e.(type) {
	case *filter.LogicalExpression:
		if x.Operator != filter.OR {
			t.Fatalf("operator %q in a batch", x.Operator)
		}
		return append(eqValues(t, x.Left), eqValues(t, x.Right)...)
	case *filter.AttributeExpression:
		if x.AttributePath.String() != "externalId" || x.Operator != filter.EQ {
			t.Fatalf("unexpected comparison %v", x)
		}
		var back string
		if err := json.Unmarshal([]byte(`"`+x.CompareValue.(string)+`"`), &back); err != nil {
			t.Fatalf("compare value: %v", err)
		}
		return []string{back}
	}
	t.Fatalf("unexpected %T in a batch", e)
	return nil
}

// A server that ignores startIndex and leaves it out of its answers, and
// whose totalResults is larger than what it returns, sends the same page
// again and again. The client must stop (or fail) within a few pages, not
// page on to maxListItems with duplicates of the same users.
func TestListStopsWhenServerRepeatsPages(t *testing.T) {
	srv, pages := pageServer(20, []byte(`{"totalResults":1000,"Resources":[{"id":"u1","userName":"a@example.com","externalId":"condeco:1"},{"id":"u2","userName":"b@example.com","externalId":"condeco:2"}]}`))
	defer srv.Close()
	c := fuzzClient(t, srv.URL+"/scim/v2")
	users, err := c.ListUsers(context.Background(), "")
	n := pages()
	t.Logf("%d pages requested, %d users returned, err %v", n, len(users), err)
	if n > 3 || (err == nil && len(users) != 2) {
		t.Fatalf("%d pages requested for a repeated page; %d users returned", n, len(users))
	}
}

// A secret that straddles the cut at maxDetail must not survive in part:
// the cut keeps the first bytes of the token, and redaction afterwards no
// longer finds the whole token to remove.
func TestDecodeErrorSecretAcrossTruncation(t *testing.T) {
	const secret = "tok-0123456789abcdef0123456789abcdef"
	body := []byte(`{"detail":"` + strings.Repeat("x", maxDetail-10) + secret + `"}`)
	e := decodeError(http.StatusUnauthorized, body, secret)
	if strings.Contains(e.Detail, secret[:10]) {
		t.Fatalf("detail keeps the start of the secret: %q", e.Detail[len(e.Detail)-20:])
	}
}

// pageServer answers every user listing with body and refuses after
// maxPages pages, so a client that pages for ever fails instead of
// hanging; pages reports how many listings were asked for.
func pageServer(maxPages int, body []byte) (srv *httptest.Server, pages func() int) {
	var mu sync.Mutex
	n := 0
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/ServiceProviderConfig") {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		n++
		over := n > maxPages
		mu.Unlock()
		if over {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", mediaType)
		w.Write(body)
	}))
	return srv, func() int { mu.Lock(); defer mu.Unlock(); return n }
}
