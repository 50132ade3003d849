package visitor

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkListUsers pages 1000 users in pages of 200 from a local fake,
// measuring client overhead (decode, paging), not the network.
func BenchmarkListUsers(b *testing.B) {
	f := newFake(b)
	for i := 0; i < 1000; i++ {
		f.addUser(map[string]any{"userName": fmt.Sprintf("u%d@example.com", i), "externalId": fmt.Sprintf("condeco:%d", i),
			"emails": []map[string]any{{"value": fmt.Sprintf("u%d@example.com", i), "type": "work", "primary": true}}})
	}
	o := testOptions(f.url())
	o.RateLimit = 1 << 30
	c, err := New(o, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		us, err := c.ListManagedUsers(context.Background(), "condeco:")
		if err != nil || len(us) != 1000 {
			b.Fatalf("%d users, %v", len(us), err)
		}
	}
}

func BenchmarkCreateUser(b *testing.B) {
	f := newFake(b)
	o := testOptions(f.url())
	o.RateLimit = 1 << 30
	c, err := New(o, nil)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		if _, err := c.CreateUser(context.Background(), sampleUser(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// rawUser is a listed user as Visitor sends it, with n locations.
func rawUser(n int) []byte {
	locs := make([]map[string]string, n)
	for i := range locs {
		locs[i] = map[string]string{"value": fmt.Sprintf("loc-%04d", i+1), "role": "user"}
	}
	b, err := json.Marshal(map[string]any{
		"schemas": []string{CoreUserSchema, DefaultUserSchema}, "id": "5f0c9a", "externalId": "condeco:42",
		"userName": "ana.silva@example.com", "name": map[string]string{"givenName": "Ana", "familyName": "Silva"},
		"emails":       []map[string]any{{"value": "ana.silva@example.com", "type": "work", "primary": true}},
		"phoneNumbers": []map[string]string{{"value": "+442071234567", "type": "work"}},
		"active":       true, "meta": map[string]string{"lastModified": "2026-11-22T09:00:00Z"},
		DefaultUserSchema: map[string]any{"defaultLocation": "loc-0001", "locations": locs},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// benchClient is a client that is never sent anything: the benchmarks
// below measure encoding and decoding alone.
func benchClient(b *testing.B) *Client {
	c, err := New(Options{BaseURL: "https://visitor.example/scim/v2", Token: "t"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkDecodeUser1000Locations maps one listed user with 1 000
// locations (a tenant of 100 000 users at one location per hundred) to a
// User, as a listing does for every user; most users carry one of a few
// location lists.
func BenchmarkDecodeUser1000Locations(b *testing.B) {
	c := benchClient(b)
	raw := rawUser(1000)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if u, err := c.decodeUser(raw); err != nil || len(u.Access) != 1000 {
			b.Fatalf("%d locations, %v", len(u.Access), err)
		}
	}
}

// userWith gives a user with n locations, as the sync creates one when
// every user has every location.
func userWith(n int) User {
	u := sampleUser(42)
	u.DefaultLocation = "loc-0001"
	u.SendInvitation = true
	u.Access = make([]Access, n)
	for i := range u.Access {
		u.Access[i] = Access{LocationID: fmt.Sprintf("loc-%04d", i+1), Role: RoleUser}
	}
	return u
}

// BenchmarkEncodeUser1000Locations writes the body of one create for a
// user with 1 000 locations (~35 KB), as CreateUser sends it.
func BenchmarkEncodeUser1000Locations(b *testing.B) {
	c := benchClient(b)
	u := userWith(1000)
	b.SetBytes(int64(len(c.encodeUser(u))))
	b.ReportAllocs()
	for b.Loop() {
		if body := c.encodeUser(u); len(body) < 30000 {
			b.Fatalf("%d bytes", len(body))
		}
	}
}

// BenchmarkUserAnswer1000Locations reads the answer to a create or update
// of a user with 1 000 locations, from the bytes received to the User, as
// call and CreateUser do (check that it is not garbled, then decode).
func BenchmarkUserAnswer1000Locations(b *testing.B) {
	c := benchClient(b)
	raw := rawUser(1000)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		a := userAnswer{c: c}
		if err := decodeBody(raw, &a); err != nil {
			b.Fatal(err)
		}
		if u, err := a.result(); err != nil || len(u.Access) != 1000 {
			b.Fatalf("%d locations, %v", len(u.Access), err)
		}
	}
}

// listPage is a page of n listed users with 1 000 locations each.
func listPage(n int) []byte {
	u := rawUser(1000)
	page := fmt.Appendf(nil, `{"schemas":[%q],"totalResults":%d,"startIndex":1,"itemsPerPage":%d,"Resources":[`, ListResponseSchema, n, n)
	for i := range n {
		if i > 0 {
			page = append(page, ',')
		}
		page = append(page, u...)
	}
	return append(page, "]}"...)
}

// BenchmarkListPage1000Locations reads one full list page (200 users with
// 1 000 locations each, 7 MB) into Users, as list and ListUsers do: a
// listing of 100 000 users is 500 of them.
func BenchmarkListPage1000Locations(b *testing.B) {
	c := benchClient(b)
	data := listPage(DefaultPageSize)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var page listResponse
		if err := decodeBody(data, &page); err != nil {
			b.Fatal(err)
		}
		for _, r := range page.Resources {
			if u, err := c.decodeUser(r); err != nil || len(u.Access) != 1000 {
				b.Fatalf("%d locations, %v", len(u.Access), err)
			}
		}
	}
}
