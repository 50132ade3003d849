package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/config"
	"condeco-visitor-sync/visitor/simulator"
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
		wantCode  int
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
			dir := t.TempDir()
			db := &fakeDBLock{err: tc.dbErr}
			a := &app{cfg: config.Config{StateDir: dir}, lock: newHostLock(dir), dbLock: db, log: zap.NewNop()}
			if tc.hostBusy {
				other := newHostLock(dir)
				if err := other.Acquire(context.Background(), 0); err != nil {
					t.Fatal(err)
				}
				defer other.Release()
			}
			release, err := a.acquireLocks(context.Background())
			if code := exitCode(err); code != tc.wantCode {
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
				probe := newHostLock(dir)
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
func TestAcquireLocksSharesTheWait(t *testing.T) {
	dir := t.TempDir()
	db := &fakeDBLock{}
	a := &app{cfg: config.Config{StateDir: dir, LockWait: 2 * time.Second}, lock: newHostLock(dir), dbLock: db, log: zap.NewNop()}
	other := newHostLock(dir)
	if err := other.Acquire(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(700 * time.Millisecond)
		other.Release()
	}()
	release, err := a.acquireLocks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	release()
	if db.gotWait <= 0 || db.gotWait > 1500*time.Millisecond {
		t.Errorf("database lock got %s to wait, want what is left of 2s after ~0.7s", db.gotWait)
	}
}

// --check takes and drops the database lock, so a login or a read-only
// replica that cannot hold it shows before the first run.
func TestCheckTriesTheDatabaseLock(t *testing.T) {
	cases := []struct {
		name     string
		err      error
		wantCode int
		wantOut  string
	}{
		{"free", nil, ExitOK, `condeco app lock "cvs": ok`},
		{"held by a running sync", &condeco.AppLockBusyError{Resource: "cvs"}, ExitOK, "ok (application lock"},
		{"read-only replica", errors.Join(condeco.ErrBadOptions, errors.New("reached a read-only database")), ExitConfig, "FAILED"},
		{"refused", errors.New("permission denied"), ExitSource, "FAILED: permission denied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, simulator.Options{}, "")
			cfg, err := config.Load(f.cfgPath, f.env)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			a, err := newApp(context.Background(), cfg, zap.NewNop(), &out)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			// The real lock needs SQL Server; the fixture is SQLite.
			db := &fakeDBLock{err: tc.err}
			a.dbLock, a.cfg.CondecoAppLock = db, "cvs"
			if code := a.Check(context.Background()); code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tc.wantCode, out.String())
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantOut, out.String())
			}
			if db.calls != 1 || db.held {
				t.Errorf("lock asked %d times, still held %v", db.calls, db.held)
			}
		})
	}
}
