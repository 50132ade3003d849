// Package notify tells people about a run that needs a look: one that
// deleted or deactivated users, had failures, or was stopped by a safety
// limit. A scheduled run at 02:00 is otherwise seen by nobody until a
// visitor's badge stops working.
//
// It knows nothing of the sync: the caller hands it a Summary. Sending is
// best effort; the caller logs a failure and never changes the run's
// outcome because of it.
package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Events a notification can be sent for (config key notify_on).
const (
	OnDeletions = "deletions" // users were deleted or deactivated
	OnFailures  = "failures"  // users failed, conflicted, or the whole run failed
	OnLimits    = "limits"    // a safety limit or the source guard stopped the run
	// OnByHand: the work left to a person in Visitor changed (a profile
	// that cannot carry locations and roles: generic-v1).
	OnByHand = "by-hand"
)

// Events lists every event, in the order messages name them.
var Events = []string{OnDeletions, OnFailures, OnLimits, OnByHand}

// Caps keep a message readable and bounded when a run goes badly wrong
// (10,000 failures must not become a 10 MB email).
const (
	MaxListed = 20
)

// ErrDelivery wraps every sending failure.
var ErrDelivery = errors.New("notification not delivered")

// Counts are the run's per-action totals.
type Counts struct {
	Created     int `json:"created"`
	Adopted     int `json:"adopted,omitempty"` // Visitor users made by hand, claimed: not created
	Updated     int `json:"updated"`
	Deleted     int `json:"deleted"`
	Deactivated int `json:"deactivated"`
	Unchanged   int `json:"unchanged"`
	Failed      int `json:"failed"`
	Conflicts   int `json:"conflicts"`
	Held        int `json:"held"`
}

// Failure is one user whose change did not happen.
type Failure struct {
	User   string `json:"user"`
	Action string `json:"action"`
	Reason string `json:"reason"`
}

// Summary is what a notification says about one run. It carries counts,
// names and messages, never a credential.
type Summary struct {
	RunID    string    `json:"runId"`
	Host     string    `json:"host"`    // where the sync ran
	Target   string    `json:"target"`  // the Visitor host
	Trigger  string    `json:"trigger"` // "scheduled" or "run-now"
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	ExitCode int       `json:"exitCode"`
	ExitName string    `json:"exitName"`
	Counts   Counts    `json:"counts"`
	// Removed names the users deleted or deactivated (first MaxListed).
	Removed []string `json:"removed"`
	// Failures are the first MaxListed failed users; FailuresTotal counts all.
	Failures      []Failure `json:"failures"`
	FailuresTotal int       `json:"failuresTotal"`
	// Limit is the tripped safety limit or source guard message, with the
	// approval it needs.
	Limit string `json:"limit,omitempty"`
	// RunError is set when the whole run failed (credentials refused, a
	// system unreachable); per-user failures are in Failures.
	RunError   string `json:"runError,omitempty"`
	ReportPath string `json:"reportPath,omitempty"`
	// ByHand is the work left to a person in Visitor (generic-v1); nil
	// for a profile that carries everything.
	ByHand *ByHand `json:"byHand,omitempty"`
}

// ByHand is the by-hand list as a message shows it.
type ByHand struct {
	Location     string   `json:"location"`
	Changed      bool     `json:"changed"`
	MakeAdmin    []string `json:"makeAdmin"`
	NewAdmins    []string `json:"newAdmins,omitempty"`
	RevokeAdmin  []string `json:"revokeAdmin,omitempty"`
	Locations    []string `json:"locations"`
	NewLocations []string `json:"newLocations,omitempty"`
	// MappingRules are "import all users into <location>" lines.
	MappingRules []string `json:"mappingRules"`
}

// Reasons returns the events in on that s matches; none means no message.
func Reasons(on []string, s Summary) []string {
	var r []string
	if slices.Contains(on, OnDeletions) && s.Counts.Deleted+s.Counts.Deactivated > 0 {
		r = append(r, OnDeletions)
	}
	if slices.Contains(on, OnFailures) && (s.Counts.Failed > 0 || s.Counts.Conflicts > 0 || s.RunError != "") {
		r = append(r, OnFailures)
	}
	if slices.Contains(on, OnLimits) && s.Limit != "" {
		r = append(r, OnLimits)
	}
	if slices.Contains(on, OnByHand) && s.ByHand != nil && s.ByHand.Changed {
		r = append(r, OnByHand)
	}
	return r
}

// Options configure the channels; an empty WebhookURL or SMTP.Host turns
// that channel off.
type Options struct {
	On         []string
	WebhookURL string
	SMTP       SMTPOptions
	// Timeout bounds each channel's delivery, retries included.
	Timeout time.Duration
	// Redact lists secret values that must never appear in a message,
	// whatever an upstream error text carried.
	Redact []string
	// UserAgent identifies the sender to webhook receivers.
	UserAgent string
}

// Notifier sends a run's summary to the configured channels.
type Notifier struct {
	o        Options
	channels []channel
}

// channel is one way of delivering a message.
type channel interface {
	name() string
	send(ctx context.Context, m message) error
}

// message is a Summary rendered once for every channel.
type message struct {
	Summary
	Reasons []string
	Subject string
	Text    string
}

// DefaultTimeout bounds one channel's delivery.
const DefaultTimeout = 30 * time.Second

// New builds a Notifier; it has no channels when nothing is configured.
func New(o Options) *Notifier {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	n := &Notifier{o: o}
	if o.WebhookURL != "" {
		n.channels = append(n.channels, newWebhook(o.WebhookURL, o.UserAgent, o.Timeout))
	}
	if o.SMTP.Host != "" {
		n.channels = append(n.channels, &email{o: o.SMTP})
	}
	return n
}

// Enabled says whether any channel is configured.
func (n *Notifier) Enabled() bool { return n != nil && len(n.channels) > 0 }

// Channels names the configured channels, for the start-up log.
func (n *Notifier) Channels() []string {
	var names []string
	for _, c := range n.channels {
		names = append(names, c.name())
	}
	return names
}

// Notify sends s to every channel if it matches one of the configured
// events, and returns the events it was sent for. Every channel is tried
// even when an earlier one fails; the error names each failed channel.
func (n *Notifier) Notify(ctx context.Context, s Summary) ([]string, error) {
	if !n.Enabled() {
		return nil, nil
	}
	reasons := Reasons(n.o.On, s)
	if len(reasons) == 0 {
		return nil, nil
	}
	return reasons, n.deliver(ctx, n.render(s, reasons))
}

// deliver tries every channel, each within Timeout, and names each one
// that failed.
func (n *Notifier) deliver(ctx context.Context, m message) error {
	var errs []error
	for _, c := range n.channels {
		cctx, cancel := context.WithTimeout(ctx, n.o.Timeout)
		err := c.send(cctx, m)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %s", ErrDelivery, c.name(), n.redact(err.Error())))
		}
	}
	return errors.Join(errs...)
}

// OnTest is the reason of a message sent by Test.
const OnTest = "test"

// Test sends s to every channel whatever it contains, so that an operator
// can check the relay, the credentials and the recipients before the day
// a deletion needs reporting.
func (n *Notifier) Test(ctx context.Context, s Summary) error {
	if !n.Enabled() {
		return errors.New("no notification channel is configured (notify_webhook_url, notify_smtp_host)")
	}
	m := n.render(s, []string{OnTest})
	m.Subject = oneLine("[condeco-visitor-sync] " + hostOr(s.Host) + ": test notification")
	return n.deliver(ctx, m)
}

// render builds the message and strips any secret value from every text
// field that came from outside this package.
func (n *Notifier) render(s Summary, reasons []string) message {
	s.Removed = capList(s.Removed)
	if s.FailuresTotal < len(s.Failures) {
		s.FailuresTotal = len(s.Failures)
	}
	s.Failures = capList(s.Failures)
	for i := range s.Failures {
		s.Failures[i].Reason = n.redact(s.Failures[i].Reason)
	}
	s.Limit = n.redact(s.Limit)
	s.RunError = n.redact(s.RunError)
	m := message{Summary: s, Reasons: reasons}
	m.Subject = subject(s, reasons)
	m.Text = text(s, reasons)
	return m
}

func (n *Notifier) redact(v string) string {
	for _, secret := range n.o.Redact {
		if len(secret) >= 4 { // a one-letter "secret" would shred the text
			v = strings.ReplaceAll(v, secret, "******")
		}
	}
	return v
}

func capList[T any](l []T) []T {
	if len(l) > MaxListed {
		return slices.Clone(l[:MaxListed])
	}
	return slices.Clone(l)
}
