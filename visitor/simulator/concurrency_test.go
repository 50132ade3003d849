package simulator

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// Concurrent creates of one userName (different case) must give exactly one
// user: the check and the insert happen under one lock.
func TestConcurrentCreateSameUser(t *testing.T) {
	h := newHarness(t, Options{})
	const n = 16
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := "ana@example.com"
			if i%2 == 1 {
				email = "ANA@example.com"
			}
			st, _, err := h.try("POST", "/Users", user(email, fmt.Sprintf("condeco:%d", i)))
			if err != nil {
				t.Error(err)
			}
			statuses <- st
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	if count[http.StatusCreated] != 1 || count[http.StatusConflict] != n-1 {
		t.Fatalf("statuses %v", count)
	}
	if len(h.srv.Users()) != 1 {
		t.Fatalf("%d users", len(h.srv.Users()))
	}
}

func BenchmarkCreateUser(b *testing.B) {
	h := newHarness(b, Options{})
	b.ResetTimer()
	for i := range b.N {
		st, _, err := h.try("POST", "/Users", user(fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("condeco:%d", i)))
		if err != nil || st != 201 {
			b.Fatalf("%d %v", st, err)
		}
	}
}

// BenchmarkListPage lists one full page from 5000 users with the managed
// filter, the sync's read path.
func BenchmarkListPage(b *testing.B) {
	h := newHarness(b, Options{})
	for i := range 5000 {
		h.srv.mu.Lock()
		u := &User{ID: fmt.Sprintf("id%05d", i), ExternalID: fmt.Sprintf("condeco:%d", i), UserName: fmt.Sprintf("u%d@example.com", i),
			GivenName: "A", FamilyName: "B", Emails: []Email{{Value: fmt.Sprintf("u%d@example.com", i), Type: "work", Primary: true}},
			Active: true, ViaSCIM: true}
		h.srv.users[u.ID] = u
		h.srv.userOrder = append(h.srv.userOrder, u.ID)
		h.srv.mu.Unlock()
	}
	b.ResetTimer()
	for range b.N {
		st, _, err := h.try("GET", "/Users?filter=externalId%20sw%20%22condeco:%22&startIndex=2401&count=200", nil)
		if err != nil || st != 200 {
			b.Fatalf("%d %v", st, err)
		}
	}
}
