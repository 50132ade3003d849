package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/notify/notifytest"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

const smtpTestPassword = "relay-pw-3c8d1f"

// hookReceiver is a loopback webhook endpoint.
type hookReceiver struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []map[string]any
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := h.status.Load(); s != 0 {
			w.WriteHeader(int(s))
			return
		}
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, m)
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) bodies() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.got...)
}

// notifyFixture is the e2e fixture with both channels configured and the
// SMTP password in the environment, as an operator would set it.
func notifyFixture(t *testing.T) (*fixture, *hookReceiver, *notifytest.Server, func(string) string) {
	srv := notifytest.Start(t, notifytest.Options{NoTLS: true, User: "cvs", Password: smtpTestPassword})
	hook := newHookReceiver(t)
	f := newFixture(t, simulator.Options{}, fmt.Sprintf(
		"notify_webhook_url: %q\nnotify_smtp_host: 127.0.0.1\nnotify_smtp_port: %d\nnotify_smtp_user: cvs\nnotify_smtp_from: cvs@example.com\nnotify_smtp_to: [admin@example.com]\nnotify_smtp_tls: none\nnotify_timeout: 10s\n",
		hook.URL+"/hooks/SECRETPATH", srv.Port))
	env := func(k string) string {
		if k == "CVS_NOTIFY_SMTP_PASSWORD" {
			return smtpTestPassword
		}
		return f.env(k)
	}
	return f, hook, srv, env
}

func runWith(ctx context.Context, f *fixture, getenv func(string) string, args ...string) (service.ExitCode, string, string) {
	var out, errb bytes.Buffer
	code := runContext(ctx, append([]string{"--config", f.cfgPath}, args...), &out, &errb, env{getenv: getenv})
	return code, out.String(), errb.String()
}

func userName(t *testing.T, f *fixture, id int) string {
	t.Helper()
	var n string
	if err := f.db.Get(&n, "SELECT UserName FROM tblUsers WHERE UserID = ?", id); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRunNowNotifications walks one tenant through the outcomes that must
// and must not notify, through the real CLI, simulator and SMTP server.
func TestRunNowNotifications(t *testing.T) {
	t.Parallel()
	f, hook, srv, env := notifyFixture(t)
	ctx := context.Background()
	leaver := userName(t, f, 21)

	steps := []struct {
		name      string
		before    func(t *testing.T)
		args      []string
		wantCode  service.ExitCode
		notified  bool
		reasons   string // JSON reasons of the webhook
		words     []string
		wantInLog string
	}{
		{name: "initial run creates only: not notified", args: []string{"--run-now"}, wantCode: service.ExitOK},
		{name: "dry run of day two: never notified", args: []string{"--run-now", "--dry-run"}, wantCode: service.ExitOK,
			before: func(t *testing.T) {
				if err := condeco.ExecFile(ctx, f.db, filepath.Join("..", "..", "testdata", "condeco", "day2.sql")); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "day two deletes a leaver: notified", args: []string{"--run-now"}, wantCode: service.ExitOK, notified: true,
			reasons: "[deletions]", words: []string{leaver, "deleted 1"}},
		{name: "clean run: not notified", args: []string{"--run-now"}, wantCode: service.ExitOK},
		{name: "safety limit: notified with the limit message", args: []string{"--run-now"}, wantCode: service.ExitSafetyLimit, notified: true,
			reasons: "[limits]", words: []string{"max_deletes", "--allow-deletes 1"},
			before: func(t *testing.T) {
				appendCfg(t, f, "max_deletes: 0\n")
				if _, err := f.db.ExecContext(ctx, "UPDATE tblUsers SET Deleted = 1 WHERE UserID = 22"); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "undeliverable: logged, exit code unchanged", args: []string{"--run-now"}, wantCode: service.ExitSafetyLimit,
			wantInLog: "notification failed",
			before: func(t *testing.T) {
				hook.status.Store(http.StatusInternalServerError)
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				closed := ln.Addr().(*net.TCPAddr).Port
				ln.Close()
				appendCfg(t, f, fmt.Sprintf("notify_smtp_port: %d\n", closed))
			}},
	}
	for _, st := range steps {
		if !t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before(t)
			}
			mails, hooks := len(srv.Messages()), len(hook.bodies())
			code, out, errs := runWith(ctx, f, env, st.args...)
			if code != st.wantCode {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, st.wantCode, out, errs)
			}
			newMails, newHooks := srv.Messages()[mails:], hook.bodies()[hooks:]
			if st.wantInLog != "" && !strings.Contains(errs, st.wantInLog) {
				t.Errorf("log lacks %q:\n%s", st.wantInLog, errs)
			}
			for _, secret := range []string{smtpTestPassword, testToken, "SECRETPATH"} {
				if strings.Contains(out+errs, secret) {
					t.Errorf("output leaks %q", secret)
				}
			}
			if !st.notified {
				if len(newMails)+len(newHooks) != 0 {
					t.Fatalf("sent %d emails and %d webhooks, want none", len(newMails), len(newHooks))
				}
				return
			}
			if len(newMails) != 1 || len(newHooks) != 1 {
				t.Fatalf("sent %d emails and %d webhooks, want one each\n%s", len(newMails), len(newHooks), errs)
			}
			h := newHooks[0]
			if got := fmt.Sprint(h["reasons"]); got != st.reasons {
				t.Errorf("reasons %s, want %s", got, st.reasons)
			}
			if h["trigger"] != "run-now" || h["exitCode"] != float64(st.wantCode) {
				t.Errorf("trigger %v exitCode %v", h["trigger"], h["exitCode"])
			}
			raw, _ := json.Marshal(h)
			for _, w := range st.words {
				if !strings.Contains(string(raw), w) {
					t.Errorf("webhook lacks %q: %s", w, raw)
				}
				if !strings.Contains(newMails[0].Data, w) {
					t.Errorf("email lacks %q:\n%s", w, newMails[0].Data)
				}
			}
			for _, secret := range []string{smtpTestPassword, testToken} {
				if strings.Contains(string(raw), secret) || strings.Contains(newMails[0].Data, secret) {
					t.Errorf("message leaks %q", secret)
				}
			}
			if p, _ := h["reportPath"].(string); st.wantCode == service.ExitOK {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("reportPath %q: %v", p, err)
				}
			}
		}) {
			return // later steps build on this one
		}
	}
}

// TestDaemonNotifiesScheduledRun: the daemon's runs notify too (the
// start-up run here), marked as scheduled.
func TestDaemonNotifiesScheduledRun(t *testing.T) {
	t.Parallel()
	hook := newHookReceiver(t)
	f := newFixture(t, simulator.Options{}, fmt.Sprintf("notify_webhook_url: %q\nnotify_on: [deletions]\n", hook.URL))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
		t.Fatalf("initial run: exit %d\n%s\n%s", code, out, errs)
	}
	if len(hook.bodies()) != 0 {
		t.Fatal("initial run (creates only) was notified")
	}
	if err := condeco.ExecFile(ctx, f.db, filepath.Join("..", "..", "testdata", "condeco", "day2.sql")); err != nil {
		t.Fatal(err)
	}
	done := make(chan service.ExitCode, 1)
	go func() { done <- runContext(ctx, []string{"--config", f.cfgPath}, io.Discard, io.Discard, f.envs()) }()
	waitFor(t, 30*time.Second, "the start-up run's notification", func() bool { return len(hook.bodies()) > 0 })
	cancel()
	select {
	case code := <-done:
		if code != service.ExitOK {
			t.Fatalf("daemon exit %d", code)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("daemon did not stop")
	}
	h := hook.bodies()[0]
	if h["trigger"] != "scheduled" || fmt.Sprint(h["reasons"]) != "[deletions]" {
		t.Errorf("trigger %v reasons %v", h["trigger"], h["reasons"])
	}
	if !strings.Contains(fmt.Sprint(h["removed"]), userName(t, f, 21)) {
		t.Errorf("removed %v lacks the leaver", h["removed"])
	}
}

func TestNotifyTestFlag(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		channel  bool
		status   int
		wantCode service.ExitCode
		wantOut  string
	}{
		{name: "delivered", channel: true, wantCode: service.ExitOK, wantOut: "test notification sent via webhook 127.0.0.1"},
		{name: "receiver refuses", channel: true, status: http.StatusForbidden, wantCode: service.ExitError, wantOut: "status 403"},
		{name: "nothing configured", wantCode: service.ExitError, wantOut: "no notification channel is configured"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hook := newHookReceiver(t)
			hook.status.Store(int32(tc.status))
			extra := ""
			if tc.channel {
				extra = fmt.Sprintf("notify_webhook_url: %q\n", hook.URL+"/SECRETPATH")
			}
			f := newFixture(t, simulator.Options{}, extra)
			code, out, errs := f.run(context.Background(), "--notify-test")
			if code != tc.wantCode || !strings.Contains(out, tc.wantOut) {
				t.Fatalf("exit %d, want %d; output lacks %q:\n%s\n%s", code, tc.wantCode, tc.wantOut, out, errs)
			}
			if strings.Contains(out+errs, "SECRETPATH") {
				t.Error("output shows the webhook URL")
			}
			if tc.wantCode == service.ExitOK {
				b := hook.bodies()
				if len(b) != 1 || fmt.Sprint(b[0]["reasons"]) != "[test]" {
					t.Errorf("webhook got %v", b)
				}
			}
		})
	}
}
