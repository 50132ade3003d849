package state

import (
	"os"
	"slices"
	"testing"
	"time"
)

// TestOwnershipRecord: the record is the journal replayed over the last
// compacted file; a torn last line (a crash mid-write) is ignored, a torn
// earlier line is an error, and compaction keeps the same content.
func TestOwnershipRecord(t *testing.T) {
	a := OwnedUser{ID: "v1", UserName: "a@example.com", ExternalID: "condeco:1"}
	b := OwnedUser{ID: "v2", UserName: "b@example.com", ExternalID: "condeco:2"}
	c := OwnedUser{ID: "v3", UserName: "c@example.com", ExternalID: "condeco:3"}
	cases := []struct {
		name    string
		do      func(t *testing.T, d *Dir)
		want    []OwnedUser
		found   bool
		wantErr bool
	}{
		{name: "no files: no record", do: func(*testing.T, *Dir) {}, want: []OwnedUser{}},
		{name: "journal alone is a record", found: true, want: []OwnedUser{a, c},
			do: func(t *testing.T, d *Dir) { must(t, d.RecordOwned(a), d.RecordOwned(b), d.RecordOwned(c), d.ForgetOwned("v2")) }},
		{name: "compacted then journal", found: true, want: []OwnedUser{b, c},
			do: func(t *testing.T, d *Dir) {
				must(t, d.WriteOwnership(time.Unix(0, 0), []OwnedUser{a, b}), d.ForgetOwned("v1"), d.RecordOwned(c))
			}},
		{name: "empty compacted record is found", found: true, want: []OwnedUser{},
			do: func(t *testing.T, d *Dir) { must(t, d.WriteOwnership(time.Unix(0, 0), nil)) }},
		{name: "torn last line ignored", found: true, want: []OwnedUser{a},
			do: func(t *testing.T, d *Dir) {
				must(t, d.RecordOwned(a))
				appendRaw(t, d, `{"op":"set","id":"v2","userNa`)
			}},
		{name: "torn earlier line is an error", wantErr: true,
			do: func(t *testing.T, d *Dir) {
				appendRaw(t, d, "{\"op\":\"set\",\"id\n")
				must(t, d.RecordOwned(a))
			}},
		{name: "empty id refused", found: true, want: []OwnedUser{a},
			do: func(t *testing.T, d *Dir) {
				must(t, d.RecordOwned(a))
				if err := d.RecordOwned(OwnedUser{UserName: "x"}); err == nil {
					t.Error("recorded a user without a Visitor id")
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			tc.do(t, d)
			got, found, err := d.ReadOwnership()
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if found != tc.found || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v found %v, want %v found %v", got, found, tc.want, tc.found)
			}
			// Compacting what was read changes nothing.
			if err := d.WriteOwnership(time.Unix(1, 0), got); err != nil {
				t.Fatal(err)
			}
			again, found2, err := d.ReadOwnership()
			if err != nil || !found2 || !slices.Equal(again, tc.want) {
				t.Fatalf("after compaction %v found %v err %v", again, found2, err)
			}
			if _, err := os.Stat(d.file(OwnershipJournal)); !os.IsNotExist(err) {
				t.Errorf("journal left after compaction: %v", err)
			}
		})
	}
}

func must(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func appendRaw(t *testing.T, d *Dir, s string) {
	t.Helper()
	f, err := os.OpenFile(d.file(OwnershipJournal), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}
