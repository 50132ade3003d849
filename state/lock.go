package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// ErrLockBusy means another sync (the daemon, or a support engineer's
// run-now) holds the lock.
var ErrLockBusy = errors.New("another sync is running")

// Lock is an flock on state_dir/lock, held for a whole run. The file also
// records who holds it so that a refused run can say since when.
type Lock struct {
	path string
	fl   *flock.Flock
}

// Lock returns the run lock of this state_dir (not taken yet).
func (d *Dir) Lock() *Lock {
	p := d.file(LockFile)
	return &Lock{path: p, fl: flock.New(p)}
}

// Acquire waits up to wait for the lock; wait 0 tries once.
func (l *Lock) Acquire(ctx context.Context, wait time.Duration) error {
	var ok bool
	var err error
	if wait <= 0 {
		ok, err = l.fl.TryLock()
	} else {
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		ok, err = l.fl.TryLockContext(wctx, 250*time.Millisecond)
		if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("taking lock %s: %w", l.path, err)
	}
	if !ok {
		return fmt.Errorf("%w: another sync has been running since %s", ErrLockBusy, l.Holder())
	}
	host, _ := os.Hostname()
	// Truncate and record the holder; the flock itself is what excludes.
	stamp := fmt.Sprintf("%s (pid %d on %s)\n", time.Now().UTC().Format(time.RFC3339), os.Getpid(), host)
	if f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
		f.WriteString(stamp)
		f.Close()
	}
	return nil
}

// Holder is what the lock file says of the run holding it: its start time,
// pid and host.
func (l *Lock) Holder() string {
	holder, _ := os.ReadFile(l.path)
	if h := strings.TrimSpace(string(holder)); h != "" {
		return h
	}
	return "an unknown time"
}

// Release drops the lock.
func (l *Lock) Release() error { return l.fl.Unlock() }
