package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"condeco-visitor-sync/visitor"
)

// locIDs returns loc-00 … loc-(n-1).
func locIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("loc-%02d", i)
	}
	return out
}

// everywhere gives role r on every id, then applies "loc:role" overrides
// (an empty role drops the location).
func everywhere(ids []string, r visitor.Role, overrides ...string) []visitor.Access {
	set := map[string][]visitor.Role{}
	for _, id := range ids {
		set[id] = []visitor.Role{r}
	}
	for _, o := range overrides {
		l, role, _ := strings.Cut(o, ":")
		if role == "" {
			delete(set, l)
			continue
		}
		set[l] = nil
		for _, x := range strings.Split(role, "+") {
			set[l] = append(set[l], visitor.Role(x))
		}
	}
	var out []visitor.Access
	for l, rs := range set {
		for _, x := range rs {
			out = append(out, visitor.Access{LocationID: l, Role: x})
		}
	}
	return out
}

// roundTrip compacts list against header, goes through JSON as the log
// does, expands, and fails unless it gets the sorted, de-duplicated list.
func roundTrip(t *testing.T, list []visitor.Access, header []string) (*Access, []byte) {
	t.Helper()
	form := compactAccess(list, newHeader(header))
	if len(list) == 0 {
		if form != nil {
			t.Fatalf("empty list compacted to %+v", form)
		}
		return nil, nil
	}
	b, err := json.Marshal(form)
	if err != nil {
		t.Fatal(err)
	}
	var back Access
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	got, err := back.Expand(header)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if want := visitor.SortAccess(list); !slices.Equal(got, want) {
		t.Fatalf("round trip of %s\ngot  %v\nwant %v", b, got, want)
	}
	return form, b
}

func TestAuditAccessRoundTrip(t *testing.T) {
	ten := locIDs(10)
	for _, tc := range []struct {
		name   string
		list   []visitor.Access
		header []string
		want   string // the JSON written
	}{
		{"every location one role", everywhere(ten, "user"), ten, `{"all":"user"}`},
		{"global admin on the default", everywhere(ten, "user", "loc-03:admin"), ten,
			`{"all":"user","except":[{"locationId":"loc-03","role":"admin"}]}`},
		{"admin everywhere", everywhere(ten, "admin"), ten, `{"all":"admin"}`},
		{"missing locations", everywhere(ten, "user", "loc-01:", "loc-09:"), ten, `{"all":"user","missing":["loc-01","loc-09"]}`},
		{"hand-granted second role", everywhere(ten, "user", "loc-02:user+reception"), ten,
			`{"all":"user","except":[{"locationId":"loc-02","role":"reception"},{"locationId":"loc-02","role":"user"}]}`},
		{"location the header lacks", everywhere(ten, "user", "gone:security"), ten,
			`{"all":"user","except":[{"locationId":"gone","role":"security"}]}`},
		{"duplicates and disorder", append(everywhere(ten, "user"), visitor.Access{LocationID: "loc-05", Role: "user"}), ten, `{"all":"user"}`},
		{"short list stays plain", everywhere(locIDs(3), "user"), locIDs(3),
			`[{"locationId":"loc-00","role":"user"},{"locationId":"loc-01","role":"user"},{"locationId":"loc-02","role":"user"}]`},
		{"half the locations differ", everywhere(ten, "user", "loc-00:admin", "loc-01:admin", "loc-02:admin", "loc-03:admin", "loc-04:admin"), ten,
			`{"all":"admin","except":[{"locationId":"loc-05","role":"user"},{"locationId":"loc-06","role":"user"},{"locationId":"loc-07","role":"user"},{"locationId":"loc-08","role":"user"},{"locationId":"loc-09","role":"user"}]}`},
		{"irregular list stays plain", everywhere(ten, "user", "loc-00:admin", "loc-01:admin", "loc-02:admin", "loc-03:reception", "loc-04:reception", "loc-05:reception"), ten, ""},
		{"mostly missing stays plain", everywhere(ten, "user", "loc-00:", "loc-01:", "loc-02:", "loc-03:"), locIDs(20), ""},
		{"no header", everywhere(ten, "user"), nil, ""},
		{"empty", nil, ten, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form, b := roundTrip(t, tc.list, tc.header)
			switch {
			case tc.want != "" && string(b) != tc.want:
				t.Errorf("written as %s\nwant %s", b, tc.want)
			case tc.want == "" && form.Compact():
				t.Errorf("written compact: %s", b)
			}
		})
	}
}

// Random lists against random headers: mostly one role with exceptions,
// missing and extra locations, several roles on a location, duplicates,
// any order.
func TestAuditAccessRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	roles := []visitor.Role{"user", "admin", "reception", "security"}
	compact := 0
	for range 3000 {
		header := locIDs(rng.IntN(40))
		base := roles[rng.IntN(2)]
		var list []visitor.Access
		for _, id := range header {
			switch p := rng.IntN(100); {
			case p < 5: // missing
			case p < 10:
				list = append(list, visitor.Access{LocationID: id, Role: roles[rng.IntN(len(roles))]})
			case p < 13:
				list = append(list, visitor.Access{LocationID: id, Role: base}, visitor.Access{LocationID: id, Role: roles[rng.IntN(len(roles))]})
			default:
				list = append(list, visitor.Access{LocationID: id, Role: base})
			}
		}
		for range rng.IntN(3) {
			list = append(list, visitor.Access{LocationID: fmt.Sprintf("extra-%d", rng.IntN(5)), Role: roles[rng.IntN(len(roles))]})
		}
		for range rng.IntN(3) {
			if len(list) > 0 {
				list = append(list, list[rng.IntN(len(list))])
			}
		}
		rng.Shuffle(len(list), func(a, b int) { list[a], list[b] = list[b], list[a] })
		if form, _ := roundTrip(t, list, header); form.Compact() {
			compact++
		}
	}
	if compact < 1000 {
		t.Errorf("only %d of 3000 lists written compact", compact)
	}
}

// FuzzAuditAccess: each byte pair of data is one entry (location, role) of
// a list against a header of n locations.
func FuzzAuditAccess(f *testing.F) {
	f.Add(uint8(10), []byte{0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9, 1})
	f.Add(uint8(12), bytes.Repeat([]byte{3, 2}, 20))
	f.Add(uint8(0), []byte{1, 1})
	f.Fuzz(func(t *testing.T, n uint8, data []byte) {
		header := locIDs(int(n % 64))
		roles := []visitor.Role{"user", "admin", "reception", ""}
		var list []visitor.Access
		for i := 0; i+1 < len(data); i += 2 {
			list = append(list, visitor.Access{LocationID: fmt.Sprintf("loc-%02d", data[i]%72), Role: roles[data[i+1]%4]})
		}
		roundTrip(t, list, header)
	})
}

func TestAuditAccessExpandErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		json   string
		header []string
		want   string
	}{
		{"compact without header", `{"all":"user"}`, nil, "header line"},
		{"missing location not in header", `{"all":"user","missing":["loc-x"]}`, []string{"loc-1"}, "loc-x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a Access
			if err := json.Unmarshal([]byte(tc.json), &a); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Expand(tc.header); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to name %q", err, tc.want)
			}
		})
	}
	var a Access
	if err := json.Unmarshal([]byte(`{"except":[]}`), &a); err == nil {
		t.Error(`compact form without "all" accepted`)
	}
}

// After the first failed line nothing more is written and every Write
// says so, so the applier stops starting writes.
func TestLogStopsAfterFirstError(t *testing.T) {
	l, err := Open("/dev/full", "run-x", nil, time.Time{})
	if err == nil {
		l.Close()
		t.Fatal("a header on a full device was accepted")
	}
	if !errors.Is(err, ErrWrite) {
		t.Fatalf("err = %v, want %v", err, ErrWrite)
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err = Open(path, "run-y", nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Write(Entry{Action: "create", Result: "intent"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	l.f.Close() // the file goes away under the log: the next append fails
	first := l.Write(Entry{Action: "create", Result: "ok"}, nil, nil)
	second := l.Write(Entry{Action: "update", Result: "intent"}, nil, nil)
	if !errors.Is(first, ErrWrite) || !errors.Is(second, ErrWrite) || !errors.Is(l.Err(), ErrWrite) {
		t.Fatalf("after a failed append: %v, %v, Err %v", first, second, l.Err())
	}
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n != 2 {
		t.Errorf("%d lines on disk, want the header and the first intent:\n%s", n, b)
	}
}
