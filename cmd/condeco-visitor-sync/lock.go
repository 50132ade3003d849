package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/config"
)

// ErrLockBusy means another sync (the daemon, or a support engineer's
// run-now) holds the lock.
var ErrLockBusy = errors.New("another sync is running")

// hostLock is an flock on state_dir/lock, held for a whole run. The file
// also records who holds it so that the refused run can say since when.
type hostLock struct {
	path string
	fl   *flock.Flock
}

func newHostLock(stateDir string) *hostLock {
	p := filepath.Join(stateDir, "lock")
	return &hostLock{path: p, fl: flock.New(p)}
}

// Acquire waits up to wait for the lock; wait 0 tries once.
func (l *hostLock) Acquire(ctx context.Context, wait time.Duration) error {
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
		holder, _ := os.ReadFile(l.path)
		h := strings.TrimSpace(string(holder))
		if h == "" {
			h = "an unknown time"
		}
		return fmt.Errorf("%w: another sync has been running since %s", ErrLockBusy, h)
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

// Release drops the lock.
func (l *hostLock) Release() error { return l.fl.Unlock() }

// dbLocker is the SQL Server application lock (condeco.AppLocker); an
// interface so that the lock order can be tested without SQL Server.
type dbLocker interface {
	Acquire(ctx context.Context, wait time.Duration) (release func(), err error)
	Close() error
}

// acquireLocks takes the host lock, then the database lock when
// condeco_app_lock is set, sharing one lock_wait budget. The host lock
// comes first so that a second run on the same host never touches the
// database; one global lock after per-host ones cannot deadlock.
func (a *app) acquireLocks(ctx context.Context) (release func(), err error) {
	start := time.Now()
	if err := a.lock.Acquire(ctx, a.cfg.LockWait); err != nil {
		return nil, err
	}
	if a.dbLock == nil {
		return func() { a.lock.Release() }, nil
	}
	wait := max(a.cfg.LockWait-time.Since(start), 0)
	dbRelease, err := a.dbLock.Acquire(ctx, wait)
	if err != nil {
		a.lock.Release()
		var busy *condeco.AppLockBusyError
		switch {
		case errors.As(err, &busy):
			since := "an unknown time"
			if !busy.Since.IsZero() {
				since = busy.Since.UTC().Format(time.RFC3339)
			}
			return nil, fmt.Errorf("%w: another sync has been running since %s (%v)", ErrLockBusy, since, err)
		case errors.Is(err, condeco.ErrBadOptions):
			return nil, fmt.Errorf("%w: condeco_app_lock: %w", config.ErrInvalid, err)
		case errors.Is(err, context.Canceled):
			return nil, err
		}
		return nil, fmt.Errorf("%w: condeco_app_lock: %w", ErrSource, err)
	}
	return func() {
		dbRelease()
		a.lock.Release()
	}, nil
}
