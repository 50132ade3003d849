package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"condeco-visitor-sync/notify"
)

const smtpBase = "notify_smtp_host: smtp.example.com\nnotify_smtp_from: cvs@example.com\nnotify_smtp_to: [admin@example.com]\n"

func TestNotifyAndAppLockKeys(t *testing.T) {
	cases := []struct {
		name    string
		extra   string
		env     map[string]string
		wantKey string // "" means valid
	}{
		{name: "no channel is valid", extra: ""},
		{name: "webhook https", extra: "", env: map[string]string{EnvNotifyWebhookURL: "https://hooks.example.com/services/T/B/x"}},
		{name: "webhook http to loopback", extra: "notify_webhook_url: http://127.0.0.1:9000/hook\n"},
		{name: "webhook http to remote", extra: "notify_webhook_url: http://hooks.example.com/x\n", wantKey: "notify_webhook_url"},
		{name: "webhook not a URL", extra: "notify_webhook_url: hooks\n", wantKey: "notify_webhook_url"},
		{name: "unknown event", extra: "notify_on: [deletions, sunshine]\n", wantKey: "notify_on"},
		{name: "empty notify_on with a channel", extra: "notify_on: []\n" + smtpBase, wantKey: "notify_on"},
		{name: "smtp minimal", extra: smtpBase},
		{name: "smtp with user and password from env", extra: smtpBase + "notify_smtp_user: cvs\n", env: map[string]string{EnvNotifySMTPPassword: "pw"}},
		{name: "smtp user without password", extra: smtpBase + "notify_smtp_user: cvs\n", wantKey: "notify_smtp_password"},
		{name: "smtp without from", extra: "notify_smtp_host: smtp.example.com\nnotify_smtp_to: [a@example.com]\n", wantKey: "notify_smtp_from"},
		{name: "smtp without to", extra: "notify_smtp_host: smtp.example.com\nnotify_smtp_from: a@example.com\n", wantKey: "notify_smtp_to"},
		{name: "smtp bad recipient", extra: "notify_smtp_host: smtp.example.com\nnotify_smtp_from: a@example.com\nnotify_smtp_to: [not-an-address]\n", wantKey: "notify_smtp_to"},
		{name: "smtp host with port", extra: "notify_smtp_host: smtp.example.com:25\nnotify_smtp_from: a@example.com\nnotify_smtp_to: [b@example.com]\n", wantKey: "notify_smtp_host"},
		{name: "smtp bad tls mode", extra: smtpBase + "notify_smtp_tls: maybe\n", wantKey: "notify_smtp_tls"},
		{name: "clear-text password to a remote relay", extra: smtpBase + "notify_smtp_tls: none\nnotify_smtp_user: cvs\nnotify_smtp_password: pw\n", wantKey: "notify_smtp_tls"},
		{name: "clear text without password is allowed (warned)", extra: smtpBase + "notify_smtp_tls: none\n"},
		{name: "clear text to a loopback relay with password", extra: "notify_smtp_host: 127.0.0.1\nnotify_smtp_from: a@example.com\nnotify_smtp_to: [b@example.com]\nnotify_smtp_tls: none\nnotify_smtp_user: u\nnotify_smtp_password: p\n"},
		{name: "smtp key without host", extra: "notify_smtp_to: [a@example.com]\n", wantKey: "notify_smtp_to"},
		{name: "zero timeout", extra: "notify_timeout: 0s\n", wantKey: "notify_timeout"},
		{name: "app lock needs sqlserver", extra: "condeco_app_lock: condeco-visitor-sync\n", wantKey: "condeco_app_lock"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse(strings.NewReader(minimal+tc.extra), env(tc.env))
			if tc.wantKey == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantKey) {
				t.Fatalf("want an error naming %q, got %v (cfg %+v)", tc.wantKey, err, cfg)
			}
		})
	}
}

func TestAppLockOnSQLServer(t *testing.T) {
	doc := "scim_url: https://a/scim\nscim_token: t\ncondeco_host: db\ncondeco_database: c\ncondeco_user: u\ncondeco_password: p\ncondeco_app_lock: cvs-tenant-a\n"
	cfg, err := Parse(strings.NewReader(doc), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CondecoAppLock != "cvs-tenant-a" {
		t.Errorf("condeco_app_lock = %q", cfg.CondecoAppLock)
	}
	_, err = Parse(strings.NewReader(doc+"condeco_app_lock: "+strings.Repeat("x", 256)+"\n"), env(nil))
	if err == nil {
		t.Error("a 256-character lock name was accepted")
	}
}

func TestNotifyDefaults(t *testing.T) {
	cfg, err := Parse(strings.NewReader(minimal), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"notify_on", cfg.NotifyOn, notify.Events},
		{"notify_smtp_port", cfg.NotifySMTPPort, DefaultNotifySMTPPort},
		{"notify_smtp_tls", cfg.NotifySMTPTLS, notify.TLSStartTLS},
		{"notify_timeout", cfg.NotifyTimeout, notify.DefaultTimeout},
		{"condeco_app_lock", cfg.CondecoAppLock, ""},
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// A list in the file replaces the default rather than adding to it.
	cfg, err = Parse(strings.NewReader(minimal+"notify_on: [limits]\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cfg.NotifyOn) != "[limits]" {
		t.Errorf("notify_on = %v, want [limits]", cfg.NotifyOn)
	}
	if fmt.Sprint(notify.Events) != "[deletions failures limits by-hand]" {
		t.Errorf("parsing changed notify.Events: %v", notify.Events)
	}
}

func TestNotifySecretsFromFilesAndMasked(t *testing.T) {
	dir := t.TempDir()
	const pw, hook = "smtp-pw-77a1", "https://hooks.example.com/services/T0/B0/tok-5d2e"
	for name, v := range map[string]string{"pw": pw, "hook": hook} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := Parse(strings.NewReader(minimal+smtpBase+"notify_smtp_user: cvs\n"), env(map[string]string{
		EnvNotifySMTPPassword + "_FILE": filepath.Join(dir, "pw"),
		EnvNotifyWebhookURL + "_FILE":   filepath.Join(dir, "hook"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NotifySMTPPassword.Value() != pw || cfg.NotifyWebhookURL.Value() != hook {
		t.Fatalf("secrets not read from files: %q %q", cfg.NotifySMTPPassword.Value(), cfg.NotifyWebhookURL.Value())
	}
	j, _ := json.Marshal(cfg)
	y, _ := yaml.Marshal(cfg)
	for name, d := range map[string]string{"json": string(j), "yaml": string(y), "%+v": fmt.Sprintf("%+v", cfg)} {
		if strings.Contains(d, pw) || strings.Contains(d, "tok-5d2e") {
			t.Errorf("%s dump leaks a notification secret", name)
		}
	}
	// A bad webhook URL is reported without quoting it.
	_, err = Parse(strings.NewReader(minimal), env(map[string]string{EnvNotifyWebhookURL: "ftp://hooks.example.com/tok-5d2e"}))
	if err == nil || strings.Contains(err.Error(), "tok-5d2e") {
		t.Errorf("bad webhook URL: err %v (must exist and not quote the URL)", err)
	}
}
