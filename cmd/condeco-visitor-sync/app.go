package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"go.uber.org/zap"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/config"
	"condeco-visitor-sync/internal/urlcheck"
	"condeco-visitor-sync/notify"
	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/sync/runner"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor"
)

// app holds the wired parts: the Condeco store, the Visitor client, and
// the service that runs syncs with them.
type app struct {
	cfg    config.Config
	log    *zap.Logger
	stdout io.Writer
	store  *condeco.Store
	client target
	dir    *state.Dir
	// records are the generic-v1 ownership records --rebuild-ownership
	// may rebuild: the main integration's first.
	records []ownershipTarget
	svc     *service.Service
}

// newApp wires cfg. shared, when set, is the service a reload replaces:
// the new one takes over its drain gate and metrics, which belong to the
// process, not to one configuration.
func newApp(ctx context.Context, cfg config.Config, log *zap.Logger, stdout io.Writer, e env, shared *service.Service) (*app, error) {
	dir, err := state.Open(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", config.ErrInvalid, err)
	}
	store, err := condeco.Open(ctx, storeOptions(cfg), log.Named("condeco"))
	if err != nil {
		return nil, fmt.Errorf("%w: opening condeco database: %w", runner.ErrSource, err)
	}
	lims := newLimiters(cfg.SCIMRateLimit)
	client, err := newTarget(cfg, dir, lims, log.Named("visitor"))
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("%w: visitor client: %w", config.ErrInvalid, err)
	}
	gate, metrics := runner.NewGate(), service.NewMetrics()
	if shared != nil {
		gate, metrics = shared.Gate, shared.Metrics
	}
	// The main run and every further integration provision one export.
	var src runner.Source = store
	var once *runner.SharedSource
	if len(cfg.VisitorIntegrations) > 0 {
		once = runner.NewSharedSource(store)
		src = once
	}
	integrations, records, err := newIntegrations(cfg, runner.GatedSource(src, gate), gate, lims, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	svc := &service.Service{
		Runner: &runner.Runner{
			Source: runner.GatedSource(src, gate),
			Target: runner.GatedTarget(client, gate),
			Plan:   planOptions(cfg),
			Apply:  apply.Options{Concurrency: cfg.SCIMConcurrency, VerifyWrites: cfg.SCIMVerifyWrites, BreakerFailures: cfg.BreakerFailures},
			Log:    log.Named("sync"),
			// The audit log is the record of what changed and when; it is
			// appended to, never rewritten (docs/security.md).
			AuditPath: dir.AuditPath(),
			FirstSync: dir,
			Record:    targetStore{dir},
			Owed:      owedStore{dir},
			Grants:    grantsStore{dir},
			ByHand:    byHandStore{dir},
			Progress:  &apply.Progress{},
		},
		State:         dir,
		Integrations:  integrations,
		Shared:        once,
		SourceCheck:   store,
		TargetCheck:   client,
		AppLockName:   cfg.CondecoAppLock,
		LockWait:      cfg.LockWait,
		Notifier:      newNotifier(cfg),
		Metrics:       metrics,
		Gate:          gate,
		Log:           log,
		Target:        targetHost(cfg),
		Warnings:      insecureWarnings(cfg),
		RunTimeout:    cfg.RunTimeout,
		ShutdownGrace: e.shutdownGrace,
		FinishGrace:   e.finishGrace,
		ProgressEvery: e.progressEvery,
	}
	if cfg.CondecoAppLock != "" {
		l, err := condeco.NewAppLocker(storeOptions(cfg), cfg.CondecoAppLock, log.Named("applock"))
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("%w: condeco_app_lock: %w", config.ErrInvalid, err)
		}
		svc.DBLock = l
	}
	progress := svc.Runner.Progress
	svc.Metrics.SetSources(client.Stats, func() (int, int) {
		done, total, _ := progress.Snapshot()
		return int(done), int(total)
	})
	if l, ok := client.(allUsersLister); ok {
		name := "integration " + cfg.VisitorLocationName
		if cfg.VisitorLocationName == "" {
			name = "the scim_url integration"
		}
		records = append([]ownershipTarget{{name: name, lister: l, dir: dir}}, records...)
	}
	return &app{cfg: cfg, log: log, stdout: stdout, store: store, client: client, dir: dir, records: records, svc: svc}, nil
}

func (a *app) Close() {
	if a.store != nil {
		a.store.Close()
	}
	if a.svc != nil && a.svc.DBLock != nil {
		a.svc.DBLock.Close()
	}
}

func storeOptions(c config.Config) condeco.Options {
	return condeco.Options{
		Driver:                 c.CondecoDriver,
		DSN:                    c.CondecoDSN.Value(),
		Host:                   c.CondecoHost,
		Port:                   c.CondecoPort,
		Database:               c.CondecoDatabase,
		User:                   c.CondecoUser,
		Password:               c.CondecoPassword.Value(),
		Auth:                   c.CondecoAuth,
		ClientID:               c.CondecoClientID,
		TenantID:               c.CondecoTenantID,
		ClientSecret:           c.CondecoClientSecret.Value(),
		Encrypt:                c.CondecoEncrypt == nil || *c.CondecoEncrypt,
		TrustServerCertificate: c.CondecoTrustServerCertificate,
		ConnectTimeout:         c.CondecoConnectTimeout,
		QueryTimeout:           c.CondecoQueryTimeout,
		UsersQuery:             c.CondecoUsersQuery,
		LocationsQuery:         c.CondecoLocationsQuery,
		GlobalAdminLevels:      c.GlobalAdminLevels,
		PhoneRegion:            c.PhoneRegion,
	}
}

func clientOptions(c config.Config) visitor.Options {
	return visitor.Options{
		BaseURL:            c.SCIMURL,
		Token:              c.SCIMToken.Value(),
		TokenURL:           c.SCIMTokenURL,
		ClientID:           c.SCIMClientID,
		ClientSecret:       c.SCIMClientSecret.Value(),
		TokenLifetime:      c.SCIMTokenLifetime,
		UserSchema:         c.VisitorUserSchema,
		LocationSchema:     c.VisitorLocationSchema,
		LocationsEndpoint:  c.VisitorLocationsEndpoint,
		RateLimit:          c.SCIMRateLimit,
		PageSize:           c.SCIMPageSize,
		Timeout:            c.SCIMTimeout,
		RetryMax:           c.SCIMRetryMax,
		RetryAfterMax:      c.SCIMRetryWaitMax,
		InsecureSkipVerify: c.SCIMInsecureSkipVerify,
	}
}

func planOptions(c config.Config) plan.Options {
	return plan.Options{
		ExternalIDPrefix:                 c.ExternalIDPrefix,
		LocationExternalIDPrefix:         c.LocationExternalIDPrefix,
		DefaultLocationID:                c.DefaultLocationID,
		Invitations:                      c.Invitations,
		GrantNewLocationsToExistingUsers: c.GrantNewLocationsToExistingUsers,
		LocationAdmins:                   c.LocationAdmins,
		AdoptExistingUsers:               c.AdoptExistingUsers,
		AdoptExistingLocations:           c.AdoptExistingLocations,
		Deprovision:                      c.Deprovision,
		DeleteAfter:                      c.DeleteAfterDays,
		Policy:                           c.Policy,
		ProtectedUsers:                   c.ProtectedUsers,
		MaxDeletes:                       c.MaxDeletes,
		MaxDeleteShare:                   c.MaxDeleteShare,
		MaxAdminChanges:                  c.MaxAdminChanges,
		SourceMinShare:                   c.SourceMinShare,
		TargetMinShare:                   c.TargetMinShare,
		HandLocation:                     c.VisitorLocationName,
		IntegrationLocations:             integrationLocations(c),
	}
}

func integrationLocations(c config.Config) []string {
	out := make([]string, 0, len(c.VisitorIntegrations))
	for _, in := range c.VisitorIntegrations {
		out = append(out, in.Location)
	}
	return out
}

// targetHost names the Visitor tenant in notifications.
func targetHost(c config.Config) string {
	if u, err := url.Parse(c.SCIMURL); err == nil {
		return u.Host
	}
	return ""
}

// insecureWarnings are the settings that weaken security; each run logs
// them again, so one left on after a debugging session cannot go
// unnoticed in a daemon that has run for months.
func insecureWarnings(c config.Config) []string {
	var out []string
	if c.NotifySMTPHost != "" && c.NotifySMTPTLS == notify.TLSNone && !urlcheck.IsLoopback(c.NotifySMTPHost) {
		out = append(out, "insecure: notification email goes to the relay in clear text (notify_smtp_tls: none)")
	}
	if c.SCIMInsecureSkipVerify {
		out = append(out, "insecure: TLS certificate verification to Visitor is off (scim_insecure_skip_verify)")
	}
	if c.CondecoDriver == "sqlserver" && c.CondecoDSN == "" {
		if c.CondecoEncrypt != nil && !*c.CondecoEncrypt {
			out = append(out, "insecure: encryption to SQL Server is off (condeco_encrypt)")
		}
		if c.CondecoTrustServerCertificate {
			out = append(out, "insecure: SQL Server certificate is not verified (condeco_trust_server_certificate)")
		}
	}
	return out
}

// Check tests configuration and connectivity without syncing. It first
// asks both discovery paths which profile the server speaks, so a tenant
// configured with the wrong visitor_api is told so by name.
func (a *app) Check(ctx context.Context) service.ExitCode {
	found, tried, err := visitor.DetectProfile(ctx, clientOptions(a.cfg), a.log.Named("visitor"))
	for _, c := range tried {
		fmt.Fprintf(a.stdout, "visitor discovery: %s: %s\n", c.Name, c.Result)
	}
	switch {
	case err != nil:
		fmt.Fprintf(a.stdout, "visitor profile: neither discovery path answered (%v); the %s requests are tried below\n", err, a.cfg.VisitorAPI)
	case found != a.cfg.VisitorAPI:
		fmt.Fprintf(a.stdout, "visitor profile: %s answered, but visitor_api is %s: set visitor_api: %s\n", found, a.cfg.VisitorAPI, found)
		return service.ExitConfig
	default:
		fmt.Fprintf(a.stdout, "visitor profile: %s (matches visitor_api)\n", found)
	}
	code := a.svc.Check(ctx, a.stdout)
	if code != service.ExitOK {
		return code
	}
	return a.checkIntegrations(ctx)
}

// checkIntegrations sends each visitor_integrations entry the requests a
// run sends it, as --check does for scim_url: a wrong token or URL there
// shows before the first run, not in it.
func (a *app) checkIntegrations(ctx context.Context) service.ExitCode {
	prefix := a.cfg.ExternalIDPrefix
	if prefix == "" {
		prefix = plan.DefaultExternalIDPrefix
	}
	for _, t := range a.records {
		if t.probe == nil {
			continue
		}
		checks, err := t.probe(ctx, prefix)
		for _, c := range checks {
			mark := "ok"
			if c.Fails {
				mark = "FAILED"
			}
			fmt.Fprintf(a.stdout, "%s: %s: %s (%s)\n", t.name, c.Name, c.Result, mark)
		}
		if err = runner.TargetError(err); err != nil {
			a.log.Error("integration check failed", zap.String("integration", t.name), errField(err))
			fmt.Fprintf(a.stdout, "%s: FAILED: %v\n", t.name, err)
			return exitCode(err)
		}
		fmt.Fprintf(a.stdout, "%s: ok (the requests a run sends were answered)\n", t.name)
	}
	return service.ExitOK
}

// targetStore adapts state's target record to the runner's: state knows
// files, not plans.
type targetStore struct{ d *state.Dir }

func (t targetStore) ReadTarget() (*plan.TargetRecord, error) {
	rec, found, err := t.d.ReadTarget()
	if err != nil || !found {
		return nil, err
	}
	return &plan.TargetRecord{ActiveManaged: rec.ActiveManaged, FirstSyncDone: rec.FirstSyncDone, ExternalIDPrefix: rec.ExternalIDPrefix}, nil
}

func (t targetStore) WriteTarget(run string, at time.Time, rec plan.TargetRecord) error {
	return t.d.WriteTarget(run, at, state.TargetRecord{ActiveManaged: rec.ActiveManaged, FirstSyncDone: rec.FirstSyncDone, ExternalIDPrefix: rec.ExternalIDPrefix})
}

// owedStore adapts state's owed-grants record to the runner's.
type owedStore struct{ d *state.Dir }

func (o owedStore) ReadOwedGrants() ([]plan.OwedGrant, error) {
	gs, err := o.d.ReadOwedGrants()
	if err != nil {
		return nil, err
	}
	out := make([]plan.OwedGrant, 0, len(gs))
	for _, g := range gs {
		out = append(out, plan.OwedGrant{ExternalID: g.ExternalID, UserName: g.UserName, Location: g.Location})
	}
	return out, nil
}

func (o owedStore) WriteOwedGrants(run string, at time.Time, grants []plan.OwedGrant) error {
	out := make([]state.OwedGrant, 0, len(grants))
	for _, g := range grants {
		out = append(out, state.OwedGrant{ExternalID: g.ExternalID, UserName: g.UserName, Location: g.Location})
	}
	return o.d.WriteOwedGrants(run, at, out)
}

// grantsStore adapts state's record of the admin roles the sync granted
// to the runner's.
type grantsStore struct{ d *state.Dir }

func (g grantsStore) ReadGrants() (*plan.GrantsRecord, error) {
	admin, found, err := g.d.ReadGrants()
	if err != nil || !found {
		return nil, err
	}
	rec := &plan.GrantsRecord{Admin: make([]plan.AdminGrant, 0, len(admin))}
	for _, a := range admin {
		rec.Admin = append(rec.Admin, plan.AdminGrant{ExternalID: a.ExternalID, LocationID: a.LocationID, Replaced: visitor.Role(a.Replaced)})
	}
	return rec, nil
}

func (g grantsStore) WriteGrants(run string, at time.Time, rec plan.GrantsRecord) error {
	admin := make([]state.AdminGrant, 0, len(rec.Admin))
	for _, a := range rec.Admin {
		admin = append(admin, state.AdminGrant{ExternalID: a.ExternalID, LocationID: a.LocationID, Replaced: string(a.Replaced)})
	}
	return g.d.WriteGrants(run, at, admin)
}
