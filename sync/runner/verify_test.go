package runner

import (
	"context"
	"fmt"
	"testing"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/apply"
	. "condeco-visitor-sync/sync/internal/synctest"
)

// With scim_verify_writes: reread, verification runs in chunks of apply.VerifyChunk
// users; users past the first chunk are verified too, and a server that
// refuses batched re-reads is asked once, not once per chunk. With answer
// (the default) the same run sends no request beyond its writes.
func TestVerifyAcrossChunks(t *testing.T) {
	n := apply.VerifyChunk + 3
	for _, tc := range []struct {
		name       string
		mode       string
		noOr       bool
		wantExtras int64 // requests beyond the minimum: the re-reads
	}{
		{"batched re-read", apply.VerifyReread, false, int64(apply.VerifyChunk/100 + 1)},
		{"server without or filters", apply.VerifyReread, true, int64(1 + n)},
		{"from the answers", apply.VerifyAnswer, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var us []condeco.User
			for i := range n {
				us = append(us, CU(fmt.Sprintf("%05d", i)))
			}
			f := NewFake(BaseLocs())
			f.NoOrFilter = tc.noOr
			r, _ := newRunner(export(us...), f, func(o *opts) { o.VerifyWrites = tc.mode })
			rep, err := r.RunOnce(context.Background(), Flags{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Counts.Created != n || rep.Counts.Failed != 0 {
				t.Fatalf("created %d of %d, failed %d: %v", rep.Counts.Created, n, rep.Counts.Failed, rep.Failures[:min(3, len(rep.Failures))])
			}
			if rep.ExtraRequests != tc.wantExtras {
				t.Errorf("%d requests beyond the minimum, want %d", rep.ExtraRequests, tc.wantExtras)
			}
		})
	}
}
