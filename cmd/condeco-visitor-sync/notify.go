package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"go.uber.org/zap"

	"condeco-visitor-sync/config"
	"condeco-visitor-sync/notify"
	"condeco-visitor-sync/sync/service"
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
func notifyTest(ctx context.Context, cfg config.Config, log *zap.Logger, stdout io.Writer) service.ExitCode {
	n := newNotifier(cfg)
	host, _ := os.Hostname()
	s := notify.Summary{RunID: "notify-test", Host: host, Trigger: "notify-test", ExitName: "ok"}
	if u, err := url.Parse(cfg.SCIMURL); err == nil {
		s.Target = u.Host
	}
	if err := n.Test(ctx, s); err != nil {
		log.Error("test notification failed", errField(err))
		fmt.Fprintln(stdout, "FAILED:", err)
		return service.ExitError
	}
	fmt.Fprintf(stdout, "test notification sent via %s\n", strings.Join(n.Channels(), " and "))
	return service.ExitOK
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
