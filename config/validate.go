package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Validate checks every key and names the first one that is wrong, so the
// operator knows exactly which line of the file to fix.
func (c Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, key, fmt.Sprintf(format, args...))
	}
	oneOf := func(key, v string, allowed ...string) error {
		if !slices.Contains(allowed, v) {
			return bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
		}
		return nil
	}

	if err := oneOf("condeco_driver", c.CondecoDriver, "sqlserver", "sqlite"); err != nil {
		return err
	}
	if err := oneOf("condeco_auth", c.CondecoAuth, "sql", "azuread-msi", "azuread-sp"); err != nil {
		return err
	}
	if c.CondecoDSN == "" {
		if c.CondecoDriver == "sqlite" {
			return bad("condeco_dsn", "required with condeco_driver sqlite (a file path or file: URI); set it or %s", EnvCondecoDSN)
		}
		if c.CondecoHost == "" {
			return bad("condeco_host", "required when condeco_dsn is not set")
		}
		if c.CondecoDatabase == "" {
			return bad("condeco_database", "required when condeco_dsn is not set")
		}
		switch c.CondecoAuth {
		case "sql":
			if c.CondecoUser == "" {
				return bad("condeco_user", "required with condeco_auth sql")
			}
			if c.CondecoPassword == "" {
				return bad("condeco_password", "required with condeco_auth sql; set %s or %s_FILE", EnvCondecoPassword, EnvCondecoPassword)
			}
		case "azuread-sp":
			if c.CondecoClientID == "" || c.CondecoTenantID == "" {
				return bad("condeco_client_id", "condeco_client_id and condeco_tenant_id are required with condeco_auth azuread-sp")
			}
			if c.CondecoClientSecret == "" {
				return bad("condeco_client_secret", "required with condeco_auth azuread-sp; set %s or %s_FILE", EnvCondecoClientSecret, EnvCondecoClientSecret)
			}
		}
	}
	if c.CondecoPort < 1 || c.CondecoPort > 65535 {
		return bad("condeco_port", "%d is not a TCP port", c.CondecoPort)
	}
	if c.CondecoConnectTimeout <= 0 {
		return bad("condeco_connect_timeout", "must be positive")
	}
	if c.CondecoQueryTimeout <= 0 {
		return bad("condeco_query_timeout", "must be positive")
	}
	if len(c.GlobalAdminLevels) == 0 {
		return bad("global_admin_levels", "must name at least one access level")
	}
	if len(c.PhoneRegion) != 2 {
		return bad("phone_region", "%q is not a two-letter region code", c.PhoneRegion)
	}

	if c.SCIMURL == "" {
		return bad("scim_url", "required")
	}
	u, err := url.Parse(c.SCIMURL)
	if err != nil || u.Host == "" {
		return bad("scim_url", "%q is not an absolute URL", c.SCIMURL)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return bad("scim_url", "plain http is allowed only to loopback addresses; use https")
		}
	default:
		return bad("scim_url", "scheme %q is not https", u.Scheme)
	}
	if c.SCIMToken == "" && c.SCIMTokenURL == "" {
		return bad("scim_token", "required unless scim_token_url is set; set %s or %s_FILE", EnvSCIMToken, EnvSCIMToken)
	}
	if c.SCIMTokenURL != "" {
		if c.SCIMClientID == "" {
			return bad("scim_client_id", "required with scim_token_url")
		}
		if c.SCIMClientSecret == "" {
			return bad("scim_client_secret", "required with scim_token_url; set %s or %s_FILE", EnvSCIMClientSecret, EnvSCIMClientSecret)
		}
	}
	if c.SCIMTokenLifetime < time.Minute || c.SCIMTokenLifetime > 10*365*24*time.Hour {
		return bad("scim_token_lifetime", "must be between 1m and 10 years (seed 003)")
	}
	if c.SCIMRateLimit < 1 {
		return bad("scim_rate_limit", "must be at least 1 call per minute")
	}
	if c.SCIMConcurrency < 1 || c.SCIMConcurrency > 64 {
		return bad("scim_concurrency", "must be between 1 and 64")
	}
	if c.SCIMPageSize < 1 || c.SCIMPageSize > 200 {
		return bad("scim_page_size", "must be between 1 and 200 (Visitor's maximum)")
	}
	if c.SCIMTimeout <= 0 {
		return bad("scim_timeout", "must be positive")
	}
	if c.SCIMRetryMax < 0 {
		return bad("scim_retry_max", "must not be negative")
	}
	if err := oneOf("scim_verify_writes", c.SCIMVerifyWrites, "answer", "reread"); err != nil {
		return err
	}
	for key, v := range map[string]string{
		"visitor_user_schema":     c.VisitorUserSchema,
		"visitor_location_schema": c.VisitorLocationSchema,
	} {
		if !strings.HasPrefix(v, "urn:") {
			return bad(key, "%q is not a URN", v)
		}
	}
	if c.VisitorLocationsEndpoint == "" || strings.ContainsAny(c.VisitorLocationsEndpoint, "/?#") {
		return bad("visitor_locations_endpoint", "%q must be a bare resource name such as Locations", c.VisitorLocationsEndpoint)
	}

	if c.ExternalIDPrefix == "" {
		return bad("external_id_prefix", "must not be empty: it is how the sync knows which users it owns")
	}
	if c.LocationExternalIDPrefix == "" {
		return bad("location_external_id_prefix", "must not be empty")
	}
	if err := oneOf("invitations", c.Invitations, "send", "suppress", "suppress-initial"); err != nil {
		return err
	}
	if err := oneOf("deprovision", c.Deprovision, "delete", "deactivate", "deactivate-then-delete"); err != nil {
		return err
	}
	if c.DeleteAfterDays < 1 {
		return bad("delete_after_days", "must be at least 1")
	}
	if err := oneOf("policy", c.Policy, "sync", "upsert-only", "create-only"); err != nil {
		return err
	}
	if c.MaxDeletes < 0 {
		return bad("max_deletes", "must not be negative")
	}
	if c.MaxDeleteShare < 0 || c.MaxDeleteShare > 1 {
		return bad("max_delete_share", "%v is not a share between 0 and 1", c.MaxDeleteShare)
	}
	if c.MaxAdminChanges < 0 {
		return bad("max_admin_changes", "must not be negative")
	}
	if c.SourceMinShare < 0 || c.SourceMinShare > 1 {
		return bad("source_min_share", "%v is not a share between 0 and 1", c.SourceMinShare)
	}

	if _, err := cron.ParseStandard(c.Schedule); err != nil {
		return bad("schedule", "%v", err)
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return bad("time_zone", "%q is not a known time zone", c.TimeZone)
	}
	if c.StateDir == "" {
		return bad("state_dir", "required")
	}
	if c.LockWait < 0 {
		return bad("lock_wait", "must not be negative")
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			return bad("metrics_listen", "%q is not host:port", c.MetricsListen)
		}
	}
	if err := oneOf("log_level", c.LogLevel, "debug", "info", "warn", "error"); err != nil {
		return err
	}
	if err := oneOf("log_format", c.LogFormat, "json", "console"); err != nil {
		return err
	}
	if _, err := ParseMemoryLimit(c.MemoryLimit); err != nil {
		return bad("memory_limit", "%v", err)
	}
	if c.CondecoAppLock != "" {
		if c.CondecoDriver != "sqlserver" {
			return bad("condeco_app_lock", "needs condeco_driver sqlserver (sp_getapplock)")
		}
		if len(c.CondecoAppLock) > 255 {
			return bad("condeco_app_lock", "at most 255 characters (sp_getapplock @Resource)")
		}
	}
	return c.validateNotify(bad)
}

// validateNotify checks the notification keys. The webhook URL is a
// secret (chat webhooks carry a token in the path), so no message
// quotes it.
func (c Config) validateNotify(bad func(key, format string, args ...any) error) error {
	webhook, email := c.NotifyWebhookURL != "", c.NotifySMTPHost != ""
	for _, e := range c.NotifyOn {
		if !slices.Contains(DefaultNotifyOn, e) {
			return bad("notify_on", "%q is not one of %s", e, strings.Join(DefaultNotifyOn, ", "))
		}
	}
	if (webhook || email) && len(c.NotifyOn) == 0 {
		return bad("notify_on", "must name at least one of %s when a notification channel is set", strings.Join(DefaultNotifyOn, ", "))
	}
	if c.NotifyTimeout < time.Second || c.NotifyTimeout > 5*time.Minute {
		return bad("notify_timeout", "must be between 1s and 5m")
	}
	if webhook {
		u, err := url.Parse(c.NotifyWebhookURL.Value())
		if err != nil || u.Host == "" {
			return bad("notify_webhook_url", "not an absolute URL (value not shown: it is treated as a secret)")
		}
		switch u.Scheme {
		case "https":
		case "http":
			if !IsLoopback(u.Hostname()) {
				return bad("notify_webhook_url", "plain http is allowed only to loopback addresses; use https")
			}
		default:
			return bad("notify_webhook_url", "scheme %q is not https", u.Scheme)
		}
	}
	if !email {
		for key, set := range map[string]bool{
			"notify_smtp_user": c.NotifySMTPUser != "", "notify_smtp_password": c.NotifySMTPPassword != "",
			"notify_smtp_from": c.NotifySMTPFrom != "", "notify_smtp_to": len(c.NotifySMTPTo) > 0,
		} {
			if set {
				return bad(key, "set without notify_smtp_host")
			}
		}
		return nil
	}
	if strings.ContainsAny(c.NotifySMTPHost, ":/ ") {
		return bad("notify_smtp_host", "%q must be a bare host name; the port goes in notify_smtp_port", c.NotifySMTPHost)
	}
	if c.NotifySMTPPort < 1 || c.NotifySMTPPort > 65535 {
		return bad("notify_smtp_port", "%d is not a TCP port", c.NotifySMTPPort)
	}
	if err := oneOfKey(bad, "notify_smtp_tls", c.NotifySMTPTLS, "starttls", "tls", "none"); err != nil {
		return err
	}
	if c.NotifySMTPFrom == "" {
		return bad("notify_smtp_from", "required with notify_smtp_host")
	}
	if _, err := mail.ParseAddress(c.NotifySMTPFrom); err != nil {
		return bad("notify_smtp_from", "%q is not an email address: %v", c.NotifySMTPFrom, err)
	}
	if len(c.NotifySMTPTo) == 0 {
		return bad("notify_smtp_to", "required with notify_smtp_host: at least one address")
	}
	for _, a := range c.NotifySMTPTo {
		if _, err := mail.ParseAddress(a); err != nil {
			return bad("notify_smtp_to", "%q is not an email address: %v", a, err)
		}
	}
	if (c.NotifySMTPUser == "") != (c.NotifySMTPPassword == "") {
		return bad("notify_smtp_password", "notify_smtp_user and notify_smtp_password go together; set the password with %s or %s_FILE", EnvNotifySMTPPassword, EnvNotifySMTPPassword)
	}
	if c.NotifySMTPTLS == "none" && c.NotifySMTPUser != "" && !IsLoopback(c.NotifySMTPHost) {
		return bad("notify_smtp_tls", "none would send the SMTP password in clear text to %s; use starttls or tls", c.NotifySMTPHost)
	}
	return nil
}

func oneOfKey(bad func(key, format string, args ...any) error, key, v string, allowed ...string) error {
	if !slices.Contains(allowed, v) {
		return bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	return nil
}

// IsLoopback reports whether host is a loopback name or address, the only
// place plain http is allowed (the simulator, tests, a local proxy).
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
