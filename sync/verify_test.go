package sync

import (
	"context"
	"fmt"
	"testing"

	"condeco-visitor-sync/condeco"
)

// With scim_verify_writes: reread, verification runs in chunks of verifyChunk
// users; users past the first chunk are verified too, and a server that
// refuses batched re-reads is asked once, not once per chunk. With answer
// (the default) the same run sends no request beyond its writes.
func TestVerifyAcrossChunks(t *testing.T) {
	n := verifyChunk + 3
	for _, tc := range []struct {
		name       string
		mode       string
		noOr       bool
		wantExtras int64 // requests beyond the minimum: the re-reads
	}{
		{"batched re-read", VerifyReread, false, int64(verifyChunk/100 + 1)},
		{"server without or filters", VerifyReread, true, int64(1 + n)},
		{"from the answers", VerifyAnswer, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var us []condeco.User
			for i := range n {
				us = append(us, cu(fmt.Sprintf("%05d", i)))
			}
			f := newFake(baseLocs())
			f.noOrFilter = tc.noOr
			r, _ := newRunner(export(us...), f, func(o *Options) { o.VerifyWrites = tc.mode })
			rep, err := r.RunOnce(context.Background(), RunFlags{})
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
