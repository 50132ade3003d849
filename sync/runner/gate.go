package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/visitor"
)

// errStopping marks a request that was not sent because the process is
// stopping; it wraps context.Canceled so the run ends as interrupted.
var errStopping = fmt.Errorf("%w (%w)", apply.ErrNotSent, context.Canceled)

// Gate is how a stop "stops new work and lets requests in flight finish":
// every call to Condeco or Visitor passes it. Once draining, no new call
// starts; the run's context is cancelled as soon as the calls in flight
// are done (or the grace is over), and the run then writes its report with
// the rest marked not attempted. The next run converges.
type Gate struct {
	mu       sync.Mutex
	draining bool
	inFlight int
	idle     chan struct{} // closed once draining with nothing in flight
	stop     chan struct{} // closed when draining starts
}

// NewGate returns an open gate.
func NewGate() *Gate {
	return &Gate{idle: make(chan struct{}), stop: make(chan struct{})}
}

// enter admits a call, or holds it until ctx ends once draining.
func (g *Gate) enter(ctx context.Context) error {
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

func (g *Gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight--
	if g.draining && g.inFlight == 0 {
		closeOnce(g.idle)
	}
}

// Drain stops new calls and returns a channel closed when none is left.
func (g *Gate) Drain() <-chan struct{} {
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

// Reopen admits calls again after a drain that stopped one run, not the
// process (run_timeout): the daemon's next run must not find it shut.
func (g *Gate) Reopen() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.draining && g.inFlight == 0 {
		g.draining = false
		g.idle, g.stop = make(chan struct{}), make(chan struct{})
	}
}

func closeOnce(c chan struct{}) {
	select {
	case <-c:
	default:
		close(c)
	}
}

// Graceful returns the context runs use: it outlives stop (SIGTERM,
// SIGINT) until the calls in flight at that moment have finished, or grace
// has passed, whichever comes first. The cancel function waits for the
// watcher, so nothing is logged after the caller has returned.
func (g *Gate) Graceful(stop context.Context, grace time.Duration, log *zap.Logger) (context.Context, context.CancelFunc) {
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
		// Shut first, then say so: a request started between the line and
		// the drain would break the line's promise (a timed-out run
		// wrote every user when the watcher was descheduled there).
		idle := g.Drain()
		log.Info("stopping: no new requests; waiting for those in flight", zap.Duration("grace", grace))
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-idle:
		case <-t.C:
			log.Warn("grace period over: cancelling the requests in flight")
		case <-runCtx.Done():
		}
		cancel()
	}()
	return runCtx, func() { cancel(); <-done }
}

// gated runs one call to another system through the gate.
func gated[T any](ctx context.Context, g *Gate, call func() (T, error)) (T, error) {
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

// GatedSource passes every export through the gate.
func GatedSource(s Source, g *Gate) Source { return gatedSource{s, g} }

// GatedTarget passes every Visitor call through the gate; the target's
// capabilities and its listing and request-counting extras stay visible.
func GatedTarget(t Target, g *Gate) Target { return gatedTarget{t, g} }

type gatedSource struct {
	s    Source
	gate *Gate
}

func (s gatedSource) Export(ctx context.Context) (*condeco.Export, error) {
	return gated(ctx, s.gate, func() (*condeco.Export, error) { return s.s.Export(ctx) })
}

type gatedTarget struct {
	t    Target
	gate *Gate
}

// Requests and ListRequests pass the wrapped target's counters on.
func (t gatedTarget) Requests() int64 {
	n, _ := requests(t.t)
	return n
}

func (t gatedTarget) ListRequests(n int) int64 { return listRequests(t.t, n) }

// Capabilities are the wrapped target's; asking costs no call.
func (t gatedTarget) Capabilities() visitor.Capabilities { return capabilities(t.t) }

func (t gatedTarget) ListManagedUsers(ctx context.Context, prefix string) ([]visitor.User, error) {
	return gated(ctx, t.gate, func() ([]visitor.User, error) { return t.t.ListManagedUsers(ctx, prefix) })
}

func (t gatedTarget) ListLocations(ctx context.Context) ([]visitor.Location, error) {
	return gated(ctx, t.gate, func() ([]visitor.Location, error) { return t.t.ListLocations(ctx) })
}

func (t gatedTarget) FindUser(ctx context.Context, attr, value string) (*visitor.User, error) {
	return gated(ctx, t.gate, func() (*visitor.User, error) { return t.t.FindUser(ctx, attr, value) })
}

func (t gatedTarget) GetUser(ctx context.Context, id string) (visitor.User, error) {
	return gated(ctx, t.gate, func() (visitor.User, error) { return t.t.GetUser(ctx, id) })
}

func (t gatedTarget) UsersByExternalID(ctx context.Context, ids []string) ([]visitor.User, error) {
	return gated(ctx, t.gate, func() ([]visitor.User, error) { return t.t.UsersByExternalID(ctx, ids) })
}

func (t gatedTarget) CreateUser(ctx context.Context, u visitor.User) (visitor.User, error) {
	return gated(ctx, t.gate, func() (visitor.User, error) { return t.t.CreateUser(ctx, u) })
}

func (t gatedTarget) UpdateUser(ctx context.Context, id string, desired visitor.User, fields []visitor.Field) (visitor.User, error) {
	return gated(ctx, t.gate, func() (visitor.User, error) { return t.t.UpdateUser(ctx, id, desired, fields) })
}

func (t gatedTarget) DeleteUser(ctx context.Context, id string) error {
	_, err := gated(ctx, t.gate, func() (struct{}, error) { return struct{}{}, t.t.DeleteUser(ctx, id) })
	return err
}

func (t gatedTarget) CreateLocation(ctx context.Context, l visitor.Location) (visitor.Location, error) {
	return gated(ctx, t.gate, func() (visitor.Location, error) { return t.t.CreateLocation(ctx, l) })
}

func (t gatedTarget) UpdateLocation(ctx context.Context, id string, l visitor.Location, fields []visitor.LocationField) (visitor.Location, error) {
	return gated(ctx, t.gate, func() (visitor.Location, error) { return t.t.UpdateLocation(ctx, id, l, fields) })
}
