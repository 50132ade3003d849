package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"condeco-visitor-sync/config"
	"condeco-visitor-sync/notify"
	"condeco-visitor-sync/sync"
)

func newNotifier(cfg config.Config) *notify.Notifier {
	return notify.New(notify.Options{
		On:         cfg.NotifyOn,
		WebhookURL: cfg.NotifyWebhookURL.Value(),
		SMTP: notify.SMTPOptions{
			Host:     cfg.NotifySMTPHost,
			Port:     cfg.NotifySMTPPort,
			User:     cfg.NotifySMTPUser,
			Password: cfg.NotifySMTPPassword.Value(),
			From:     cfg.NotifySMTPFrom,
			To:       cfg.NotifySMTPTo,
			TLS:      cfg.NotifySMTPTLS,
		},
		Timeout:   cfg.NotifyTimeout,
		Redact:    secretValues(cfg),
		UserAgent: "condeco-visitor-sync/" + version,
	})
}

// notifyTest is --notify-test: a sample message through every channel.
func notifyTest(ctx context.Context, cfg config.Config, log *zap.Logger, stdout io.Writer) int {
	n := newNotifier(cfg)
	host, _ := os.Hostname()
	s := notify.Summary{RunID: "notify-test", Host: host, Trigger: "notify-test", ExitName: "ok"}
	if u, err := url.Parse(cfg.SCIMURL); err == nil {
		s.Target = u.Host
	}
	if err := n.Test(ctx, s); err != nil {
		log.Error("test notification failed", errField(err))
		fmt.Fprintln(stdout, "FAILED:", err)
		return ExitError
	}
	fmt.Fprintf(stdout, "test notification sent via %s\n", strings.Join(n.Channels(), " and "))
	return ExitOK
}

// secretValues are scrubbed from every notification, whatever an error
// text from a driver or server happens to carry.
func secretValues(c config.Config) []string {
	var out []string
	for _, s := range []config.Secret{c.CondecoDSN, c.CondecoPassword, c.CondecoClientSecret,
		c.SCIMToken, c.SCIMClientSecret, c.NotifySMTPPassword, c.NotifyWebhookURL} {
		if s != "" {
			out = append(out, s.Value())
		}
	}
	return out
}

// notifyRun sends the run's summary when it deleted or deactivated users,
// had failures, or was stopped by a limit. Its failure is logged and
// counted, never turned into the run's exit code.
func (a *app) notifyRun(ctx context.Context, rep *sync.Report, err error) {
	if !a.notifier.Enabled() {
		return
	}
	s := a.summary(rep, err)
	// A stopping daemon still reports what the run did; notify_timeout
	// bounds the wait.
	reasons, nerr := a.notifier.Notify(context.WithoutCancel(ctx), s)
	switch {
	case nerr != nil:
		a.metrics.notified("failed")
		a.log.Error("notification failed", zap.String("run", s.RunID), errField(nerr))
	case len(reasons) > 0:
		a.metrics.notified("sent")
		a.log.Info("notification sent", zap.String("run", s.RunID), zap.Strings("reasons", reasons), zap.Strings("channels", a.notifier.Channels()))
	}
}

// summary turns a report and outcome into what a notification says.
func (a *app) summary(rep *sync.Report, err error) notify.Summary {
	code := exitCode(err)
	s := notify.Summary{Trigger: a.trigger, ExitCode: code, ExitName: exitName(code, err)}
	s.Host, _ = os.Hostname()
	if u, perr := url.Parse(a.cfg.SCIMURL); perr == nil {
		s.Target = u.Host
	}
	switch code {
	case ExitSafetyLimit, ExitSourceGuard:
		s.Limit = err.Error()
	case ExitError, ExitConfig, ExitAuth, ExitSource, ExitTarget:
		s.RunError = err.Error()
	}
	if rep == nil {
		return s
	}
	s.RunID, s.Start, s.End = rep.RunID, rep.Start, rep.End
	c := rep.Counts
	s.Counts = notify.Counts{Created: c.Created + c.Adopted, Updated: c.Updated, Deleted: c.Deleted,
		Deactivated: c.Deactivated, Unchanged: c.Unchanged, Failed: c.Failed, Conflicts: c.Conflicts, Held: c.Held}
	failed := map[string]bool{}
	for _, f := range rep.Failures {
		failed[f.ExternalID+"\x00"+string(f.Action)] = true
		if code == ExitInterrupted && strings.Contains(f.Reason, context.Canceled.Error()) {
			// Left undone by the stop, not failed: the next run does it.
			s.Counts.Failed--
			continue
		}
		s.Failures = append(s.Failures, notify.Failure{User: f.User, Action: string(f.Action), Reason: f.Reason})
	}
	for _, c := range rep.Conflicts {
		reason := c.Reason
		if c.Fix != "" {
			reason += "; fix: " + c.Fix
		}
		s.Failures = append(s.Failures, notify.Failure{User: c.UserName, Action: "conflict", Reason: reason})
	}
	s.FailuresTotal = len(s.Failures)
	// Only a run that went through the whole plan removed exactly the
	// planned users; otherwise the counts stand and the report has names.
	if rep.Plan != nil && (code == ExitOK || code == ExitPartial) {
		for _, list := range [][]sync.UserChange{rep.Plan.Deletes, rep.Plan.Deactivates} {
			for _, u := range list {
				if !failed[u.ExternalID+"\x00"+string(u.Action)] && len(s.Removed) < notify.MaxListed {
					s.Removed = append(s.Removed, u.UserName)
				}
			}
		}
	}
	if !rep.DryRun {
		s.ReportPath = filepath.Join(a.cfg.StateDir, "reports", reportName(rep))
	}
	return s
}

// exitName is the exit code's name in the README table, for machines
// reading a webhook.
func exitName(code int, err error) string {
	switch code {
	case ExitOK:
		return "ok"
	case ExitConfig:
		return "config"
	case ExitError:
		return "error"
	}
	return resultLabel(err)
}
