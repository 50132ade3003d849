package visitor

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"condeco-visitor-sync/internal/urlcheck"
)

// Limits of Eptura's SCIM servers the client assumes (see
// docs/visitor-scim.md: Eptura does not publish them).
const (
	DefaultRateLimit = 500 // calls per minute per client
	DefaultPageSize  = 200
	MaxBodyBytes     = 2 << 20 // the server answers 413 above this
	DefaultTimeout   = 30 * time.Second
	// DefaultRetryAfterMax is the longest Retry-After waited: a run must
	// not sleep through the next day on a server's say-so.
	DefaultRetryAfterMax = 5 * time.Minute
	maxResponseBytes     = 64 << 20
	maxPreallocBytes     = 16 << 20  // a page of 200 users with 1 000 locations each is 7 MB
	maxListItems         = 1_000_000 // far above any tenant; stops a runaway listing
	// maxListPrealloc bounds what a server's totalResults can make the
	// client allocate before any item arrived (56 MB of users).
	maxListPrealloc = 250_000
	mediaType       = "application/scim+json"
	spcPath         = "ServiceProviderConfig"
)

// Options configures a Client. Token, ClientSecret and the token itself
// are secrets and never logged.
type Options struct {
	BaseURL string
	Token   string

	TokenURL, ClientID, ClientSecret string
	TokenLifetime                    time.Duration

	UserSchema, LocationSchema, LocationsEndpoint string

	RateLimit int
	PageSize  int
	Timeout   time.Duration

	RetryMax                   int
	RetryWaitMin, RetryWaitMax time.Duration
	// RetryAfterMax is the longest Retry-After the client waits; a longer
	// (or negative, or unparsable) one fails the request with
	// ErrRetryAfter. Zero is DefaultRetryAfterMax.
	RetryAfterMax time.Duration

	InsecureSkipVerify bool
	HTTPClient         *http.Client

	// Limiter, when set, is used instead of one built from RateLimit, so
	// that several clients holding one token (a profile check, or two
	// profiles of one tenant) spend one call budget between them.
	Limiter *rate.Limiter
}

// NewLimiter is the call budget of perMinute calls a minute that a client
// spends (Options.Limiter, to share one between clients on one token).
// Burst 1: calls are spread evenly, so no sliding minute ever holds more
// than the budget plus one.
func NewLimiter(perMinute int) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(float64(perMinute)/60), 1)
}

// Client talks to one Visitor tenant. It is safe for concurrent use; all
// goroutines share one rate limiter so the tenant's budget is spent
// evenly instead of bouncing off 429s.
type Client struct {
	base              *url.URL
	log               *zap.Logger
	rc                *retryablehttp.Client
	auth              *tokens
	st                *stats
	userSchema        string
	locationSchema    string
	locationsEndpoint string
	retryMax          int
	retryWaitMin      time.Duration
	retryWaitMax      time.Duration
	retryAfterMax     time.Duration
	// mediaType is sent as Accept and Content-Type: SCIM 2.0's
	// application/scim+json, or application/json for SCIM 1.1.
	mediaType string
	// spcPath is where the server describes itself: ServiceProviderConfig
	// in SCIM 2.0, ServiceProviderConfigs in SCIM 1.1.
	spcPath string

	pageMu   sync.Mutex // guards pageSize and spcRead
	pageSize int        // lowered, never raised, to what the server allows
	spcRead  bool       // ServiceProviderConfig was read (after a refused page)

	ext extPool // Visitor extensions (location lists) shared between users

	swRefused atomic.Bool // the server refused an sw filter: list without one
}

// New checks the options and builds a Client. It makes no request.
func New(o Options, log *zap.Logger) (*Client, error) {
	if log == nil {
		log = zap.NewNop()
	}
	base, err := checkURL("base url", o.BaseURL)
	if err != nil {
		return nil, err
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	if o.Token != "" && o.TokenURL != "" {
		return nil, errors.New("visitor: set either a token or a token url, not both")
	}
	if o.Token == "" && o.TokenURL == "" {
		return nil, errors.New("visitor: no token and no token url")
	}
	if o.TokenURL != "" {
		if _, err := checkURL("token url", o.TokenURL); err != nil {
			return nil, err
		}
		if o.ClientID == "" || o.ClientSecret == "" {
			return nil, errors.New("visitor: token url needs a client id and a client secret")
		}
	}
	if o.TokenLifetime == 0 {
		o.TokenLifetime = DefaultTokenLifetime
	}
	if o.TokenLifetime < MinTokenLifetime || o.TokenLifetime > MaxTokenLifetime {
		return nil, fmt.Errorf("visitor: token lifetime %s outside %s..%s", o.TokenLifetime, MinTokenLifetime, MaxTokenLifetime)
	}
	if o.UserSchema == "" {
		o.UserSchema = DefaultUserSchema
	}
	if o.LocationSchema == "" {
		o.LocationSchema = DefaultLocationSchema
	}
	if o.LocationsEndpoint == "" {
		o.LocationsEndpoint = DefaultLocationsEndpoint
	}
	o.LocationsEndpoint = strings.Trim(o.LocationsEndpoint, "/")
	if o.RateLimit <= 0 {
		o.RateLimit = DefaultRateLimit
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RetryMax < 0 {
		return nil, errors.New("visitor: negative retry max")
	}
	if o.RetryWaitMin <= 0 {
		o.RetryWaitMin = 500 * time.Millisecond
	}
	if o.RetryWaitMax <= 0 {
		o.RetryWaitMax = 30 * time.Second
	}
	if o.RetryWaitMax < o.RetryWaitMin {
		o.RetryWaitMax = o.RetryWaitMin
	}
	if o.RetryAfterMax <= 0 {
		o.RetryAfterMax = DefaultRetryAfterMax
	}
	if o.InsecureSkipVerify {
		log.Warn("tls certificate verification is off", zap.String("base_url", base.Redacted()))
	}

	st := &stats{}
	lim := o.Limiter
	if lim == nil {
		lim = NewLimiter(o.RateLimit)
	}
	hc := o.HTTPClient
	var baseRT http.RoundTripper
	if hc != nil && hc.Transport != nil {
		baseRT = hc.Transport
	} else {
		tr := cleanhttp.DefaultPooledTransport()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify} //nolint:gosec // opt-in, warned above
		baseRT = tr
	}
	httpc := &http.Client{
		Transport: &limitTransport{base: baseRT, lim: lim, timeout: o.Timeout, st: st},
		// A SCIM API has no business redirecting; following one could
		// carry the token to another place.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if hc != nil {
		httpc.Jar = hc.Jar
	}
	rc := &retryablehttp.Client{
		HTTPClient:   httpc,
		Logger:       zapLeveled{log.Sugar()},
		RetryWaitMin: o.RetryWaitMin,
		RetryWaitMax: o.RetryWaitMax,
		RetryMax:     o.RetryMax,
		CheckRetry:   retryPolicy(o.RetryAfterMax),
		Backoff:      backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		RequestLogHook: func(_ retryablehttp.Logger, _ *http.Request, attempt int) {
			if attempt > 0 {
				st.add(func(s *Stats) { s.Retries++ })
			}
		},
	}
	c := &Client{
		base:              base,
		log:               log,
		rc:                rc,
		st:                st,
		userSchema:        o.UserSchema,
		locationSchema:    o.LocationSchema,
		locationsEndpoint: o.LocationsEndpoint,
		retryMax:          o.RetryMax,
		retryWaitMin:      o.RetryWaitMin,
		retryWaitMax:      o.RetryWaitMax,
		retryAfterMax:     o.RetryAfterMax,
		pageSize:          o.PageSize,
		mediaType:         mediaType,
		spcPath:           spcPath,
	}
	c.auth = &tokens{
		static:   o.Token,
		tokenURL: o.TokenURL,
		id:       o.ClientID,
		secret:   o.ClientSecret,
		lifetime: o.TokenLifetime,
		rc:       rc,
		st:       st,
		now:      time.Now,
	}
	return c, nil
}

// checkURL allows https anywhere and plain http only to this machine, so a
// token is never sent in clear over a network (urlcheck is the rule).
func checkURL(what, raw string) (*url.URL, error) {
	u, err := urlcheck.Parse(raw)
	switch {
	case err == nil:
		return u, nil
	case u == nil:
		return nil, fmt.Errorf("visitor: %s: %w", what, err)
	case errors.Is(err, urlcheck.ErrNoHost):
		return nil, fmt.Errorf("visitor: %s %q has no host", what, u.Redacted())
	case errors.Is(err, urlcheck.ErrPlainHTTP):
		return nil, fmt.Errorf("visitor: %s %q: http is allowed only to loopback: %w", what, u.Redacted(), ErrInsecureURL)
	}
	return nil, fmt.Errorf("visitor: %s %q: scheme must be https: %w", what, u.Redacted(), ErrInsecureURL)
}

// Stats returns a copy of the counters.
func (c *Client) Stats() Stats { return c.st.snapshot() }

// endpoint joins the base URL and a path whose segments are already
// escaped (ids go through url.PathEscape, so a "/" in an id stays in it).
func (c *Client) endpoint(path string, q url.Values) string {
	u := *c.base
	u.RawQuery, u.Fragment = "", ""
	s := u.String() + "/" + strings.TrimPrefix(path, "/")
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// call sends one SCIM request and decodes a 2xx answer into out. Non-2xx
// answers become *Error; requests that got no answer become
// *transportError. A 401 with a token endpoint fetches a new token and
// repeats the request once.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body []byte
	if in != nil {
		switch v := in.(type) {
		case json.RawMessage: // written by this package (encodeUser)
			body = v
		case appender: // a patch: location lists write themselves
			body = v.appendJSON(nil)
		default:
			var err error
			if body, err = json.Marshal(in); err != nil {
				return fmt.Errorf("%s %s: encoding body: %w", method, path, err)
			}
		}
		if len(body) > MaxBodyBytes {
			return fmt.Errorf("%s %s: body is %d bytes, limit is %d: %w", method, path, len(body), MaxBodyBytes, ErrTooLarge)
		}
	}
	rctx := ctx
	if method == http.MethodPost {
		rctx = withUnsafeRetry(ctx)
	}
	garbled := 0       // 2xx answers that could not be read or decoded
	refreshed := false // a 401 fetches a new token once per call
	for {
		tok, err := c.auth.get(ctx)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := retryablehttp.NewRequestWithContext(rctx, method, c.endpoint(path, q), rd)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		req.Header.Set("Accept", c.mediaType)
		if body != nil {
			req.Header.Set("Content-Type", c.mediaType)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := c.rc.Do(req)
		if resp != nil && resp.StatusCode/100 != 2 && ctx.Err() != nil {
			// The caller's deadline ended the retries: that, not the
			// last refusal it cut short, is why the call failed.
			resp.Body.Close()
			return fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		}
		if resp != nil {
			err = nil // the answer says more than "gave up after retries"
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s %s: %w", method, path, ctx.Err())
			}
			return &transportError{method: method, path: path, err: err}
		}
		data, rerr := readBody(resp)
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && !refreshed && c.auth.refreshable() {
			c.log.Info("token refused, fetching a new one", zap.String("method", method), zap.String("path", path))
			c.auth.invalidate(tok)
			refreshed = true
			continue
		}
		if resp.StatusCode/100 != 2 {
			e := decodeError(resp.StatusCode, data, tok, c.auth.secret)
			if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
				if err := checkRetryAfter(resp.Header.Get("Retry-After"), c.retryAfterMax); err != nil {
					// Waiting would hold the run and its lock for as long as
					// the server says: this request fails now instead.
					return fmt.Errorf("%s %s: %w (%w)", method, path, e, err)
				}
				e.RetryAfter, _, _ = retryAfter(resp.Header.Get("Retry-After"), time.Now())
			}
			return fmt.Errorf("%s %s: %w", method, path, e)
		}
		derr := rerr
		if derr == nil && out != nil && len(bytes.TrimSpace(data)) > 0 {
			derr = decodeBody(data, out)
		}
		if derr == nil {
			return nil
		}
		// The server acted but its answer is cut or garbled. A POST is
		// an unknown outcome for the caller to check (createOnce looks
		// the object up); every other method is safe to send again.
		uerr := &transportError{method: method, path: path, err: fmt.Errorf("unreadable %d answer: %w", resp.StatusCode, derr)}
		if method == http.MethodPost || garbled >= c.retryMax {
			return uerr
		}
		c.log.Warn("unreadable answer, sending again", zap.String("method", method), zap.String("path", path), zap.Error(derr))
		if err := c.sleep(ctx, backoff(c.retryWaitMin, c.retryWaitMax, garbled, nil)); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		garbled++
	}
}

// readBody reads an answer of at most maxResponseBytes. With a
// Content-Length it reads into one buffer of that size; io.ReadAll would
// grow its buffer from 512 bytes, allocating and copying about twice a
// 7 MB list page. A length beyond any page's (a server that says more than
// it sends) is not allocated up front.
func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= maxPreallocBytes {
		data := make([]byte, n)
		k, err := io.ReadFull(resp.Body, data)
		return data[:k], err
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
}

// answerDecoder reads a 2xx answer itself (userAnswer). An error from it
// means the answer is garbled; anything else it keeps for its caller.
type answerDecoder interface{ decodeAnswer([]byte) error }

// decodeBody reads a 2xx answer into out. An answer kept raw is checked in
// one pass, where json.Unmarshal into a RawMessage scans it twice and
// copies it.
func decodeBody(data []byte, out any) error {
	switch o := out.(type) {
	case answerDecoder:
		return o.decodeAnswer(data)
	case *json.RawMessage:
		if json.Valid(data) {
			*o = bytes.TrimSpace(data)
			return nil
		}
	}
	return json.Unmarshal(data, out) // and its error for what is not valid
}

// sleep waits d or until ctx ends.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Page size. A listing asks for the configured size without first reading
// ServiceProviderConfig: that request would be the only fixed overhead of a
// run. RFC 7644 §3.4.2.4 lets a server return fewer than count, and one
// that caps at its maximum is followed page by page (startIndex advances by
// what came back); its size is remembered. Only a server that refuses a
// count above its maximum (400) makes the client read filter.maxResults,
// once per Client.

// ListRequests is the least number of requests a listing of n items costs
// at the current page size (at least one: an empty listing is a request).
func (c *Client) ListRequests(n int) int64 {
	size := c.currentPageSize()
	return int64(max(1, (n+size-1)/size))
}

// currentPageSize is what the next listing asks for.
func (c *Client) currentPageSize() int {
	c.pageMu.Lock()
	defer c.pageMu.Unlock()
	return c.pageSize
}

// lowerPageSize remembers a smaller server maximum, logging the change
// once even when several listings learn it at the same time.
func (c *Client) lowerPageSize(n int, from string) int {
	c.pageMu.Lock()
	defer c.pageMu.Unlock()
	if n > 0 && n < c.pageSize {
		c.log.Info("page size lowered to server maximum", zap.Int("page_size", n), zap.String("learned_from", from))
		c.pageSize = n
	}
	return c.pageSize
}

// sizeAfterRefusal decides whether a refused page is asked again with a
// smaller count. It is, when another listing has learned a smaller size
// meanwhile, or when ServiceProviderConfig, read at most once per Client,
// gives a filter.maxResults below the refused count. A missing (404) or
// broken config leaves the refusal as it was.
func (c *Client) sizeAfterRefusal(ctx context.Context, asked int, refusal error) (int, bool) {
	var se *Error
	if !errors.As(refusal, &se) || se.Status != http.StatusBadRequest || se.ScimType == scimTypeInvalidFilter {
		return 0, false
	}
	c.pageMu.Lock()
	defer c.pageMu.Unlock()
	if c.pageSize < asked {
		return c.pageSize, true
	}
	if c.spcRead {
		return 0, false
	}
	var spc struct {
		Filter struct {
			MaxResults int `json:"maxResults"`
		} `json:"filter"`
	}
	err := c.call(ctx, http.MethodGet, c.spcPath, nil, nil, &spc)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return 0, false // not read: a later listing may try again
	case errors.Is(err, ErrNotFound):
		c.spcRead = true
		return 0, false
	default:
		c.spcRead = true
		c.log.Warn("reading service provider config", zap.Error(err))
		return 0, false
	}
	c.spcRead = true
	m := spc.Filter.MaxResults
	if m <= 0 || m >= asked {
		return 0, false
	}
	c.log.Info("page size lowered to server maximum", zap.Int("page_size", m), zap.String("learned_from", c.spcPath))
	c.pageSize = m
	return m, true
}

// list pages through a listing with startIndex/count until totalResults
// items were seen or the server returns an empty page. Each item goes to
// each as its page arrives, so a big listing is held once, decoded, and
// not a second time as raw JSON (100 000 users with every location on
// each are gigabytes of JSON). grow, when set, learns the first page's
// totalResults (at most maxListPrealloc) before its items arrive.
func (c *Client) list(ctx context.Context, path, filter string, grow func(total int), each func(json.RawMessage) (string, error)) error {
	size := c.currentPageSize()
	var prevFirst json.RawMessage
	seen, start, total := 0, 1, -1
	var ids map[string]int // resource id -> page it came on
	for pageNo := 1; ; pageNo++ {
		q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(size)}}
		if filter != "" {
			q.Set("filter", filter)
		}
		var page listResponse
		if err := c.call(ctx, http.MethodGet, path, q, nil, &page); err != nil {
			// Each retry asks for strictly fewer, so this ends.
			if smaller, ok := c.sizeAfterRefusal(ctx, size, err); ok && smaller < size {
				size = smaller
				pageNo--
				continue
			}
			return err
		}
		where := fmt.Sprintf("GET %s: page %d (startIndex %d)", path, pageNo, start)
		if page.malformed != nil {
			return fmt.Errorf("%s: %w", where, page.malformed)
		}
		// A server that ignores startIndex would otherwise be paged
		// forever, returning the first page again and again.
		if page.StartIndex != 0 && page.StartIndex != start {
			return fmt.Errorf("%s: %w: the answer is for startIndex %d", where, ErrListing, page.StartIndex)
		}
		// One that leaves startIndex out of its answers is caught by the
		// page repeating itself.
		if page.StartIndex == 0 && len(page.Resources) > 0 {
			if prevFirst != nil && bytes.Equal(page.Resources[0], prevFirst) {
				return fmt.Errorf("%s: %w: the previous page came again", where, ErrListing)
			}
			prevFirst = bytes.Clone(page.Resources[0]) // not the whole page
		}
		// A listing is planned on as the whole truth: one that cannot be
		// (RFC 7644 §3.4.2, §3.4.2.4: totalResults is required and counts
		// every match) would read the users it missed as gone or new.
		switch {
		case page.TotalResults < 0:
			return fmt.Errorf("%s: %w: totalResults is %d", where, ErrListing, page.TotalResults)
		case page.TotalResults == 0 && len(page.Resources) > 0:
			return fmt.Errorf("%s: %w: %d resources but totalResults 0 (or none)", where, ErrListing, len(page.Resources))
		case total >= 0 && page.TotalResults != total:
			return fmt.Errorf("%s: %w: totalResults changed from %d (page 1) to %d", where, ErrListing, total, page.TotalResults)
		}
		if ids == nil {
			ids = make(map[string]int, min(max(page.TotalResults, 0), maxListPrealloc))
		}
		total = page.TotalResults
		if seen+len(page.Resources) > maxListItems {
			return fmt.Errorf("%s: more than %d results", where, maxListItems)
		}
		if grow != nil && seen == 0 && page.TotalResults > 0 {
			grow(min(page.TotalResults, maxListPrealloc))
		}
		for _, r := range page.Resources {
			id, err := each(r)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if first, dup := ids[id]; dup {
				return fmt.Errorf("%s: %w: resource %q was already listed on page %d", where, ErrListing, id, first)
			}
			ids[id] = pageNo
		}
		n := len(page.Resources)
		seen += n
		start += n
		if seen >= total {
			return nil
		}
		if n == 0 {
			return fmt.Errorf("%s: %w: the page is empty, but totalResults is %d and %d came", where, ErrListing, total, seen)
		}
		if n < size { // a server capping count at its maximum
			size = min(size, c.lowerPageSize(n, "short page"))
		}
	}
}
