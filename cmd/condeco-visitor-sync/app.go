package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	gosync "sync"
	"time"

	"go.uber.org/zap"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/config"
	"condeco-visitor-sync/notify"
	"condeco-visitor-sync/sync"
	"condeco-visitor-sync/visitor"
)

// app holds the wired parts. RunOnce is the one entry point that both the
// cron schedule and --run-now use, so they cannot drift apart.
type app struct {
	cfg      config.Config
	log      *zap.Logger
	stdout   io.Writer
	store    *condeco.Store
	client   *visitor.Client
	runner   *sync.Runner
	lock     *hostLock
	dbLock   dbLocker // nil unless condeco_app_lock is set
	notifier *notify.Notifier
	// trigger is "scheduled" in the daemon and "run-now" otherwise; it
	// goes into notifications so the reader knows who started the run.
	trigger  string
	metrics  *metrics
	gate     *drainGate
	progress *sync.Progress
	// bar is set for a run-now in a terminal: a live progress bar there,
	// log lines everywhere else.
	bar io.Writer

	mu      gosync.Mutex
	running bool
}

func newApp(ctx context.Context, cfg config.Config, log *zap.Logger, stdout io.Writer) (*app, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return nil, fmt.Errorf("%w: state_dir: %w", config.ErrInvalid, err)
	}
	store, err := condeco.Open(ctx, storeOptions(cfg), log.Named("condeco"))
	if err != nil {
		return nil, fmt.Errorf("%w: opening condeco database: %w", ErrSource, err)
	}
	client, err := visitor.New(clientOptions(cfg), log.Named("visitor"))
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("%w: visitor client: %w", config.ErrInvalid, err)
	}
	a := &app{
		cfg:     cfg,
		log:     log,
		stdout:  stdout,
		store:   store,
		client:  client,
		lock:    newHostLock(cfg.StateDir),
		trigger: "run-now",
		gate:    newDrainGate(),
	}
	if cfg.CondecoAppLock != "" {
		l, err := condeco.NewAppLocker(storeOptions(cfg), cfg.CondecoAppLock, log.Named("applock"))
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("%w: condeco_app_lock: %w", config.ErrInvalid, err)
		}
		a.dbLock = l
	}
	a.notifier = newNotifier(cfg)
	a.runner = &sync.Runner{
		Source:  source{store, a.gate},
		Target:  target{client, a.gate},
		Options: syncOptions(cfg),
		Log:     log.Named("sync"),
		// The audit log is the record of what changed and when; it is
		// appended to, never rewritten (docs/security.md).
		AuditPath: filepath.Join(cfg.StateDir, "audit.log"),
		// Who the first full sync set out to create, so suppress-initial
		// still holds after a first run that died half-way.
		FirstSyncPath: filepath.Join(cfg.StateDir, "first-sync.json"),
		Progress:      &sync.Progress{},
	}
	a.progress = a.runner.Progress
	a.metrics = newMetrics()
	a.metrics.setSources(client.Stats, func() (int, int) {
		done, total, _ := a.progress.Snapshot()
		return int(done), int(total)
	})
	return a, nil
}

func (a *app) Close() {
	if a.store != nil {
		a.store.Close()
	}
	if a.dbLock != nil {
		a.dbLock.Close()
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
		InsecureSkipVerify: c.SCIMInsecureSkipVerify,
	}
}

func syncOptions(c config.Config) sync.Options {
	return sync.Options{
		ExternalIDPrefix:                 c.ExternalIDPrefix,
		LocationExternalIDPrefix:         c.LocationExternalIDPrefix,
		DefaultLocationID:                c.DefaultLocationID,
		Invitations:                      c.Invitations,
		GrantNewLocationsToExistingUsers: c.GrantNewLocationsToExistingUsers,
		LocationAdmins:                   c.LocationAdmins,
		AdoptExistingUsers:               c.AdoptExistingUsers,
		Deprovision:                      c.Deprovision,
		DeleteAfter:                      c.DeleteAfterDays,
		Policy:                           c.Policy,
		ProtectedUsers:                   c.ProtectedUsers,
		MaxDeletes:                       c.MaxDeletes,
		MaxDeleteShare:                   c.MaxDeleteShare,
		MaxAdminChanges:                  c.MaxAdminChanges,
		SourceMinShare:                   c.SourceMinShare,
		Concurrency:                      c.SCIMConcurrency,
		VerifyWrites:                     c.SCIMVerifyWrites,
	}
}

// RunOnce takes the lock, runs one sync, and records the report and audit
// lines whatever the outcome, so that a failed run is never silent. A run
// that needs a person's attention is then notified, after the lock is
// released: a slow mail relay must not hold up the next run.
func (a *app) RunOnce(ctx context.Context, flags sync.RunFlags) (*sync.Report, error) {
	rep, err := a.runLocked(ctx, flags)
	// A dry run changes nothing and a person is watching it; a run refused
	// by the lock did nothing: neither is news.
	if !flags.DryRun && !errors.Is(err, ErrLockBusy) {
		a.notifyRun(ctx, rep, err)
	}
	return rep, err
}

func (a *app) runLocked(ctx context.Context, flags sync.RunFlags) (*sync.Report, error) {
	if !flags.DryRun {
		release, err := a.acquireLocks(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	a.warnInsecure()
	a.metrics.runStarted()
	start := time.Now()
	watch, stopWatch := context.WithCancel(ctx)
	defer stopWatch() // also on a panic, so the progress goroutine ends
	var shown gosync.WaitGroup
	shown.Add(1)
	go func() {
		defer shown.Done()
		if a.bar != nil {
			showBar(watch, a.bar, a.progress)
		} else {
			logProgress(watch, a.log, a.progress, progressEvery)
		}
	}()
	rep, err := a.runner.RunOnce(ctx, flags)
	stopWatch()
	shown.Wait()
	a.metrics.runFinished(rep, err, time.Since(start))
	if rep != nil && !flags.DryRun {
		if werr := a.writeReport(rep); werr != nil {
			a.log.Error("writing report failed", errField(werr))
		}
	}
	return rep, err
}

// writeReport keeps the last report at a fixed path (what support staff
// open first) and a copy per run under reports/.
func (a *app) writeReport(rep *sync.Report) error {
	b, err := json.MarshalIndent(rep.ForFile(), "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Join(a.cfg.StateDir, "reports")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, reportName(rep)), b, 0o640); err != nil {
		return err
	}
	pruneReports(dir, keepReports)
	tmp := filepath.Join(a.cfg.StateDir, "last-report.json.tmp")
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(a.cfg.StateDir, "last-report.json"))
}

// reportName is the per-run copy's file name under state_dir/reports/.
func reportName(rep *sync.Report) string {
	return rep.Start.UTC().Format("20060102T150405Z") + "-" + rep.RunID + ".json"
}

// warnInsecure repeats on every run, not only at start, so that an
// insecure setting left on after a debugging session cannot go unnoticed
// in a daemon that has run for months.
// With log_level: error a warning would be dropped, so the same line is
// then logged at error level: an insecure setting is never silent.
func (a *app) warnInsecure() {
	warn := a.log.Warn
	if !a.log.Core().Enabled(zap.WarnLevel) {
		warn = a.log.Error
	}
	if a.cfg.NotifySMTPHost != "" && a.cfg.NotifySMTPTLS == "none" && !config.IsLoopback(a.cfg.NotifySMTPHost) {
		a.log.Warn("insecure: notification email goes to the relay in clear text (notify_smtp_tls: none)")
	}
	if a.cfg.SCIMInsecureSkipVerify {
		warn("insecure: TLS certificate verification to Visitor is off (scim_insecure_skip_verify)")
	}
	if a.cfg.CondecoDriver == "sqlserver" && a.cfg.CondecoDSN == "" {
		if a.cfg.CondecoEncrypt != nil && !*a.cfg.CondecoEncrypt {
			warn("insecure: encryption to SQL Server is off (condeco_encrypt)")
		}
		if a.cfg.CondecoTrustServerCertificate {
			warn("insecure: SQL Server certificate is not verified (condeco_trust_server_certificate)")
		}
	}
}

// keepReports bounds the per-run copies: a year of daily runs plus room
// for run-now, so a small state volume never fills.
const keepReports = 400

// pruneReports deletes the oldest per-run reports beyond keep; the names
// start with the run's start time, so lexical order is age order.
func pruneReports(dir string, keep int) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(names) <= keep {
		return
	}
	sort.Strings(names)
	for _, n := range names[:len(names)-keep] {
		os.Remove(n)
	}
}

// Check tests configuration and connectivity without syncing.
func (a *app) Check(ctx context.Context) int {
	if err := a.store.Check(ctx); err != nil {
		a.log.Error("condeco check failed", errField(err))
		fmt.Fprintln(a.stdout, "condeco: FAILED:", err)
		return exitCode(err)
	}
	fmt.Fprintln(a.stdout, "condeco: ok (queries return every required column)")
	if a.dbLock != nil {
		// Taking and dropping the lock proves the login may, and that its
		// connection reaches a writable primary rather than a replica.
		release, err := a.dbLock.Acquire(ctx, 0)
		var busy *condeco.AppLockBusyError
		switch {
		case err == nil:
			release()
			fmt.Fprintf(a.stdout, "condeco app lock %q: ok\n", a.cfg.CondecoAppLock)
		case errors.As(err, &busy):
			fmt.Fprintf(a.stdout, "condeco app lock %q: ok (%v)\n", a.cfg.CondecoAppLock, err)
		default:
			a.log.Error("condeco app lock check failed", errField(err))
			fmt.Fprintf(a.stdout, "condeco app lock %q: FAILED: %v\n", a.cfg.CondecoAppLock, err)
			if errors.Is(err, condeco.ErrBadOptions) {
				return ExitConfig
			}
			return ExitSource
		}
	}
	locs, err := a.client.ListLocations(ctx)
	if err != nil {
		a.log.Error("visitor check failed", errField(err))
		fmt.Fprintln(a.stdout, "visitor: FAILED:", err)
		return exitCode(err)
	}
	fmt.Fprintf(a.stdout, "visitor: ok (%d locations visible)\n", len(locs))
	return ExitOK
}

// RunNow is --run-now and --dry-run.
func (a *app) RunNow(ctx context.Context, o options) int {
	flags := sync.RunFlags{
		DryRun: o.dryRun,
		Approvals: sync.Approvals{
			AllowDeletes:      o.allowDeletes,
			AllowAdminChanges: o.allowAdminChanges,
			AllowSourceShrink: o.allowSourceShrink,
		},
	}
	rep, err := a.RunOnce(ctx, flags)
	if rep != nil && rep.Plan != nil {
		if o.dryRun {
			rep.Plan.WriteTable(a.stdout)
		}
		if o.planJSON != "" {
			if werr := writePlanJSON(o.planJSON, rep.Plan); werr != nil {
				a.log.Error("writing plan failed", errField(werr))
				return ExitError
			}
		}
	}
	if rep != nil {
		printSummary(a.stdout, rep)
	}
	if err != nil {
		a.log.Error("sync failed", errField(err))
		fmt.Fprintln(a.stdout, "error:", err)
		return exitCode(err)
	}
	return ExitOK
}

func writePlanJSON(path string, p *sync.Plan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o640)
}

// exitCode maps an error to the documented exit code table.
func exitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.Is(err, config.ErrInvalid),
		// A replacement query without a required column, or connection
		// settings the driver cannot use, are configuration to fix, not
		// a database to wait for.
		errors.Is(err, condeco.ErrMissingColumn), errors.Is(err, condeco.ErrBadOptions):
		return ExitConfig
	case errors.Is(err, sync.ErrSafetyLimit):
		return ExitSafetyLimit
	case errors.Is(err, sync.ErrSourceGuard):
		return ExitSourceGuard
	case errors.Is(err, ErrLockBusy):
		return ExitLockBusy
	case errors.Is(err, visitor.ErrUnauthorized):
		return ExitAuth
	case errors.Is(err, sync.ErrPartial):
		return ExitPartial
	case errors.Is(err, ErrSource):
		return ExitSource
	case errors.Is(err, ErrTarget):
		return ExitTarget
	}
	return ExitError
}
