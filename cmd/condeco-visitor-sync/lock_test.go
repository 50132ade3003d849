package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// Someone deletes state_dir/lock while a run holds it: a second run-now
// must still be refused (exit 6), not run alongside the first.
func TestLockFileDeletedMidRunSecondRunRefused(t *testing.T) {
	t.Parallel()
	// The first run's writes wait in the simulator until the second run
	// has been refused, so the two surely overlap.
	writing, release := make(chan struct{}, 1), make(chan struct{})
	f := newFixture(t, simulator.Options{OnRequest: func(method, _ string) {
		if method == "POST" {
			select {
			case writing <- struct{}{}:
			default:
			}
			<-release
		}
	}}, "")
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // a failing test must not leave the first run blocked
	first := make(chan service.ExitCode, 1)
	go func() {
		code, _, _ := f.run(context.Background(), "--run-now")
		first <- code
	}()
	select {
	case <-writing:
	case <-time.After(30 * time.Second):
		t.Fatal("the first run never wrote")
	}
	if err := os.Remove(filepath.Join(f.dir, "state", state.LockFile)); err != nil {
		t.Fatal(err)
	}
	code, out, errs := f.run(context.Background(), "--run-now")
	if code != service.ExitLockBusy {
		t.Fatalf("second run with the lock file deleted: exit %d, want %d\n%s\n%s", code, service.ExitLockBusy, out, errs)
	}
	if !strings.Contains(out+errs, "another sync has been running") {
		t.Errorf("refusal does not say why:\n%s%s", out, errs)
	}
	unblock()
	if c := <-first; c != service.ExitOK {
		t.Fatalf("first run exit %d", c)
	}
	// Nothing ran twice: a dry run now plans nothing.
	if code, out, _ := f.run(context.Background(), "--run-now", "--dry-run"); code != service.ExitOK || !strings.Contains(out, "planned changes: 0") {
		t.Fatalf("after both runs (exit %d):\n%s", code, out)
	}
}
