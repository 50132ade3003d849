package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// ErrLockBusy means another sync (the daemon, or a support engineer's
// run-now) holds the lock.
var ErrLockBusy = errors.New("another sync is running")

// lockRetries bounds how often Acquire starts again when the lock file it
// locked is no longer the one at its path (deleted or replaced meanwhile).
const lockRetries = 5

// Lock is held for a whole run. It is two flocks: one on state_dir itself,
// which a deleted or replaced lock file cannot undo (a second run would
// otherwise create a new file, lock it and run alongside the first), and
// one on state_dir/lock, which also records who holds it so that a refused
// run can say since when. A filesystem that cannot lock a directory (NFS
// emulates flock with write locks, which a directory cannot take) keeps
// the file lock alone; Warning says so.
type Lock struct {
	dirPath, path string
	dir, file     *flock.Flock
	// Warning, after Acquire, says what protection the filesystem lacked.
	Warning string
	// afterLock, in tests, runs between locking the file and checking it
	// is still the one at its path.
	afterLock func()
}

// Lock returns the run lock of this state_dir (not taken yet).
func (d *Dir) Lock() *Lock {
	return &Lock{dirPath: d.path, path: d.file(LockFile)}
}

// Acquire waits up to wait for the lock; wait 0 tries once.
func (l *Lock) Acquire(ctx context.Context, wait time.Duration) error {
	l.Warning = ""
	l.dir = flock.New(l.dirPath, flock.SetFlag(os.O_RDONLY))
	ok, err := tryLock(ctx, l.dir, wait)
	switch {
	case err != nil && unsupported(err):
		l.dir = nil
		l.Warning = "state_dir's filesystem cannot lock a folder; only the lock file excludes a second run: do not delete it while a run is going"
	case err != nil:
		return fmt.Errorf("taking lock %s: %w", l.dirPath, err)
	case !ok:
		return fmt.Errorf("%w: another sync has been running since %s", ErrLockBusy, l.Holder())
	}
	if err := l.lockFile(ctx, wait); err != nil {
		l.unlockDir()
		return err
	}
	host, _ := os.Hostname()
	// Truncate and record the holder; the flocks are what exclude.
	stamp := fmt.Sprintf("%s (pid %d on %s)\n", time.Now().UTC().Format(time.RFC3339), os.Getpid(), host)
	if f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
		f.WriteString(stamp)
		f.Close()
	}
	return nil
}

// lockFile locks state_dir/lock and checks that the locked descriptor and
// the path are the same file (device and inode): one deleted or replaced
// between the open and the flock is left, and the new one locked instead.
func (l *Lock) lockFile(ctx context.Context, wait time.Duration) error {
	for range lockRetries {
		l.file = flock.New(l.path, flock.SetPermissions(0o600))
		ok, err := tryLock(ctx, l.file, wait)
		if err != nil {
			return fmt.Errorf("taking lock %s: %w", l.path, err)
		}
		if !ok {
			return fmt.Errorf("%w: another sync has been running since %s", ErrLockBusy, l.Holder())
		}
		if l.afterLock != nil {
			l.afterLock()
		}
		held, herr := l.file.Stat()
		now, perr := os.Stat(l.path)
		if herr == nil && perr == nil && os.SameFile(held, now) {
			return nil
		}
		l.file.Unlock()
	}
	return fmt.Errorf("taking lock %s: the file was replaced %d times while being locked", l.path, lockRetries)
}

func tryLock(ctx context.Context, f *flock.Flock, wait time.Duration) (bool, error) {
	if wait <= 0 {
		return f.TryLock()
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ok, err := f.TryLockContext(wctx, 250*time.Millisecond)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		err = nil
	}
	return ok, err
}

// unsupported says whether flock failed because the filesystem cannot
// lock this kind of file, not because the lock is held.
func unsupported(err error) bool {
	return errors.Is(err, syscall.EBADF) || errors.Is(err, syscall.ENOLCK) ||
		errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EOPNOTSUPP)
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
func (l *Lock) Release() error {
	var err error
	if l.file != nil {
		err = l.file.Unlock()
		l.file = nil
	}
	l.unlockDir()
	return err
}

func (l *Lock) unlockDir() {
	if l.dir != nil {
		l.dir.Unlock()
		l.dir = nil
	}
}
