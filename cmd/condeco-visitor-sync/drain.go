package main

import (
	"context"
	"fmt"
	gosync "sync"
	"time"

	"go.uber.org/zap"

	"condeco-visitor-sync/visitor"
)

// shutdownGrace bounds how long a stopping process waits for the requests
// in flight; past it they are cancelled. A variable so that a test can
// show the bound without waiting for it.
var shutdownGrace = 30 * time.Second

// finishGrace bounds the wait for the report and notification after the
// run's context ends, so that the whole stop fits in the 90 s that the
// systemd unit and the Kubernetes pod allow.
var finishGrace = 20 * time.Second

// errStopping marks a request that was not sent because the process is
// stopping; it wraps context.Canceled so the run ends as interrupted.
var errStopping = fmt.Errorf("not sent: stopping (%w)", context.Canceled)

// drainGate is how SIGTERM "stops new work and lets requests in flight
// finish": every call to Condeco or Visitor passes it. Once draining, no
// new call starts; the run's context is cancelled as soon as the calls in
// flight are done (or the grace is over), and the run then writes its
// report with the rest marked not attempted. The next run converges.
type drainGate struct {
	mu       gosync.Mutex
	draining bool
	inFlight int
	idle     chan struct{} // closed once draining with nothing in flight
	stop     chan struct{} // closed when draining starts
}

func newDrainGate() *drainGate {
	return &drainGate{idle: make(chan struct{}), stop: make(chan struct{})}
}

// enter admits a call, or holds it until ctx ends once draining.
func (g *drainGate) enter(ctx context.Context) error {
	g.mu.Lock()
	if !g.draining {
		g.inFlight++
		g.mu.Unlock()
		return nil
	}
	g.mu.Unlock()
	<-ctx.Done()
	return errStopping
}

func (g *drainGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight--
	if g.draining && g.inFlight == 0 {
		closeOnce(g.idle)
	}
}

// drain stops new calls and returns a channel closed when none is left.
func (g *drainGate) drain() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.draining {
		g.draining = true
		close(g.stop)
	}
	if g.inFlight == 0 {
		closeOnce(g.idle)
	}
	return g.idle
}

func closeOnce(c chan struct{}) {
	select {
	case <-c:
	default:
		close(c)
	}
}

// graceful returns the context runs use: it outlives stop (SIGTERM,
// SIGINT) until the calls in flight at that moment have finished, or
// shutdownGrace has passed, whichever comes first.
func (a *app) graceful(stop context.Context) (context.Context, context.CancelFunc) {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(stop))
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-stop.Done():
		case <-runCtx.Done():
			return
		}
		if runCtx.Err() != nil {
			return // the run ended as the signal came: nothing to drain
		}
		a.log.Info("stopping: no new requests; waiting for those in flight", zap.Duration("grace", shutdownGrace))
		t := time.NewTimer(shutdownGrace)
		defer t.Stop()
		select {
		case <-a.gate.drain():
		case <-t.C:
			a.log.Warn("grace period over: cancelling the requests in flight")
		case <-runCtx.Done():
		}
		cancel()
	}()
	// Waiting for the watcher means nothing is logged after the caller
	// has returned (and perhaps closed or read the log's writer).
	return runCtx, func() { cancel(); <-done }
}

// gated runs one call to another system through the gate.
func gated[T any](ctx context.Context, g *drainGate, call func() (T, error)) (T, error) {
	if g == nil {
		return call()
	}
	if err := g.enter(ctx); err != nil {
		var zero T
		return zero, err
	}
	defer g.leave()
	return call()
}

// The Visitor calls the sync makes, each through the gate.

func (t target) FindUser(ctx context.Context, attr, value string) (*visitor.User, error) {
	return gated(ctx, t.gate, func() (*visitor.User, error) { return t.Client.FindUser(ctx, attr, value) })
}

func (t target) GetUser(ctx context.Context, id string) (visitor.User, error) {
	return gated(ctx, t.gate, func() (visitor.User, error) { return t.Client.GetUser(ctx, id) })
}

func (t target) UsersByExternalID(ctx context.Context, ids []string) ([]visitor.User, error) {
	return gated(ctx, t.gate, func() ([]visitor.User, error) { return t.Client.UsersByExternalID(ctx, ids) })
}

func (t target) CreateUser(ctx context.Context, u visitor.User) (visitor.User, error) {
	return gated(ctx, t.gate, func() (visitor.User, error) { return t.Client.CreateUser(ctx, u) })
}

func (t target) UpdateUser(ctx context.Context, id string, desired visitor.User, fields []visitor.Field) (visitor.User, error) {
	return gated(ctx, t.gate, func() (visitor.User, error) { return t.Client.UpdateUser(ctx, id, desired, fields) })
}

func (t target) DeleteUser(ctx context.Context, id string) error {
	_, err := gated(ctx, t.gate, func() (struct{}, error) { return struct{}{}, t.Client.DeleteUser(ctx, id) })
	return err
}

func (t target) CreateLocation(ctx context.Context, l visitor.Location) (visitor.Location, error) {
	return gated(ctx, t.gate, func() (visitor.Location, error) { return t.Client.CreateLocation(ctx, l) })
}
