package reliability

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"condeco-visitor-sync/notify/notifytest"
	"condeco-visitor-sync/visitor/simulator"
)

// Known secret values. Each is distinctive, so finding it anywhere means
// it leaked.
const (
	dsnMarker      = "dsn-2b7e91f0c4-SECRET"       // a directory in the SQLite DSN
	sqlPwd         = "sqlpw-a41c7e0d93-SECRET"     // SQL Server password
	sqlClientSec   = "sqlcs-5d0e8b2f71-SECRET"     // Entra ID client secret
	wrongTokenText = "tok-wrong-0c9f3e2a71-SECRET" // a token Visitor refuses
	smtpPwd        = "smtppw-8e41b0c2d7-SECRET"    // notification relay password
	smtpWrongPwd   = "smtppw-wrong-61ad-SECRET"    // a relay password refused
	hookPath       = "hook-f02c7d19b5-SECRET"      // the token in a chat webhook URL
)

// hookSink is a loopback chat webhook that keeps every request.
type hookSink struct {
	*httptest.Server
	mu     sync.Mutex
	got    []string // bodies: what the chat shows
	paths  []string // the secret is here, and only here
	status int
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.got = append(h.got, string(b))
		h.paths = append(h.paths, r.URL.Path)
		if h.status != 0 {
			w.WriteHeader(h.status)
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookSink) requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

func (h *hookSink) pathsSeen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.paths...)
}

// failedLine says whether one line of stderr holds every word.
func failedLine(stderr string, words ...string) bool {
	for _, l := range strings.Split(stderr, "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(l, w)
		}
		if all {
			return true
		}
	}
	return false
}

func (h *hookSink) fail(status int) {
	h.mu.Lock()
	h.status = status
	h.mu.Unlock()
}

// artifacts is everything an installation leaves behind that a person or
// a log shipper could read.
type artifacts map[string]string

func (a artifacts) addDir(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, rerr := os.ReadFile(p)
		if rerr != nil {
			t.Fatal(rerr)
		}
		a[p] = string(b)
		return nil
	})
}

// check fails for every artifact holding a secret, and returns how many
// bytes were scanned and how many leaks it found.
func (a artifacts) check(t *testing.T, secrets ...string) (scanned, leaks int) {
	t.Helper()
	for name, text := range a {
		scanned += len(text)
		for _, s := range secrets {
			if strings.Contains(text, s) {
				leaks++
				i := strings.Index(text, s)
				t.Errorf("%s leaks a secret: …%s…", name, text[max(0, i-80):i])
			}
		}
	}
	return scanned, leaks
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

// A full sync with known secrets, at debug log level, through run-now, a
// dry run with --plan-json, a daemon with metrics, refused credentials and
// an unreachable SQL Server: no secret appears in any log line, stdout,
// report, audit line, plan, metric or error message.
func TestSecretsNeverLeak(t *testing.T) {
	const users = 200
	dbDir := filepath.Join(t.TempDir(), dsnMarker)
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dbDir, "condeco.db")
	fillDB(t, openDB(t, dbPath), users)
	e := newEnvOn(t, dbPath, simulator.Options{ClientID: oauthClient, ClientSecret: oauthSecret,
		Faults: simulator.Faults{ErrorRate: map[int]float64{503: 0.05}, DropAfterWriteRate: 0.02, Sequence: 5}}, "")
	// The DSN comes from the environment, as a secret should.
	e.extra = "condeco_driver: sqlite\n"
	e.writeConfig(e.extra)
	e.rewriteKey("log_level", "debug")
	e.vars["CVS_CONDECO_DSN"] = dbPath
	all := artifacts{}
	keep := func(name string, r result) {
		all[name+" stdout"], all[name+" stderr"] = r.stdout, r.stderr
	}

	r := e.run(2*time.Minute, "--run-now")
	if r.code != exitOK && r.code != exitPartial {
		t.Fatalf("run-now: %s", r)
	}
	keep("run-now", r)
	planPath := filepath.Join(e.stateDir, "plan.json")
	r = e.run(time.Minute, "--run-now", "--dry-run", "--plan-json", planPath)
	keep("dry run", r)

	// The daemon, with OAuth client credentials from a _FILE, serving
	// metrics; scraped while it runs.
	secretFile := filepath.Join(e.dir, "scim-client-secret")
	if err := os.WriteFile(secretFile, []byte(oauthSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	delete(e.vars, "CVS_SCIM_TOKEN")
	e.vars["CVS_SCIM_CLIENT_SECRET_FILE"] = secretFile
	metricsAddr := freeLoopbackAddr(t)
	e.writeConfig(e.extra + fmt.Sprintf("scim_token_url: %q\nscim_client_id: %q\nschedule: \"@every 1s\"\nallow_frequent_schedule: true\n",
		strings.TrimSuffix(e.url, simulator.BasePath)+"/oauth/token", oauthClient))
	e.rewriteKey("log_level", "debug")
	e.rewriteKey("metrics_listen", fmt.Sprintf("%q", metricsAddr))
	runs, out, errs := e.daemon(2, 40*time.Second, func() {
		for _, p := range []string{"/metrics", "/healthz", "/readyz"} {
			all["GET "+p] = get(t, "http://"+metricsAddr+p)
		}
	})
	all["daemon stdout"], all["daemon stderr"] = out, errs
	if runs < 2 {
		t.Fatalf("daemon made %d runs\n%s", runs, tail(errs, 3000))
	}
	if !strings.Contains(all["GET /metrics"], "cvs_scim_requests_total") {
		t.Errorf("metrics not scraped: %s", tail(all["GET /metrics"], 300))
	}

	// Notifications of a deletion by webhook (its URL, token in the path,
	// from a _FILE) and by email (relay password from the environment);
	// then both channels failing: a webhook answering 500 and a relay
	// refusing the password. The messages and the failure lines must
	// carry neither secret.
	hook := newHookSink(t)
	relay := notifytest.Start(t, notifytest.Options{NoTLS: true, User: "cvs", Password: smtpPwd})
	hookFile := filepath.Join(e.dir, "webhook-url")
	if err := os.WriteFile(hookFile, []byte(hook.URL+"/hooks/"+hookPath+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	delete(e.vars, "CVS_SCIM_CLIENT_SECRET_FILE")
	e.vars["CVS_SCIM_TOKEN"] = testToken
	e.vars["CVS_NOTIFY_WEBHOOK_URL_FILE"] = hookFile
	e.vars["CVS_NOTIFY_SMTP_PASSWORD"] = smtpPwd
	e.writeConfig(e.extra + fmt.Sprintf("notify_on: [deletions, failures, limits]\nnotify_smtp_host: 127.0.0.1\nnotify_smtp_port: %d\n"+
		"notify_smtp_user: cvs\nnotify_smtp_from: cvs@example.com\nnotify_smtp_to: [admin@example.com]\nnotify_smtp_tls: none\nnotify_timeout: 5s\n", relay.Port))
	e.rewriteKey("log_level", "debug")
	notified := 0
	for i, leaver := range []int{users, users - 1} {
		e.exec("UPDATE tblUsers SET Deleted = 1 WHERE UserID = ?", leaver)
		if i == 1 {
			hook.fail(http.StatusInternalServerError)
			e.vars["CVS_NOTIFY_SMTP_PASSWORD"] = smtpWrongPwd
		}
		r = e.run(2*time.Minute, "--run-now")
		if r.code != exitOK && r.code != exitPartial {
			t.Fatalf("run with notifications %d: %s", i+1, r)
		}
		keep(fmt.Sprintf("notifying run %d", i+1), r)
		if i == 1 && !failedLine(r.stderr, "notification failed", "webhook", "status 500", "email", "AUTH") {
			t.Errorf("the failing channels were not reported:\n%s", tail(r.stderr, 3000))
		}
	}
	for i, h := range hook.requests() {
		all[fmt.Sprintf("webhook request %d", i+1)] = h
		notified++
	}
	for i, m := range relay.Messages() {
		all[fmt.Sprintf("email %d", i+1)] = m.Data
		notified++
	}
	for _, p := range hook.pathsSeen() {
		if p != "/hooks/"+hookPath {
			t.Errorf("webhook called at %q, not at the configured URL", p)
		}
	}
	if len(relay.Messages()) != 1 || len(hook.requests()) < 2 {
		t.Errorf("%d emails and %d webhook requests; want 1 email and 2+ webhook requests (one answered 500)", len(relay.Messages()), len(hook.requests()))
	}
	delete(e.vars, "CVS_NOTIFY_WEBHOOK_URL_FILE")
	delete(e.vars, "CVS_NOTIFY_SMTP_PASSWORD")

	// Refused credentials: the wrong token is itself a secret.
	e.writeConfig(e.extra)
	delete(e.vars, "CVS_SCIM_CLIENT_SECRET_FILE")
	e.vars["CVS_SCIM_TOKEN"] = wrongTokenText
	r = e.run(time.Minute, "--run-now")
	if r.code != exitAuth {
		t.Errorf("wrong token: exit %d, want %d", r.code, exitAuth)
	}
	keep("wrong token", r)

	// SQL Server that drops the connection, with the password in a DSN
	// and, separately, in discrete settings with an Entra ID secret.
	addr, _ := fakeSQLServer(t, false)
	e.vars["CVS_SCIM_TOKEN"] = testToken
	e.vars["CVS_CONDECO_DSN"] = "sqlserver://cvs_reader:" + sqlPwd + "@" + addr + "?database=Condeco&encrypt=true"
	e.writeConfig("condeco_driver: sqlserver\ncondeco_connect_timeout: 5s\n")
	r = e.run(time.Minute, "--run-now")
	if r.code != exitSource {
		t.Errorf("sqlserver dsn: exit %d, want %d\n%s", r.code, exitSource, r)
	}
	keep("sqlserver dsn", r)
	delete(e.vars, "CVS_CONDECO_DSN")
	e.vars["CVS_CONDECO_PASSWORD"] = sqlPwd
	e.writeConfig(sqlServerConfig(addr, "5s"))
	r = e.run(time.Minute, "--run-now")
	if r.code != exitSource {
		t.Errorf("sqlserver password: exit %d, want %d\n%s", r.code, exitSource, r)
	}
	keep("sqlserver password", r)
	csFile := filepath.Join(e.dir, "sql-client-secret")
	if err := os.WriteFile(csFile, []byte(sqlClientSec), 0o600); err != nil {
		t.Fatal(err)
	}
	e.vars["CVS_CONDECO_CLIENT_SECRET_FILE"] = csFile
	e.writeConfig(sqlServerConfig(addr, "5s") + "condeco_auth: azuread-sp\ncondeco_client_id: 11111111-2222-3333-4444-555555555555\ncondeco_tenant_id: 66666666-7777-8888-9999-000000000000\n")
	r = e.run(time.Minute, "--run-now")
	if r.code == exitOK {
		t.Errorf("azuread-sp against a dead server succeeded")
	}
	keep("sqlserver entra id", r)

	all.addDir(t, e.stateDir)
	secrets := []string{testToken, oauthSecret, dsnMarker, sqlPwd, sqlClientSec, wrongTokenText, smtpPwd, smtpWrongPwd, hookPath}
	scanned, leaks := all.check(t, secrets...)
	if _, ok := all[filepath.Join(e.stateDir, "audit.log")]; !ok {
		t.Error("no audit log to scan")
	}
	if _, ok := all[planPath]; !ok {
		t.Error("no plan to scan")
	}
	t.Logf("RESULT secrets=%d artifacts=%d bytes=%d daemonRuns=%d notificationsScanned=%d leaks=%d", len(secrets), len(all), scanned, runs, notified, leaks)
}

// --print-config shows every setting and masks every secret, whichever
// way it was delivered (config file, environment, _FILE).
func TestPrintConfigMasksSecrets(t *testing.T) {
	e := newEnv(t, 1, simulator.Options{}, "")
	csFile := filepath.Join(e.dir, "sql-client-secret")
	if err := os.WriteFile(csFile, []byte(sqlClientSec+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.vars = map[string]string{
		"CVS_SCIM_TOKEN":                 testToken,
		"CVS_SCIM_CLIENT_SECRET":         oauthSecret,
		"CVS_CONDECO_PASSWORD":           sqlPwd,
		"CVS_CONDECO_CLIENT_SECRET_FILE": csFile,
		"CVS_CONDECO_DSN":                "sqlserver://cvs_reader:" + sqlPwd + "@db.example.com?database=Condeco&" + dsnMarker + "=1",
		"CVS_NOTIFY_SMTP_PASSWORD":       smtpPwd,
		"CVS_NOTIFY_WEBHOOK_URL":         "https://chat.example.com/hooks/" + hookPath,
	}
	e.writeConfig("condeco_driver: sqlserver\ncondeco_host: db.example.com\ncondeco_database: Condeco\ncondeco_user: cvs_reader\n" +
		"notify_smtp_host: smtp.example.com\nnotify_smtp_user: cvs\nnotify_smtp_from: cvs@example.com\nnotify_smtp_to: [admin@example.com]\n")
	r := e.run(30*time.Second, "--print-config")
	if r.code != exitOK {
		t.Fatalf("%s", r)
	}
	_, leaks := artifacts{"print-config": r.stdout + r.stderr}.check(t, testToken, oauthSecret, sqlPwd, sqlClientSec, dsnMarker, smtpPwd, hookPath)
	masked := []string{"condeco_dsn", "condeco_password", "condeco_client_secret", "scim_token", "scim_client_secret",
		"notify_smtp_password", "notify_webhook_url"}
	for _, key := range masked {
		if !strings.Contains(r.stdout, key+": '******'") && !strings.Contains(r.stdout, key+`: "******"`) && !strings.Contains(r.stdout, key+": ******") {
			t.Errorf("%s is not shown masked:\n%s", key, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "condeco_encrypt: true") {
		t.Errorf("condeco_encrypt is not on by default:\n%s", r.stdout)
	}
	t.Logf("RESULT print-config settings=%d leaks=%d", len(masked), leaks)
}
