package reliability

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"condeco-visitor-sync/visitor/simulator"
)

// A proxy that gives one listed user in twenty a second externalId key
// (another prefix's): encoding/json would keep the last, the user would
// look unmanaged and be deleted and created again. The run must refuse the
// listing instead: exit 9, no write; the next run without the proxy
// converges.
func TestDuplicatedKeysRefused(t *testing.T) {
	const users = 100
	e := newEnv(t, users, simulator.Options{}, "")
	if r := e.run(time.Minute, "--run-now"); r.code != exitOK {
		t.Fatalf("initial run: %s", r)
	}
	target, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	ext := regexp.MustCompile(`"externalId":"condeco:(\d+)"`)
	duplicated := 0
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method != http.MethodGet || !strings.HasSuffix(resp.Request.URL.Path, "/Users") {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		body = ext.ReplaceAllFunc(body, func(m []byte) []byte {
			n, _ := strconv.Atoi(string(ext.FindSubmatch(m)[1]))
			if n%20 != 0 {
				return m
			}
			duplicated++
			return append(append([]byte{}, m...), []byte(`,"externalId":"hr:`+strconv.Itoa(n)+`"`)...)
		})
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	proxy := httptest.NewServer(rp)
	defer proxy.Close()
	clean := e.url
	e.url = proxy.URL + target.Path
	e.writeConfig(e.sqliteConfig() + e.extra)
	before := e.sim.Stats()
	r := e.run(time.Minute, "--run-now")
	after := e.sim.Stats()
	writes := writeRequests(after) - writeRequests(before)
	t.Logf("RESULT fault=%q users=%d duplicated=%d exit=%d writes=%d", "externalId key duplicated on 5 % of listed users", users, duplicated, r.code, writes)
	if duplicated == 0 || r.code != exitTarget || writes != 0 || !strings.Contains(r.stdout+r.stderr, `appears twice`) {
		t.Fatalf("want exit %d, no write, the member named\n%s", exitTarget, r)
	}
	e.url = clean
	e.writeConfig(e.sqliteConfig() + e.extra)
	e.converged()
	e.checkIntact(users)
}
