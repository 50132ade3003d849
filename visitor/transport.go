package visitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
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

// retryPolicy is checkRetry that gives up at once on a Retry-After the
// client will not wait (see checkRetryAfter).
func retryPolicy(maxAfter time.Duration) retryablehttp.CheckRetry {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if err == nil && resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) &&
			checkRetryAfter(resp.Header.Get("Retry-After"), maxAfter) != nil {
			return false, nil // call turns the answer into ErrRetryAfter
		}
		return checkRetry(ctx, resp, err)
	}
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
		if d, ok, err := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok && err == nil {
			return d // retryPolicy has checked it is not longer than allowed
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

// retryAfter parses a Retry-After value in either form RFC 9110 §10.2.3
// allows: delay-seconds or an HTTP-date (one in the past means now). ok
// is false without a value; err says a value is not one of the two.
func retryAfter(v string, now time.Time) (d time.Duration, ok bool, err error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false, nil
	}
	if n, perr := strconv.ParseInt(v, 10, 64); perr == nil {
		if n < 0 {
			return 0, true, fmt.Errorf("Retry-After %q is negative", v)
		}
		if n > int64(maxRetryAfterSeconds) {
			n = maxRetryAfterSeconds // far beyond any wait allowed; no overflow
		}
		return time.Duration(n) * time.Second, true, nil
	}
	t, perr := http.ParseTime(v)
	if perr != nil {
		return 0, true, fmt.Errorf("Retry-After %q is neither seconds nor an HTTP date", v)
	}
	if d := t.Sub(now); d > 0 {
		return d, true, nil
	}
	return 0, true, nil
}

// maxRetryAfterSeconds caps a parsed delay so that it fits a Duration.
const maxRetryAfterSeconds = 1 << 32

// checkRetryAfter is nil when a Retry-After can be waited: absent, or a
// valid delay of at most maxAfter. Otherwise the error (ErrRetryAfter)
// names the value and the limit.
func checkRetryAfter(v string, maxAfter time.Duration) error {
	d, ok, err := retryAfter(v, time.Now())
	switch {
	case !ok:
		return nil
	case err != nil:
		return fmt.Errorf("%w: %v", ErrRetryAfter, err)
	case d > maxAfter:
		return fmt.Errorf("%w: Retry-After %q is more than the %s this client waits (scim_retry_wait_max)", ErrRetryAfter, strings.TrimSpace(v), maxAfter)
	}
	return nil
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
