package simulator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// authenticate returns the bearer token if it is the static one or an
// issued one that has not expired.
func (s *Server) authenticate(r *http.Request) (string, *scimError) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", errf(http.StatusUnauthorized, "", "missing bearer token")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.Token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) == 1 {
		if s.staticOff {
			return "", errf(http.StatusUnauthorized, "", "token expired")
		}
		return tok, nil
	}
	exp, ok := s.tokens[tok]
	if !ok {
		return "", errf(http.StatusUnauthorized, "", "unknown token")
	}
	if !s.opts.Now().Before(exp) {
		return "", errf(http.StatusUnauthorized, "", "token expired")
	}
	return tok, nil
}

// allow applies the per-token rate limit; when refused it returns the
// Retry-After value in whole seconds.
func (s *Server) allow(tok string) (string, bool) {
	if s.opts.RateLimit <= 0 {
		return "", true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lim, ok := s.limiters[tok]
	if !ok {
		burst := s.opts.RateLimit
		if s.opts.RateBurst > 0 {
			burst = s.opts.RateBurst
		}
		lim = rate.NewLimiter(rate.Every(time.Minute/time.Duration(s.opts.RateLimit)), burst)
		s.limiters[tok] = lim
	}
	now := s.opts.Now()
	if lim.AllowN(now, 1) {
		return "", true
	}
	res := lim.ReserveN(now, 1)
	wait := res.DelayFrom(now)
	res.CancelAt(now)
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return strconv.Itoa(secs), false
}

// ExpireTokens makes every issued token, and the static token, invalid from
// now on, as when a token's lifetime ends in the middle of a run.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	for t := range s.tokens {
		s.tokens[t] = now
	}
	s.staticOff = true
}

// issueToken is the client-credentials token endpoint of Eptura's SCIM
// servers (see docs/visitor-scim.md).
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	if s.opts.ClientID == "" {
		writeOAuthError(w, http.StatusNotFound, "invalid_request", "token endpoint not enabled")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "form body expected")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if bid, bsecret, ok := r.BasicAuth(); ok && id == "" {
		id, secret = bid, bsecret
	}
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID)) == 1
	secOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) == 1
	if !idOK || !secOK {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "wrong client credentials")
		return
	}
	expiry := defaultTokenExpiry
	if v := r.PostForm.Get("tokenexpiry"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < minTokenExpiry || n > maxTokenExpiry {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request",
				"tokenexpiry must be whole seconds from 60 to 315360000")
			return
		}
		expiry = n
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = s.opts.Now().Add(time.Duration(expiry) * time.Second)
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	writeJSONType(w, http.StatusOK, "application/json", map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": expiry,
	})
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSONType(w, status, "application/json", map[string]string{"error": code, "error_description": desc})
}
