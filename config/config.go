// Package config loads and validates the daemon's one YAML file. Every
// setting lives in one flat struct so that an operator can find a key by
// searching one file, and unknown keys fail at start rather than being
// silently ignored (a typo in max_deletes must not disable the limit).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/notify"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/visitor"
)

// Defaults this package owns. A default that another package owns (the
// planner's rules and limits, the applier's concurrency, the SCIM client's
// wire settings, the notifier's events) is that package's constant, used
// in Default below, so the two cannot disagree. README.md's configuration
// reference lists every key with its default; readme_test.go checks it.
const (
	DefaultCondecoDriver         = "sqlserver"
	DefaultCondecoPort           = 1433
	DefaultCondecoConnectTimeout = 30 * time.Second
	DefaultCondecoQueryTimeout   = 5 * time.Minute
	DefaultPhoneRegion           = "GB"
	DefaultSCIMRetryMax          = 6
	DefaultSchedule              = "0 2 * * *"
	// DefaultRunTimeout ends a stuck run before the next day's: a daily
	// schedule then never finds the lock still held.
	DefaultRunTimeout     = 23 * time.Hour
	DefaultTimeZone       = "UTC"
	DefaultStateDir       = "/var/lib/condeco-visitor-sync"
	DefaultLockWait       = 0
	DefaultMetricsListen  = "127.0.0.1:9464"
	DefaultLogLevel       = "info"
	DefaultLogFormat      = LogFormatJSON
	DefaultMemoryLimit    = MemoryLimitAuto
	DefaultNotifySMTPPort = 587
)

// Secret environment variables. Each may instead name a file with the
// suffix _FILE, which is how Kubernetes secret volumes and systemd
// credentials hand secrets over.
const (
	EnvConfig              = "CVS_CONFIG"
	EnvCondecoDSN          = "CVS_CONDECO_DSN"
	EnvCondecoPassword     = "CVS_CONDECO_PASSWORD"
	EnvCondecoClientSecret = "CVS_CONDECO_CLIENT_SECRET"
	EnvSCIMToken           = "CVS_SCIM_TOKEN"
	EnvSCIMClientSecret    = "CVS_SCIM_CLIENT_SECRET"
	EnvNotifySMTPPassword  = "CVS_NOTIFY_SMTP_PASSWORD"
	// A chat webhook URL carries its token in the path: it is a secret.
	EnvNotifyWebhookURL = "CVS_NOTIFY_WEBHOOK_URL"
)

var (
	// ErrInvalid wraps every validation failure.
	ErrInvalid = errors.New("invalid configuration")
)

// Config is the whole configuration.
type Config struct {
	// Condeco (source)
	CondecoDriver                 string        `yaml:"condeco_driver" json:"condeco_driver"`
	CondecoDSN                    Secret        `yaml:"condeco_dsn" json:"condeco_dsn"`
	CondecoHost                   string        `yaml:"condeco_host" json:"condeco_host"`
	CondecoPort                   int           `yaml:"condeco_port" json:"condeco_port"`
	CondecoDatabase               string        `yaml:"condeco_database" json:"condeco_database"`
	CondecoUser                   string        `yaml:"condeco_user" json:"condeco_user"`
	CondecoPassword               Secret        `yaml:"condeco_password" json:"condeco_password"`
	CondecoAuth                   string        `yaml:"condeco_auth" json:"condeco_auth"`
	CondecoClientID               string        `yaml:"condeco_client_id" json:"condeco_client_id"`
	CondecoTenantID               string        `yaml:"condeco_tenant_id" json:"condeco_tenant_id"`
	CondecoClientSecret           Secret        `yaml:"condeco_client_secret" json:"condeco_client_secret"`
	CondecoEncrypt                *bool         `yaml:"condeco_encrypt" json:"condeco_encrypt"`
	CondecoTrustServerCertificate bool          `yaml:"condeco_trust_server_certificate" json:"condeco_trust_server_certificate"`
	CondecoConnectTimeout         time.Duration `yaml:"condeco_connect_timeout" json:"condeco_connect_timeout"`
	CondecoQueryTimeout           time.Duration `yaml:"condeco_query_timeout" json:"condeco_query_timeout"`
	CondecoUsersQuery             string        `yaml:"condeco_users_query" json:"condeco_users_query"`
	CondecoLocationsQuery         string        `yaml:"condeco_locations_query" json:"condeco_locations_query"`
	GlobalAdminLevels             []int         `yaml:"global_admin_levels" json:"global_admin_levels"`
	PhoneRegion                   string        `yaml:"phone_region" json:"phone_region"`
	// CondecoAppLock names a SQL Server application lock (sp_getapplock)
	// held for the whole run, so that syncs on different hosts exclude
	// each other; empty turns it off.
	CondecoAppLock string `yaml:"condeco_app_lock" json:"condeco_app_lock"`

	// Eptura Visitor (target)
	// VisitorAPI is the target profile: scim2 (the project's contract) or
	// generic-v1 (Eptura's documented Generic SCIM integration).
	VisitorAPI string `yaml:"visitor_api" json:"visitor_api"`
	// VisitorLocationName names the Visitor location the integration is
	// installed in, for the by-hand list of generic-v1.
	VisitorLocationName string `yaml:"visitor_location_name" json:"visitor_location_name"`
	// VisitorIntegrations are further generic-v1 integrations, one per
	// Visitor location that has its own, each provisioned with every user.
	VisitorIntegrations []Integration `yaml:"visitor_integrations" json:"visitor_integrations"`
	SCIMURL             string        `yaml:"scim_url" json:"scim_url"`
	SCIMToken           Secret        `yaml:"scim_token" json:"scim_token"`
	SCIMTokenURL        string        `yaml:"scim_token_url" json:"scim_token_url"`
	SCIMClientID        string        `yaml:"scim_client_id" json:"scim_client_id"`
	SCIMClientSecret    Secret        `yaml:"scim_client_secret" json:"scim_client_secret"`
	SCIMTokenLifetime   time.Duration `yaml:"scim_token_lifetime" json:"scim_token_lifetime"`
	SCIMRateLimit       int           `yaml:"scim_rate_limit" json:"scim_rate_limit"`
	SCIMConcurrency     int           `yaml:"scim_concurrency" json:"scim_concurrency"`
	SCIMPageSize        int           `yaml:"scim_page_size" json:"scim_page_size"`
	SCIMTimeout         time.Duration `yaml:"scim_timeout" json:"scim_timeout"`
	SCIMRetryMax        int           `yaml:"scim_retry_max" json:"scim_retry_max"`
	// SCIMRetryWaitMax is the longest Retry-After honoured; a longer one
	// fails the request rather than holding the run.
	SCIMRetryWaitMax time.Duration `yaml:"scim_retry_wait_max" json:"scim_retry_wait_max"`
	// SCIMVerifyWrites is how a write is checked: against Visitor's answer
	// ("answer", no extra request) or by re-reading the written users
	// after the writes ("reread", about 1 % more requests).
	SCIMVerifyWrites string `yaml:"scim_verify_writes" json:"scim_verify_writes"`
	// BreakerFailures writes in a row failing for one cause stop a run.
	BreakerFailures          int    `yaml:"breaker_failures" json:"breaker_failures"`
	SCIMInsecureSkipVerify   bool   `yaml:"scim_insecure_skip_verify" json:"scim_insecure_skip_verify"`
	VisitorUserSchema        string `yaml:"visitor_user_schema" json:"visitor_user_schema"`
	VisitorLocationSchema    string `yaml:"visitor_location_schema" json:"visitor_location_schema"`
	VisitorLocationsEndpoint string `yaml:"visitor_locations_endpoint" json:"visitor_locations_endpoint"`
	DefaultLocationID        string `yaml:"default_location_id" json:"default_location_id"`

	// Sync rules
	ExternalIDPrefix                 string   `yaml:"external_id_prefix" json:"external_id_prefix"`
	LocationExternalIDPrefix         string   `yaml:"location_external_id_prefix" json:"location_external_id_prefix"`
	Invitations                      string   `yaml:"invitations" json:"invitations"`
	GrantNewLocationsToExistingUsers bool     `yaml:"grant_new_locations_to_existing_users" json:"grant_new_locations_to_existing_users"`
	LocationAdmins                   bool     `yaml:"location_admins" json:"location_admins"`
	AdoptExistingUsers               bool     `yaml:"adopt_existing_users" json:"adopt_existing_users"`
	AdoptExistingLocations           bool     `yaml:"adopt_existing_locations" json:"adopt_existing_locations"`
	Deprovision                      string   `yaml:"deprovision" json:"deprovision"`
	DeleteAfterDays                  int      `yaml:"delete_after_days" json:"delete_after_days"`
	Policy                           string   `yaml:"policy" json:"policy"`
	ProtectedUsers                   []string `yaml:"protected_users" json:"protected_users"`

	// Safety
	MaxDeletes      int     `yaml:"max_deletes" json:"max_deletes"`
	MaxDeleteShare  float64 `yaml:"max_delete_share" json:"max_delete_share"`
	MaxAdminChanges int     `yaml:"max_admin_changes" json:"max_admin_changes"`
	SourceMinShare  float64 `yaml:"source_min_share" json:"source_min_share"`
	TargetMinShare  float64 `yaml:"target_min_share" json:"target_min_share"`

	// Running
	Schedule string `yaml:"schedule" json:"schedule"`
	// AllowFrequentSchedule lets a schedule fire more often than hourly
	// (a typo such as "* * * * *" would otherwise spend the whole call
	// budget every minute).
	AllowFrequentSchedule bool `yaml:"allow_frequent_schedule" json:"allow_frequent_schedule"`
	// RunTimeout bounds one run: past it the run stops as on SIGTERM.
	RunTimeout    time.Duration `yaml:"run_timeout" json:"run_timeout"`
	TimeZone      string        `yaml:"time_zone" json:"time_zone"`
	StateDir      string        `yaml:"state_dir" json:"state_dir"`
	LockWait      time.Duration `yaml:"lock_wait" json:"lock_wait"`
	MetricsListen string        `yaml:"metrics_listen" json:"metrics_listen"`
	LogLevel      string        `yaml:"log_level" json:"log_level"`
	LogFormat     string        `yaml:"log_format" json:"log_format"`
	// MemoryLimit is the Go runtime's soft memory limit: "auto" (90 % of
	// the cgroup limit of the container or systemd unit, none outside
	// one), "off", or a size such as "150MiB". The GOMEMLIMIT environment
	// variable, when set, wins.
	MemoryLimit string `yaml:"memory_limit" json:"memory_limit"`

	// Notifications after a run that needs a person's attention
	NotifyOn           []string      `yaml:"notify_on" json:"notify_on"`
	NotifyWebhookURL   Secret        `yaml:"notify_webhook_url" json:"notify_webhook_url"`
	NotifySMTPHost     string        `yaml:"notify_smtp_host" json:"notify_smtp_host"`
	NotifySMTPPort     int           `yaml:"notify_smtp_port" json:"notify_smtp_port"`
	NotifySMTPUser     string        `yaml:"notify_smtp_user" json:"notify_smtp_user"`
	NotifySMTPPassword Secret        `yaml:"notify_smtp_password" json:"notify_smtp_password"`
	NotifySMTPFrom     string        `yaml:"notify_smtp_from" json:"notify_smtp_from"`
	NotifySMTPTo       []string      `yaml:"notify_smtp_to" json:"notify_smtp_to"`
	NotifySMTPTLS      string        `yaml:"notify_smtp_tls" json:"notify_smtp_tls"`
	NotifyTimeout      time.Duration `yaml:"notify_timeout" json:"notify_timeout"`
}

// Integration is one more generic-v1 integration: the Visitor location it
// is installed in, its base URL and its bearer token (inline, or read from
// token_file, as Kubernetes secret volumes hand it over).
type Integration struct {
	Location  string `yaml:"location" json:"location"`
	URL       string `yaml:"url" json:"url"`
	Token     Secret `yaml:"token" json:"token"`
	TokenFile string `yaml:"token_file" json:"token_file"`
}

// Default returns a Config with every default filled in.
func Default() Config {
	on := true
	return Config{
		CondecoDriver:            DefaultCondecoDriver,
		CondecoPort:              DefaultCondecoPort,
		CondecoAuth:              condeco.AuthSQL,
		CondecoEncrypt:           &on,
		CondecoConnectTimeout:    DefaultCondecoConnectTimeout,
		CondecoQueryTimeout:      DefaultCondecoQueryTimeout,
		GlobalAdminLevels:        []int{int(condeco.LevelGlobalAdmin)},
		PhoneRegion:              DefaultPhoneRegion,
		VisitorAPI:               visitor.DefaultProfile,
		SCIMTokenLifetime:        visitor.DefaultTokenLifetime,
		SCIMRateLimit:            visitor.DefaultRateLimit,
		SCIMConcurrency:          apply.DefaultConcurrency,
		SCIMPageSize:             visitor.DefaultPageSize,
		SCIMTimeout:              visitor.DefaultTimeout,
		SCIMRetryMax:             DefaultSCIMRetryMax,
		SCIMRetryWaitMax:         visitor.DefaultRetryAfterMax,
		SCIMVerifyWrites:         apply.DefaultVerifyWrites,
		BreakerFailures:          apply.DefaultBreakerFailures,
		VisitorUserSchema:        visitor.DefaultUserSchema,
		VisitorLocationSchema:    visitor.DefaultLocationSchema,
		VisitorLocationsEndpoint: visitor.DefaultLocationsEndpoint,
		ExternalIDPrefix:         plan.DefaultExternalIDPrefix,
		LocationExternalIDPrefix: plan.DefaultLocationExternalIDPrefix,
		Invitations:              plan.DefaultInvitations,
		Deprovision:              plan.DefaultDeprovision,
		DeleteAfterDays:          plan.DefaultDeleteAfter,
		Policy:                   plan.DefaultPolicy,
		MaxDeletes:               plan.DefaultMaxDeletes,
		MaxDeleteShare:           plan.DefaultMaxDeleteShare,
		MaxAdminChanges:          plan.DefaultMaxAdminChanges,
		SourceMinShare:           plan.DefaultSourceMinShare,
		TargetMinShare:           plan.DefaultTargetMinShare,
		AdoptExistingLocations:   plan.DefaultAdoptExistingLocations,
		Schedule:                 DefaultSchedule,
		TimeZone:                 DefaultTimeZone,
		StateDir:                 DefaultStateDir,
		LockWait:                 DefaultLockWait,
		RunTimeout:               DefaultRunTimeout,
		MetricsListen:            DefaultMetricsListen,
		LogLevel:                 DefaultLogLevel,
		LogFormat:                DefaultLogFormat,
		MemoryLimit:              DefaultMemoryLimit,
		NotifyOn:                 slices.Clone(notify.Events),
		NotifySMTPPort:           DefaultNotifySMTPPort,
		NotifySMTPTLS:            notify.TLSStartTLS,
		NotifyTimeout:            notify.DefaultTimeout,
	}
}

// Load reads the file at path over the defaults, applies the secret
// environment overrides and validates the result.
// MaxFileBytes caps every file read for configuration: the config file and
// each _FILE secret. A path to /dev/zero or a log file by mistake then
// gets an error naming it instead of filling the memory.
const MaxFileBytes = 1 << 20

// readCapped reads at most MaxFileBytes from r; more is an error.
func readCapped(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("larger than %d bytes (1 MiB)", MaxFileBytes)
	}
	return b, nil
}

func Load(path string, getenv func(string) string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("%w: reading config file: %w", ErrInvalid, err)
	}
	defer f.Close()
	data, err := readCapped(f)
	if err != nil {
		return Config{}, fmt.Errorf("%w: reading config file %s: %w", ErrInvalid, path, err)
	}
	return parse(data, getenv)
}

// Parse is Load on a reader; getenv is os.Getenv in production.
func Parse(r io.Reader, getenv func(string) string) (Config, error) {
	data, err := readCapped(r)
	if err != nil {
		return Config{}, fmt.Errorf("%w: reading config: %w", ErrInvalid, err)
	}
	return parse(data, getenv)
}

func parse(data []byte, getenv func(string) string) (Config, error) {
	cfg := Default()
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			return Config{}, fmt.Errorf("%w: %s", ErrInvalid, yamlMessage(err, data))
		}
	}
	if err := cfg.applyEnv(getenv); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

var lineRe = regexp.MustCompile(`line (\d+): `)

// yamlMessage turns yaml.v3's errors into wording that names the key the
// operator wrote: "field x not found in type config.Config" becomes
// "unknown key x", and a type error on line N names the key on that line.
func yamlMessage(err error, data []byte) string {
	msg := err.Error()
	msg = strings.ReplaceAll(msg, " in type config.Config", "")
	msg = strings.ReplaceAll(msg, "field ", "unknown key ")
	msg = strings.ReplaceAll(msg, " not found", "")
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return msg
	}
	keyAt := map[int]string{}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		keyAt[m.Content[i+1].Line] = m.Content[i].Value
	}
	return lineRe.ReplaceAllStringFunc(msg, func(s string) string {
		n, _ := strconv.Atoi(lineRe.FindStringSubmatch(s)[1])
		if k, ok := keyAt[n]; ok {
			return s + "key " + k + ": "
		}
		return s
	})
}

// readSecretFile reads a _FILE secret, capped like the config file.
func readSecretFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, errors.Unwrap(err)
	}
	defer f.Close()
	b, err := readCapped(f)
	if err != nil {
		if u := errors.Unwrap(err); u != nil {
			return nil, u
		}
		return nil, err
	}
	return b, nil
}

// applyEnv overrides secrets from the environment. A _FILE variable wins
// over the plain one because it is the safer way to deliver a secret.
func (c *Config) applyEnv(getenv func(string) string) error {
	for _, s := range []struct {
		env string
		dst *Secret
	}{
		{EnvCondecoDSN, &c.CondecoDSN},
		{EnvCondecoPassword, &c.CondecoPassword},
		{EnvCondecoClientSecret, &c.CondecoClientSecret},
		{EnvSCIMToken, &c.SCIMToken},
		{EnvSCIMClientSecret, &c.SCIMClientSecret},
		{EnvNotifySMTPPassword, &c.NotifySMTPPassword},
		{EnvNotifyWebhookURL, &c.NotifyWebhookURL},
	} {
		if v := getenv(s.env); v != "" {
			*s.dst = Secret(v)
		}
		if p := getenv(s.env + "_FILE"); p != "" {
			b, err := readSecretFile(p)
			if err != nil {
				// The path is not secret; the content never reaches here.
				return fmt.Errorf("%w: %s_FILE: reading %s: %w", ErrInvalid, s.env, p, err)
			}
			*s.dst = Secret(strings.TrimRight(string(b), "\r\n"))
		}
	}
	for i := range c.VisitorIntegrations {
		in := &c.VisitorIntegrations[i]
		if in.TokenFile == "" {
			continue
		}
		if in.Token != "" {
			return fmt.Errorf("%w: visitor_integrations[%d] (%s): set token or token_file, not both", ErrInvalid, i, in.Location)
		}
		b, err := readSecretFile(in.TokenFile)
		if err != nil {
			return fmt.Errorf("%w: visitor_integrations[%d] (%s): token_file: reading %s: %w", ErrInvalid, i, in.Location, in.TokenFile, err)
		}
		in.Token = Secret(strings.TrimRight(string(b), "\r\n"))
	}
	return nil
}
