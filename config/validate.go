package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/internal/urlcheck"
	"condeco-visitor-sync/notify"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/visitor"
)

// Validate checks every key and names the first one that is wrong, so the
// operator knows exactly which line of the file to fix.
func (c Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, key, fmt.Sprintf(format, args...))
	}

	if err := oneOf("condeco_driver", c.CondecoDriver, condecoDrivers...); err != nil {
		return err
	}
	if err := oneOf("condeco_auth", c.CondecoAuth, condecoAuths...); err != nil {
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
		case condeco.AuthSQL:
			if c.CondecoUser == "" {
				return bad("condeco_user", "required with condeco_auth sql")
			}
			if c.CondecoPassword == "" {
				return bad("condeco_password", "required with condeco_auth sql; set %s or %s_FILE", EnvCondecoPassword, EnvCondecoPassword)
			}
		case condeco.AuthAzureADSP:
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
	if err := within(bad, "condeco_connect_timeout", c.CondecoConnectTimeout, time.Second, 10*time.Minute); err != nil {
		return err
	}
	if err := within(bad, "condeco_query_timeout", c.CondecoQueryTimeout, time.Second, 24*time.Hour); err != nil {
		return err
	}
	if len(c.GlobalAdminLevels) == 0 {
		return bad("global_admin_levels", "must name at least one access level")
	}
	if len(c.PhoneRegion) != 2 {
		return bad("phone_region", "%q is not a two-letter region code", c.PhoneRegion)
	}

	if err := oneOf("visitor_api", c.VisitorAPI, visitor.Profiles...); err != nil {
		return err
	}
	if err := c.validateGeneric(bad); err != nil {
		return err
	}
	if c.SCIMURL == "" {
		return bad("scim_url", "required")
	}
	if err := checkURL(bad, "scim_url", c.SCIMURL, "is not an absolute URL (value not shown: it may hold a credential)"); err != nil {
		return err
	}
	if u, err := url.Parse(c.SCIMURL); err == nil && u.User != nil {
		// Credentials in the URL would be printed wherever the URL is.
		return bad("scim_url", "must not hold credentials (user:password@); give the token in scim_token or %s", EnvSCIMToken)
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
	// The token endpoint's bounds: docs/visitor-scim.md gives the source.
	if c.SCIMTokenLifetime < visitor.MinTokenLifetime || c.SCIMTokenLifetime > visitor.MaxTokenLifetime {
		return bad("scim_token_lifetime", "must be between 1m and 10 years")
	}
	if c.SCIMRateLimit < 1 || c.SCIMRateLimit > maxSCIMRateLimit {
		return bad("scim_rate_limit", "%d is not between 1 and %d calls per minute", c.SCIMRateLimit, maxSCIMRateLimit)
	}
	if c.SCIMConcurrency < 1 || c.SCIMConcurrency > maxSCIMConcurrency {
		return bad("scim_concurrency", "must be between 1 and %d", maxSCIMConcurrency)
	}
	// The client's default page size is the largest Visitor serves.
	if c.SCIMPageSize < 1 || c.SCIMPageSize > visitor.DefaultPageSize {
		return bad("scim_page_size", "must be between 1 and %d (Visitor's maximum)", visitor.DefaultPageSize)
	}
	if err := within(bad, "scim_timeout", c.SCIMTimeout, 100*time.Millisecond, 10*time.Minute); err != nil {
		return err
	}
	if err := within(bad, "scim_retry_wait_max", c.SCIMRetryWaitMax, time.Second, time.Hour); err != nil {
		return err
	}
	if c.SCIMRetryMax < 0 || c.SCIMRetryMax > maxSCIMRetryMax {
		return bad("scim_retry_max", "%d is not between 0 and %d", c.SCIMRetryMax, maxSCIMRetryMax)
	}
	if err := oneOf("scim_verify_writes", c.SCIMVerifyWrites, apply.VerifyModes...); err != nil {
		return err
	}
	if c.BreakerFailures < 1 || c.BreakerFailures > maxBreakerFailures {
		return bad("breaker_failures", "%d is not between 1 and %d", c.BreakerFailures, maxBreakerFailures)
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

	for key, v := range map[string]string{"external_id_prefix": c.ExternalIDPrefix, "location_external_id_prefix": c.LocationExternalIDPrefix} {
		// The prefix is how the sync knows what it owns: a short or open
		// one ("c") would match Visitor users other sources made.
		if len(v) < 3 || !strings.HasSuffix(v, ":") && !strings.HasSuffix(v, "-") {
			return bad(key, "%q must be at least 3 characters and end in ':' or '-' (as the default %q does)", v, map[string]string{
				"external_id_prefix": plan.DefaultExternalIDPrefix, "location_external_id_prefix": plan.DefaultLocationExternalIDPrefix}[key])
		}
	}
	if strings.HasPrefix(c.ExternalIDPrefix, c.LocationExternalIDPrefix) || strings.HasPrefix(c.LocationExternalIDPrefix, c.ExternalIDPrefix) {
		return bad("location_external_id_prefix", "%q and external_id_prefix %q must not be prefixes of each other: users and locations would be mistaken for one another",
			c.LocationExternalIDPrefix, c.ExternalIDPrefix)
	}
	if err := oneOf("invitations", c.Invitations, plan.InvitationModes...); err != nil {
		return err
	}
	if err := oneOf("deprovision", c.Deprovision, plan.DeprovisionModes...); err != nil {
		return err
	}
	if c.DeleteAfterDays < 1 || c.DeleteAfterDays > maxDeleteAfterDays {
		return bad("delete_after_days", "%d is not between 1 and %d", c.DeleteAfterDays, maxDeleteAfterDays)
	}
	if err := oneOf("policy", c.Policy, plan.Policies...); err != nil {
		return err
	}
	if c.MaxDeletes < 0 {
		return bad("max_deletes", "%d is negative; 0 allows none", c.MaxDeletes)
	}
	if c.MaxAdminChanges < 0 {
		return bad("max_admin_changes", "%d is negative; 0 allows none", c.MaxAdminChanges)
	}
	// NaN compares false with everything, so "x < 0 || x > 1" would let
	// it through and switch the guard off: the test is written the other
	// way round, and ±Inf fails it too.
	for key, v := range map[string]float64{"max_delete_share": c.MaxDeleteShare, "source_min_share": c.SourceMinShare, "target_min_share": c.TargetMinShare} {
		if !(v >= 0 && v <= 1) {
			return bad(key, "%v is not a share between 0 and 1", v)
		}
	}

	sched, err := cron.ParseStandard(c.Schedule)
	if err != nil {
		return bad("schedule", "%v", err)
	}
	if gap := shortestGap(sched); gap < time.Hour && !c.AllowFrequentSchedule {
		return bad("schedule", "%q fires every %s, more often than hourly; every run spends the call budget on a full listing. Set allow_frequent_schedule: true if that is meant", c.Schedule, gap)
	}
	if err := within(bad, "run_timeout", c.RunTimeout, time.Minute, 7*24*time.Hour); err != nil {
		return err
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return bad("time_zone", "%q is not a known time zone", c.TimeZone)
	}
	if c.StateDir == "" {
		return bad("state_dir", "required")
	}
	if err := within(bad, "lock_wait", c.LockWait, 0, 24*time.Hour); err != nil {
		return err
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			return bad("metrics_listen", "%q is not host:port", c.MetricsListen)
		}
	}
	if err := oneOf("log_level", c.LogLevel, logLevels...); err != nil {
		return err
	}
	if err := oneOf("log_format", c.LogFormat, logFormats...); err != nil {
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
		if err := oneOf("notify_on", e, notify.Events...); err != nil {
			return err
		}
	}
	if (webhook || email) && len(c.NotifyOn) == 0 {
		return bad("notify_on", "must name at least one of %s when a notification channel is set", strings.Join(notify.Events, ", "))
	}
	if c.NotifyTimeout < time.Second || c.NotifyTimeout > 5*time.Minute {
		return bad("notify_timeout", "must be between 1s and 5m")
	}
	if webhook {
		if err := checkURL(bad, "notify_webhook_url", c.NotifyWebhookURL.Value(), "not an absolute URL (value not shown: it is treated as a secret)"); err != nil {
			return err
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
	if err := oneOf("notify_smtp_tls", c.NotifySMTPTLS, smtpTLSModes...); err != nil {
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
	if c.NotifySMTPTLS == notify.TLSNone && c.NotifySMTPUser != "" && !urlcheck.IsLoopback(c.NotifySMTPHost) {
		return bad("notify_smtp_tls", "none would send the SMTP password in clear text to %s; use starttls or tls", c.NotifySMTPHost)
	}
	return nil
}

// Allowed values. The drivers and log settings are this package's; the
// auth and TLS words are condeco's and notify's constants, which those
// packages export one by one rather than as a list.
var (
	condecoDrivers = []string{"sqlserver", "sqlite"}
	condecoAuths   = []string{condeco.AuthSQL, condeco.AuthAzureADMSI, condeco.AuthAzureADSP}
	smtpTLSModes   = []string{notify.TLSStartTLS, notify.TLSImplicit, notify.TLSNone}
	logLevels      = []string{"debug", "info", "warn", "error"}
	logFormats     = []string{LogFormatJSON, LogFormatConsole}
)

// Values of log_format.
const (
	LogFormatJSON    = "json"    // one JSON object a line, for journald and log stores
	LogFormatConsole = "console" // for people at a terminal
)

// maxSCIMConcurrency bounds scim_concurrency: at Visitor's 500 calls a
// minute, more requests in flight than this would only queue on the
// shared rate limiter.
const maxSCIMConcurrency = 64

// Upper bounds of numbers that have no natural one: far above any real
// need, low enough that a typo (an extra zero or five) is refused.
const (
	maxSCIMRateLimit   = 1_000_000 // calls a minute; Visitor allows 500
	maxSCIMRetryMax    = 20        // retries of one request
	maxDeleteAfterDays = 3650      // ten years
	maxBreakerFailures = 100_000
)

// oneOf is plan.OneOf under ErrInvalid, so that configuration and the
// planner refuse an unknown word alike:
// invalid configuration: <key>: "x" is not one of a, b, c.
func oneOf(key, v string, allowed ...string) error {
	if err := plan.OneOf(key, v, allowed...); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, err)
	}
	return nil
}

// checkURL applies urlcheck's rule to the URL under key. notAbsolute is
// the message for a value that is no absolute URL, so that a secret URL
// is not quoted; the other refusals name only the scheme.
func checkURL(bad func(key, format string, args ...any) error, key, raw, notAbsolute string) error {
	u, err := urlcheck.Parse(raw)
	switch {
	case err == nil:
		return nil
	case u == nil || errors.Is(err, urlcheck.ErrNoHost):
		return bad(key, "%s", notAbsolute)
	case errors.Is(err, urlcheck.ErrPlainHTTP):
		return bad(key, "plain http is allowed only to loopback addresses; use https")
	}
	return bad(key, "scheme %q is not https", u.Scheme)
}

// within checks that a duration is between lo and hi, naming both.
func within(bad func(key, format string, args ...any) error, key string, v, lo, hi time.Duration) error {
	if v < lo || v > hi {
		return bad(key, "%s is not between %s and %s", v, lo, hi)
	}
	return nil
}

// shortestGap is the shortest time between two firings of s over the next
// few weeks (enough for any cron spec to repeat its pattern of a day).
func shortestGap(s cron.Schedule) time.Duration {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	gap := time.Duration(1<<63 - 1)
	prev := s.Next(t)
	for range 200 {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		gap = min(gap, next.Sub(prev))
		prev = next
	}
	return gap
}
