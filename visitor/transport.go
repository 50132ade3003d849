package visitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// errLimiterDeadline means the rate limiter would make a request wait past
// the caller's deadline; retrying cannot help.
var errLimiterDeadline = errors.New("rate limit wait exceeds deadline")

// Stats counts what the client did, for metrics and the run report.
type Stats struct {
	Requests    int64            // attempts sent, retries included
	ByStatus    map[string]int64 // "GET 200", "POST 429", "PATCH error"
	Retries     int64            // attempts that repeated an earlier one
	RateLimited int64            // 429 answers received
	LimiterWait time.Duration    // total time spent waiting on the rate limiter
	TokenFetch  int64            // tokens fetched from the token endpoint
}

type stats struct {
	mu sync.Mutex
	s  Stats
}

func (st *stats) add(f func(*Stats)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.s.ByStatus == nil {
		st.s.ByStatus = map[string]int64{}
	}
	f(&st.s)
}

func (st *stats) snapshot() Stats {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := st.s
	out.ByStatus = make(map[string]int64, len(st.s.ByStatus))
	for k, v := range st.s.ByStatus {
		out.ByStatus[k] = v
	}
	return out
}

// limitTransport sits under retryablehttp, so every attempt (first try or
// retry) first waits its turn on the shared limiter and is counted; the
// per-request timeout starts only after that wait, so a busy limiter does
// not turn into timeouts.
type limitTransport struct {
	base    http.RoundTripper
	lim     *rate.Limiter
	timeout time.Duration
	st      *stats
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	res := t.lim.Reserve()
	if d := res.Delay(); d > 0 {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			res.Cancel()
			return nil, errLimiterDeadline
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			res.Cancel()
			return nil, ctx.Err()
		case <-timer.C:
		}
		t.st.add(func(s *Stats) { s.LimiterWait += d })
	}
	actx, cancel := context.WithTimeout(ctx, t.timeout)
	resp, err := t.base.RoundTrip(req.WithContext(actx))
	key := req.Method + " error"
	if err == nil {
		key = req.Method + " " + strconv.Itoa(resp.StatusCode)
	}
	t.st.add(func(s *Stats) {
		s.Requests++
		s.ByStatus[key]++
		if err == nil && resp.StatusCode == http.StatusTooManyRequests {
			s.RateLimited++
		}
	})
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody ends the attempt's timeout context once the body is consumed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

type noRetryKey struct{}

// withUnsafeRetry marks a request whose repetition could create a second
// object (POST). Only a 429 is retried for it: the server refused it
// before doing anything. Every other failure goes back to the caller,
// which checks whether the object exists before trying again.
func withUnsafeRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryKey{}, true)
}

func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if errors.Is(err, errLimiterDeadline) {
		return false, err
	}
	if ctx.Value(noRetryKey{}) != nil {
		return err == nil && resp != nil && resp.StatusCode == http.StatusTooManyRequests, nil
	}
	return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
}

// backoff honours Retry-After (seconds or HTTP-date) on 429 and 503, else
// waits an exponentially growing time with jitter so that many workers
// hitting the same outage do not come back in lock step.
func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return d
		}
	}
	if minWait <= 0 {
		minWait = time.Millisecond
	}
	d := maxWait
	if attempt < 30 {
		if e := minWait << attempt; e > 0 && e < maxWait {
			d = e
		}
	}
	half := d / 2
	return half + rand.N(half+1)
}

// retryAfter parses a Retry-After value in either form RFC 9110 allows.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// zapLeveled adapts zap to retryablehttp.LeveledLogger. retryablehttp only
// passes method, redacted URL, errors and timings, never headers, so the
// token cannot reach the log through it. Its "error" level is logged as a
// warning: a failed attempt that will be retried is not yet an error, and
// the final outcome is returned to the caller, who logs it.
type zapLeveled struct{ s *zap.SugaredLogger }

func (z zapLeveled) Error(msg string, kv ...interface{}) { z.s.Warnw(msg, kv...) }
func (z zapLeveled) Info(msg string, kv ...interface{})  { z.s.Infow(msg, kv...) }
func (z zapLeveled) Debug(msg string, kv ...interface{}) { z.s.Debugw(msg, kv...) }
func (z zapLeveled) Warn(msg string, kv ...interface{})  { z.s.Warnw(msg, kv...) }

var _ retryablehttp.LeveledLogger = zapLeveled{}

// transportError is a request that got no HTTP answer: the server may or
// may not have acted on it.
type transportError struct {
	method, path string
	err          error
}

func (e *transportError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.method, e.path, e.err)
}

func (e *transportError) Unwrap() error { return e.err }
