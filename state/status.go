package state

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// procLocks is where Linux lists every flock held on the host.
const procLocks = "/proc/locks"

// ErrLockUnknown means whether a run holds the lock could not be told
// without taking it (no /proc/locks: not Linux, or /proc not mounted).
var ErrLockUnknown = errors.New("cannot tell whether the run lock is held")

// LockHeld says whether a run holds state_dir's lock now, and what the
// lock file says of it, without taking the lock: even a moment's try would
// make a run starting at that moment exit "lock busy". It reads the host's
// flock table (/proc/locks) for the lock file's device and inode.
func (d *Dir) LockHeld() (held bool, holder string, err error) {
	return lockHeldIn(procLocks, d.file(LockFile))
}

func lockHeldIn(table, path string) (bool, string, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, "", nil // no run has ever taken it
		}
		return false, "", fmt.Errorf("reading %s: %w", path, err)
	}
	f, err := os.Open(table)
	if err != nil {
		return false, "", fmt.Errorf("%w: %w", ErrLockUnknown, err)
	}
	defer f.Close()
	dev := uint64(st.Dev) //nolint:unconvert // int32 on some platforms
	want := fmt.Sprintf("%02x:%02x:%d", devMajor(dev), devMinor(dev), st.Ino)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 4176 fe:00:10021911 0 EOF"; a blocked
		// waiter's line reads "1: -> FLOCK …" and is not a holder.
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "FLOCK" {
			continue
		}
		if fields[5] == want {
			b, _ := os.ReadFile(path)
			return true, strings.TrimSpace(string(b)), nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, "", fmt.Errorf("%w: %w", ErrLockUnknown, err)
	}
	return false, "", nil
}

// devMajor and devMinor split a Linux dev_t as the kernel prints it in
// /proc/locks.
func devMajor(dev uint64) uint64 { return (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff) }
func devMinor(dev uint64) uint64 { return dev&0xff | (dev>>12)&^uint64(0xff) }

// OpenExisting is Open for a reader: a state_dir that does not exist is
// an error wrapping fs.ErrNotExist, not created.
func OpenExisting(path string) (*Dir, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("state_dir: %s is not a folder", path)
	}
	return &Dir{path: path}, nil
}

// RecentReports returns the paths of the newest n per-run reports under
// reports/, newest first. Names start with the run's start time to the
// second; runs started within one second are ordered by when their report
// was written.
func (d *Dir) RecentReports(n int) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(d.path, ReportsDir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("listing reports: %w", err)
	}
	stamp := func(p string) string { b, _, _ := strings.Cut(filepath.Base(p), "-"); return b }
	mtime := map[string]int64{}
	for _, p := range names {
		if fi, err := os.Stat(p); err == nil {
			mtime[p] = fi.ModTime().UnixNano()
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(stamp(b), stamp(a)), cmp.Compare(mtime[b], mtime[a]), cmp.Compare(b, a))
	})
	return names[:min(n, len(names))], nil
}
