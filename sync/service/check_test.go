package service

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"
)

type checkOK struct{}

func (checkOK) Check(context.Context) error { return nil }
func (checkOK) Probe(context.Context, string) ([]visitor.ProbeCheck, error) {
	return []visitor.ProbeCheck{{Name: "locations listing", Result: "ok: 1 locations, default loc-1"}}, nil
}

// --check takes and drops the database lock, so a login or a read-only
// replica that cannot hold it shows before the first run.
func TestCheckTriesTheDatabaseLock(t *testing.T) {
	cases := []struct {
		name     string
		err      error
		wantCode ExitCode
		wantOut  string
	}{
		{"free", nil, ExitOK, `condeco app lock "cvs": ok`},
		{"held by a running sync", &condeco.AppLockBusyError{Resource: "cvs"}, ExitOK, "ok (application lock"},
		{"read-only replica", errors.Join(condeco.ErrBadOptions, errors.New("reached a read-only database")), ExitConfig, "FAILED"},
		{"refused", errors.New("permission denied"), ExitSource, "FAILED: permission denied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDBLock{err: tc.err}
			a := &Service{Log: zap.NewNop(), SourceCheck: checkOK{}, TargetCheck: checkOK{}, DBLock: db, AppLockName: "cvs"}
			var out strings.Builder
			if code := a.Check(context.Background(), &out); code != tc.wantCode {
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
