package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"condeco-visitor-sync/notify/notifytest"
)

const smtpPassword = "smtp-pass-4e1b9c"

// receiver is a loopback webhook endpoint that records what it got.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []payload
	hits   int
	status int // answer; 0 means 204
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.hits++
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		var p payload
		if err := json.NewDecoder(req.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.status != 0 {
			w.WriteHeader(r.status)
			return
		}
		r.bodies = append(r.bodies, p)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() ([]payload, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]payload(nil), r.bodies...), r.hits
}

func smtpOpts(s *notifytest.Server) SMTPOptions {
	return SMTPOptions{Host: s.Host, Port: s.Port, User: "cvs", Password: smtpPassword,
		From: "Visitor sync <cvs@example.com>", To: []string{"admin@example.com", "ops@example.com"},
		TLS: TLSStartTLS, RootCAs: s.RootCAs}
}

// body decodes an accepted message's subject and quoted-printable text.
func body(t *testing.T, m notifytest.Message) (string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatalf("unparseable message: %v\n%s", err, m.Data)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return subj, string(b)
}

func base() Summary {
	t0 := time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC)
	return Summary{RunID: "r1", Host: "sync-vm", Target: "visitor.example.com", Trigger: "scheduled",
		Start: t0, End: t0.Add(90 * time.Second), ExitName: "ok",
		Counts: Counts{Created: 2, Updated: 1, Unchanged: 40}}
}

func TestNotifyByOutcome(t *testing.T) {
	manyFailures := base()
	manyFailures.ExitCode, manyFailures.ExitName = 3, "partial"
	for i := range 25 {
		manyFailures.Failures = append(manyFailures.Failures, Failure{User: fmt.Sprintf("u%02d@example.com", i), Action: "update", Reason: "409 uniqueness"})
	}
	manyFailures.Counts.Failed = 25
	manyFailures.FailuresTotal = 25

	deletion := base()
	deletion.Counts.Deleted, deletion.Counts.Deactivated = 2, 1
	deletion.Removed = []string{"ann@example.com", "bob@example.com", "cy@example.com"}

	limit := base()
	limit.Counts = Counts{}
	limit.ExitCode, limit.ExitName = 4, "safety_limit"
	limit.Limit = "safety limit max_deletes: plan deletes 60 of 100 managed users (limit 50, 10%); approve with --allow-deletes 60"

	runFailed := base()
	runFailed.Counts = Counts{}
	runFailed.ExitCode, runFailed.ExitName = 7, "auth"
	runFailed.RunError = "visitor refused the token (401)"

	byHand := base()
	byHand.ByHand = &ByHand{Location: "London Bridge", Changed: true, MakeAdmin: []string{"ann@example.com", "bo@example.com"},
		NewAdmins: []string{"bo@example.com"}, RevokeAdmin: []string{"cy@example.com"}, Locations: []string{"Paris", "Madrid"},
		NewLocations: []string{"Madrid"}, MappingRules: []string{"import all users into Madrid", "import all users into Paris"}}
	byHandSame := base()
	byHandSame.ByHand = &ByHand{Location: "London Bridge", MakeAdmin: []string{"ann@example.com"}}

	cases := []struct {
		name        string
		on          []string
		s           Summary
		wantReasons []string
		words       []string // in the email body and the webhook text
		subject     string
	}{
		{name: "clean run is not notified", on: Events, s: base()},
		{name: "deletion run is notified", on: Events, s: deletion, wantReasons: []string{OnDeletions},
			words: []string{"ann@example.com", "cy@example.com", "deleted 2", "deactivated 1"}, subject: "2 users deleted, 1 deactivated"},
		{name: "safety limit is notified with the limit message", on: Events, s: limit, wantReasons: []string{OnLimits},
			words: []string{limit.Limit, "--run-now --dry-run"}, subject: "stopped by a safety limit"},
		{name: "failures are notified, listed up to the cap", on: Events, s: manyFailures, wantReasons: []string{OnFailures},
			words: []string{"u00@example.com", "u19@example.com", "and 5 more"}, subject: "25 users failed"},
		{name: "a whole-run failure is a failure", on: Events, s: runFailed, wantReasons: []string{OnFailures},
			words: []string{"visitor refused the token"}, subject: "run failed (auth)"},
		{name: "events not in notify_on are not sent", on: []string{OnLimits}, s: deletion},
		{name: "a changed by-hand list is notified with its new items", on: Events, s: byHand, wantReasons: []string{OnByHand},
			words: []string{"make admin of London Bridge (new): bo@example.com", "(revoke): cy@example.com",
				"new Condeco locations to create in Visitor, each with a mapping rule: Madrid", "import all users into Paris"},
			subject: "work to do by hand in Visitor"},
		{name: "an unchanged by-hand list is not news", on: Events, s: byHandSame},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := notifytest.Start(t, notifytest.Options{User: "cvs", Password: smtpPassword})
			rcv := newReceiver(t, 0)
			n := New(Options{On: tc.on, WebhookURL: rcv.URL + "/hook/T000/SECRETPATH", SMTP: smtpOpts(srv), Timeout: 10 * time.Second})
			reasons, err := n.Notify(context.Background(), tc.s)
			if err != nil {
				t.Fatalf("Notify: %v", err)
			}
			if fmt.Sprint(reasons) != fmt.Sprint(tc.wantReasons) {
				t.Errorf("reasons = %v, want %v", reasons, tc.wantReasons)
			}
			msgs := srv.Messages()
			hooks, _ := rcv.got()
			if len(tc.wantReasons) == 0 {
				if len(msgs) != 0 || len(hooks) != 0 {
					t.Fatalf("sent %d emails and %d webhooks, want none", len(msgs), len(hooks))
				}
				return
			}
			if len(msgs) != 1 || len(hooks) != 1 {
				t.Fatalf("sent %d emails and %d webhooks, want one each", len(msgs), len(hooks))
			}
			m := msgs[0]
			if !m.TLS {
				t.Error("email went in clear text despite STARTTLS")
			}
			if m.From != "cvs@example.com" || fmt.Sprint(m.To) != "[admin@example.com ops@example.com]" {
				t.Errorf("envelope from %q to %v", m.From, m.To)
			}
			subj, text := body(t, m)
			if !strings.Contains(subj, tc.subject) || !strings.Contains(subj, "sync-vm") {
				t.Errorf("subject %q lacks %q or the host", subj, tc.subject)
			}
			h := hooks[0]
			if fmt.Sprint(h.Reasons) != fmt.Sprint(tc.wantReasons) || h.RunID != "r1" || h.ExitCode != tc.s.ExitCode {
				t.Errorf("webhook payload: reasons %v run %q exit %d", h.Reasons, h.RunID, h.ExitCode)
			}
			for _, w := range tc.words {
				if !strings.Contains(text, w) {
					t.Errorf("email body lacks %q:\n%s", w, text)
				}
				if !strings.Contains(h.Text, w) {
					t.Errorf("webhook text lacks %q:\n%s", w, h.Text)
				}
			}
			if len(h.Failures) > MaxListed || len(h.Removed) > MaxListed {
				t.Errorf("webhook lists %d failures and %d removed, cap is %d", len(h.Failures), len(h.Removed), MaxListed)
			}
			if h.FailuresTotal != tc.s.FailuresTotal {
				t.Errorf("failuresTotal = %d, want %d", h.FailuresTotal, tc.s.FailuresTotal)
			}
			if strings.Contains(m.Data, smtpPassword) || strings.Contains(h.Text, smtpPassword) {
				t.Error("the SMTP password is in the message")
			}
		})
	}
}

func TestNotifyRedactsSecrets(t *testing.T) {
	rcv := newReceiver(t, 0)
	const token = "scim-token-0a9b8c7d"
	s := base()
	s.RunError = "dial failed with header Authorization: Bearer " + token
	s.Failures = []Failure{{User: "x@example.com", Action: "create", Reason: "echoed " + token}}
	s.Counts.Failed, s.FailuresTotal = 1, 1
	n := New(Options{On: Events, WebhookURL: rcv.URL, Redact: []string{token, "ab"}})
	if _, err := n.Notify(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	hooks, _ := rcv.got()
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks", len(hooks))
	}
	raw, _ := json.Marshal(hooks[0])
	if strings.Contains(string(raw), token) {
		t.Fatalf("secret in webhook payload: %s", raw)
	}
	if !strings.Contains(hooks[0].Text, "Bearer ******") {
		t.Errorf("redaction marker missing:\n%s", hooks[0].Text)
	}
	if !strings.Contains(hooks[0].Text, "x@example.com") {
		t.Error("a too-short redact value shredded the text")
	}
}

// A user name from Condeco with a line break must not add a mail header.
func TestEmailHeaderInjection(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{})
	s := base()
	s.RunID = "r1\r\nBcc: victim@example.com"
	s.Counts.Deleted = 1
	s.Removed = []string{"evil@example.com\r\nBcc: victim@example.com"}
	o := smtpOpts(srv)
	o.User, o.Password = "", ""
	if _, err := New(Options{On: Events, SMTP: o}).Notify(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	msg, err := mail.ReadMessage(strings.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Bcc") != "" || len(msgs[0].To) != 2 {
		t.Fatalf("header injected: Bcc=%q rcpt=%v", msg.Header.Get("Bcc"), msgs[0].To)
	}
}

func TestDeliveryFailures(t *testing.T) {
	deletion := base()
	deletion.Counts.Deleted = 1
	deletion.Removed = []string{"ann@example.com"}

	closedPort := func(t *testing.T) int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		return p
	}

	cases := []struct {
		name string
		// setup returns the options and a check of the servers afterwards.
		setup func(t *testing.T) (Options, func(t *testing.T))
		words []string // in the error
	}{
		{name: "webhook answering 500 is retried twice, then reported without its path", words: []string{"status 500", "webhook 127.0.0.1"},
			setup: func(t *testing.T) (Options, func(*testing.T)) {
				r := newReceiver(t, http.StatusInternalServerError)
				return Options{On: Events, WebhookURL: r.URL + "/services/T0/B0/SECRETPATH"}, func(t *testing.T) {
					if _, hits := r.got(); hits != 1+webhookRetries {
						t.Errorf("receiver hit %d times, want %d", hits, 1+webhookRetries)
					}
				}
			}},
		{name: "wrong SMTP password is refused once, not retried", words: []string{"AUTH as cvs", "535"},
			setup: func(t *testing.T) (Options, func(*testing.T)) {
				srv := notifytest.Start(t, notifytest.Options{User: "cvs", Password: "another"})
				return Options{On: Events, SMTP: smtpOpts(srv)}, func(t *testing.T) {
					if a := srv.Auths(); len(a) != 1 || a[0] != "cvs:fail" {
						t.Errorf("auth attempts %v, want one failure", a)
					}
				}
			}},
		{name: "relay without STARTTLS never sees the password", words: []string{"does not offer STARTTLS"},
			setup: func(t *testing.T) (Options, func(*testing.T)) {
				srv := notifytest.Start(t, notifytest.Options{NoTLS: true, User: "cvs", Password: smtpPassword})
				return Options{On: Events, SMTP: smtpOpts(srv)}, func(t *testing.T) {
					if a := srv.Auths(); len(a) != 0 {
						t.Errorf("password sent in clear: %v", a)
					}
				}
			}},
		{name: "temporary rejection is retried", words: []string{"after 3 attempts", "451"},
			setup: func(t *testing.T) (Options, func(*testing.T)) {
				srv := notifytest.Start(t, notifytest.Options{User: "cvs", Password: smtpPassword, RejectData: 451})
				return Options{On: Events, SMTP: smtpOpts(srv)}, func(t *testing.T) {
					if n := srv.DataAttempts(); n != emailAttempts {
						t.Errorf("%d DATA attempts, want %d", n, emailAttempts)
					}
				}
			}},
		{name: "nothing listening", words: []string{"email via 127.0.0.1", "connecting to"},
			setup: func(t *testing.T) (Options, func(*testing.T)) {
				return Options{On: Events, SMTP: SMTPOptions{Host: "127.0.0.1", Port: closedPort(t), From: "a@example.com", To: []string{"b@example.com"}, TLS: TLSNone}}, func(*testing.T) {}
			}},
		{name: "one channel failing does not stop the other", words: []string{"status 503"},
			setup: func(t *testing.T) (Options, func(*testing.T)) {
				r := newReceiver(t, http.StatusServiceUnavailable)
				srv := notifytest.Start(t, notifytest.Options{User: "cvs", Password: smtpPassword})
				return Options{On: Events, WebhookURL: r.URL, SMTP: smtpOpts(srv)}, func(t *testing.T) {
					if len(srv.Messages()) != 1 {
						t.Error("email not sent after the webhook failed")
					}
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, check := tc.setup(t)
			o.Timeout = 15 * time.Second
			start := time.Now()
			_, err := New(o).Notify(context.Background(), deletion)
			if err == nil || !errors.Is(err, ErrDelivery) {
				t.Fatalf("err = %v, want ErrDelivery", err)
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, never := range []string{"SECRETPATH", smtpPassword} {
				if strings.Contains(err.Error(), never) {
					t.Errorf("error leaks %q: %v", never, err)
				}
			}
			if d := time.Since(start); d > o.Timeout+5*time.Second {
				t.Errorf("took %s, beyond the %s bound", d, o.Timeout)
			}
			check(t)
		})
	}
}

func TestImplicitTLS(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{Implicit: true, User: "cvs", Password: smtpPassword})
	o := smtpOpts(srv)
	o.TLS = TLSImplicit
	s := base()
	s.Limit = "source guard: export has 0 users"
	if _, err := New(Options{On: Events, SMTP: o}).Notify(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if m := srv.Messages(); len(m) != 1 || !m[0].TLS {
		t.Fatalf("messages %+v", m)
	}
}

func TestTimeoutBoundsAStuckRelay(t *testing.T) {
	// A server that accepts and never greets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s := base()
	s.Counts.Deleted = 1
	o := Options{On: Events, Timeout: 500 * time.Millisecond,
		SMTP: SMTPOptions{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, From: "a@example.com", To: []string{"b@example.com"}, TLS: TLSNone}}
	start := time.Now()
	if _, err := New(o).Notify(context.Background(), s); err == nil {
		t.Fatal("no error from a relay that never answered")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s with a 500ms timeout", d)
	}
}
