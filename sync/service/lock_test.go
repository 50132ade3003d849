package service

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"condeco-visitor-sync/condeco"
)

// fakeDBLock stands in for the SQL Server application lock, which cannot
// run here; condeco/applock_test.go checks the real one when
// CONDECO_TEST_DSN names a SQL Server.
type fakeDBLock struct {
	err     error
	calls   int
	gotWait time.Duration
	held    bool
}

func (f *fakeDBLock) Acquire(_ context.Context, wait time.Duration) (func(), error) {
	f.calls++
	f.gotWait = wait
	if f.err != nil {
		return nil, f.err
	}
	f.held = true
	return func() { f.held = false }, nil
}

func (f *fakeDBLock) Close() error { return nil }

func TestAcquireLocksOrderAndErrors(t *testing.T) {
	since := time.Date(2026, 1, 5, 2, 0, 3, 0, time.UTC)
	cases := []struct {
		name      string
		dbErr     error
		hostBusy  bool
		wantCode  ExitCode
		wantWords []string
		wantCalls int
	}{
		{name: "both free", wantCode: ExitOK, wantCalls: 1},
		{name: "another host holds the database lock", wantCode: ExitLockBusy, wantCalls: 1,
			dbErr:     &condeco.AppLockBusyError{Resource: "cvs", Host: "vm-2", Since: since},
			wantWords: []string{"another sync has been running since 2026-01-05T02:00:03Z", "host vm-2", `"cvs"`}},
		{name: "holder not visible", wantCode: ExitLockBusy, wantCalls: 1,
			dbErr:     &condeco.AppLockBusyError{Resource: "cvs"},
			wantWords: []string{"another sync has been running since an unknown time"}},
		{name: "host lock busy: database never asked", hostBusy: true, wantCode: ExitLockBusy, wantCalls: 0,
			wantWords: []string{"another sync has been running since"}},
		{name: "read-only replica is a configuration error", wantCode: ExitConfig, wantCalls: 1,
			dbErr: errors.Join(condeco.ErrBadOptions, errors.New("read-only replica"))},
		{name: "database unreachable", wantCode: ExitSource, wantCalls: 1, dbErr: errors.New("dial tcp: refused")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := openState(t)
			db := &fakeDBLock{err: tc.dbErr}
			a := &Service{State: dir, DBLock: db, Log: zap.NewNop()}
			a.init()
			if tc.hostBusy {
				other := dir.Lock()
				if err := other.Acquire(context.Background(), 0); err != nil {
					t.Fatal(err)
				}
				defer other.Release()
			}
			release, err := a.acquireLocks(context.Background())
			if code := Classify(err); code != tc.wantCode {
				t.Fatalf("exit code %d, want %d (err %v)", code, tc.wantCode, err)
			}
			for _, w := range tc.wantWords {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if db.calls != tc.wantCalls {
				t.Errorf("database lock asked %d times, want %d", db.calls, tc.wantCalls)
			}
			if err == nil {
				if !db.held {
					t.Fatal("database lock not held after success")
				}
				release()
				if db.held {
					t.Error("release left the database lock held")
				}
			}
			if !tc.hostBusy {
				// Whatever happened, the host lock is free again
				// (after release on success).
				probe := dir.Lock()
				if err := probe.Acquire(context.Background(), 0); err != nil {
					t.Errorf("host lock still held: %v", err)
				} else {
					probe.Release()
				}
			}
		})
	}
}

// lock_wait is one budget: the database lock gets what the host lock left.
// The clock says the host lock took 700 ms.
func TestAcquireLocksSharesTheWait(t *testing.T) {
	db := &fakeDBLock{}
	t0 := time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)
	clock := []time.Time{t0, t0.Add(700 * time.Millisecond)}
	a := &Service{State: openState(t), DBLock: db, Log: zap.NewNop(), LockWait: 2 * time.Second,
		Now: func() time.Time { now := clock[0]; clock = clock[1:]; return now }}
	a.init()
	release, err := a.acquireLocks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	release()
	if db.gotWait != 1300*time.Millisecond {
		t.Errorf("database lock got %s to wait, want the 1.3s left of 2s after 0.7s", db.gotWait)
	}
}
