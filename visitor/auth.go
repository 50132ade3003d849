package visitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Token lifetimes the Eptura token endpoint accepts: 1 minute to 10 years,
// 24 hours when not asked (see docs/visitor-scim.md).
const (
	MinTokenLifetime     = time.Minute
	MaxTokenLifetime     = 315360000 * time.Second
	DefaultTokenLifetime = 24 * time.Hour
)

// refreshFraction is how far into a token's life it is replaced, so a
// request never starts with a token about to expire.
const refreshFraction = 0.9

// tokens hands out the bearer token: a fixed one, or one fetched from the
// token endpoint, cached and replaced before it expires.
type tokens struct {
	static               string
	tokenURL, id, secret string
	lifetime             time.Duration
	rc                   *retryablehttp.Client
	st                   *stats
	now                  func() time.Time
	mu                   sync.Mutex
	tok                  string
	refreshAt            time.Time
}

// refreshable reports whether a 401 can be cured by fetching a new token.
func (t *tokens) refreshable() bool { return t.tokenURL != "" }

func (t *tokens) get(ctx context.Context) (string, error) {
	if t.static != "" {
		return t.static, nil
	}
	if t.tokenURL == "" {
		return "", nil
	}
	// Held across the fetch on purpose: concurrent callers wait for one
	// fetch instead of each asking for a token.
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != "" && t.now().Before(t.refreshAt) {
		return t.tok, nil
	}
	tok, life, err := t.fetch(ctx)
	if err != nil {
		return "", err
	}
	t.tok = tok
	t.refreshAt = t.now().Add(time.Duration(float64(life) * refreshFraction))
	return tok, nil
}

// invalidate drops the cached token after a 401, unless another goroutine
// has already replaced the one that failed.
func (t *tokens) invalidate(failed string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == failed {
		t.tok = ""
	}
}

func (t *tokens) fetch(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {t.id},
		"client_secret": {t.secret},
		"tokenexpiry":   {strconv.FormatInt(int64(t.lifetime/time.Second), 10)},
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, t.tokenURL, bytes.NewReader([]byte(form.Encode())))
	if err != nil {
		return "", 0, fmt.Errorf("fetching token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := t.rc.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("fetching token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("fetching token: reading answer: %w", err)
	}
	t.st.add(func(s *Stats) { s.TokenFetch++ })
	var out struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Error       string          `json:"error"`
	}
	_ = json.Unmarshal(body, &out)
	if resp.StatusCode/100 != 2 {
		// Only the OAuth error code is shown; the body could echo the secret.
		msg := fmt.Sprintf("fetching token: token endpoint answered %d", resp.StatusCode)
		if out.Error != "" && !strings.Contains(out.Error, t.secret) {
			msg += " (" + out.Error + ")"
		}
		return "", 0, fmt.Errorf("%s: %w", msg, ErrUnauthorized)
	}
	if out.AccessToken == "" {
		return "", 0, fmt.Errorf("fetching token: answer has no access_token")
	}
	life := t.lifetime
	if s := strings.Trim(string(out.ExpiresIn), `"`); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
			life = time.Duration(n) * time.Second
		}
	}
	return out.AccessToken, life, nil
}
