package service

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/sync/runner"
	"condeco-visitor-sync/visitor"

	. "condeco-visitor-sync/sync/internal/synctest"
)

// slowCreates holds each create until release is closed.
type slowCreates struct {
	*Fake
	release chan struct{}
}

func (s slowCreates) CreateUser(ctx context.Context, u visitor.User) (visitor.User, error) {
	<-s.release
	return s.Fake.CreateUser(ctx, u)
}

// A run past run_timeout stops as on SIGTERM: no new write, the one in
// flight finishes, exit 10 with run_timeout named; the next run finds the
// gate open and converges.
func TestRunTimeoutStopsLikeSIGTERM(t *testing.T) {
	var us []condeco.User
	for i := range 20 {
		us = append(us, CU(fmt.Sprint(i+1)))
	}
	f := NewFake(BaseLocs())
	release := make(chan struct{})
	gate := runner.NewGate()
	exp := &condeco.Export{Users: us, Locations: CLocs("1", "2")}
	// The creates in flight are let through once the run has begun to
	// drain, which is what the timeout does.
	var once sync.Once
	core, _ := observer.New(zap.InfoLevel)
	log := zap.New(core, zap.Hooks(func(e zapcore.Entry) error {
		if strings.HasPrefix(e.Message, "stopping: no new requests") {
			once.Do(func() { close(release) })
		}
		return nil
	}))
	svc := &Service{
		State: openState(t), Log: log, Gate: gate, RunTimeout: 100 * time.Millisecond,
		Runner: &runner.Runner{Source: runner.GatedSource(FakeSource{Exp: exp}, gate),
			Target: runner.GatedTarget(slowCreates{f, release}, gate),
			Plan:   plan.DefaultOptions(), Apply: apply.Options{Concurrency: 2}, Progress: &apply.Progress{}},
	}
	rep, err := svc.RunOnce(context.Background(), runner.Flags{})
	if code := Classify(err); code != ExitInterrupted || !strings.Contains(err.Error(), "run_timeout 100ms reached") {
		t.Fatalf("exit %d, err %v; want %d naming run_timeout", code, err, ExitInterrupted)
	}
	if rep.Counts.Created != 2 || rep.NotAttempted != len(us)-2 {
		t.Errorf("created %d (the two in flight), not attempted %d; want 2 and %d", rep.Counts.Created, rep.NotAttempted, len(us)-2)
	}
	svc.RunTimeout = time.Minute
	rep, err = svc.RunOnce(context.Background(), runner.Flags{})
	if err != nil || rep.Counts.Created != len(us)-2 {
		t.Fatalf("next run: err %v, created %d; the gate must be open again", err, rep.Counts.Created)
	}
}
