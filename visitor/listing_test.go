package visitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// A listing that cannot be the server's whole answer is an error naming
// the page and what was wrong, never a shorter list to plan on.
func TestListingIntegrity(t *testing.T) {
	user := func(id int) map[string]any {
		return map[string]any{"id": fmt.Sprint("u", id), "externalId": fmt.Sprint("condeco:", id),
			"userName": fmt.Sprintf("u%d@example.com", id), "active": true,
			"emails": []any{map[string]any{"value": fmt.Sprintf("u%d@example.com", id), "primary": true, "type": "work"}}}
	}
	// page answers startIndex with (totalResults, ids, startIndex echoed).
	type page func(start int) (total int, ids []int, echo bool)
	cases := []struct {
		name  string
		page  page
		words string
	}{
		{"empty page 2", func(start int) (int, []int, bool) {
			if start == 1 {
				return 4, []int{1, 2}, true
			}
			return 4, nil, true
		}, "page 2 (startIndex 3): listing is not whole: the page is empty, but totalResults is 4 and 2 came"},
		{"totalResults shrinks", func(start int) (int, []int, bool) {
			if start == 1 {
				return 4, []int{1, 2}, true
			}
			return 3, []int{3}, true
		}, "page 2 (startIndex 3): listing is not whole: totalResults changed from 4 (page 1) to 3"},
		{"negative totalResults", func(int) (int, []int, bool) { return -1, []int{1}, true }, "page 1 (startIndex 1): listing is not whole: totalResults is -1"},
		{"no totalResults", func(int) (int, []int, bool) { return 0, []int{1, 2}, true }, "2 resources but totalResults 0"},
		{"page 1 again, startIndex echoed as asked", func(int) (int, []int, bool) { return 4, []int{1, 2}, true }, `resource "u1" was already listed on page 1`},
		{"a resource on two pages", func(start int) (int, []int, bool) {
			if start == 1 {
				return 4, []int{1, 2}, true
			}
			return 4, []int{2, 3}, true
		}, `page 2 (startIndex 3): listing is not whole: resource "u2" was already listed on page 1`},
		{"two resources with one id", func(int) (int, []int, bool) { return 2, []int{7, 7}, true }, `resource "u7" was already listed on page 1`},
		{"whole", func(start int) (int, []int, bool) {
			if start == 1 {
				return 3, []int{1, 2}, true
			}
			return 3, []int{3}, true
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
				total, ids, echo := tc.page(start)
				res := []any{}
				for _, id := range ids {
					res = append(res, user(id))
				}
				body := map[string]any{"schemas": []string{ListResponseSchema}, "totalResults": total, "Resources": res}
				if echo {
					body["startIndex"] = start
				}
				w.Header().Set("Content-Type", "application/scim+json")
				json.NewEncoder(w).Encode(body)
			}))
			defer srv.Close()
			o := testOptions(srv.URL)
			o.PageSize = 2
			c, _ := newClient(t, o)
			us, err := c.ListManagedUsers(context.Background(), "condeco:")
			if tc.words == "" {
				if err != nil || len(us) != 3 {
					t.Fatalf("whole listing: %d users, %v", len(us), err)
				}
				return
			}
			if !errors.Is(err, ErrListing) || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("err = %v\nwant %v saying %q", err, ErrListing, tc.words)
			}
		})
	}
}
