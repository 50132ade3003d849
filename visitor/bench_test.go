package visitor

import (
	"context"
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
