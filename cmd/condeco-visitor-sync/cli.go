package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"condeco-visitor-sync/config"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/sync/runner"
	"condeco-visitor-sync/sync/service"
)

// options are the command-line flags; everything else is configuration.
type options struct {
	configPath        string
	runNow            bool
	dryRun            bool
	planJSON          string
	check             bool
	printConfig       bool
	version           bool
	allowDeletes      int
	allowAdminChanges int
	allowSourceShrink bool
	allowTargetShrink bool
	notifyTest        bool
	status            bool
	jsonOut           bool
	explain           multiFlag
	only              multiFlag
	rebuildOwnership  bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("condeco-visitor-sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.configPath, "config", "", "path to the YAML configuration (or set "+config.EnvConfig+")")
	fs.BoolVar(&o.runNow, "run-now", false, "run one sync now and exit with its exit code")
	fs.BoolVar(&o.dryRun, "dry-run", false, "compute and print the plan, write nothing (implies --run-now)")
	fs.StringVar(&o.planJSON, "plan-json", "", "also write the plan as JSON to this file")
	fs.BoolVar(&o.check, "check", false, "check configuration and connectivity to Condeco and Visitor, then exit")
	fs.BoolVar(&o.printConfig, "print-config", false, "print the effective configuration with secrets masked, then exit")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.IntVar(&o.allowDeletes, "allow-deletes", 0, "approve up to N deletions or deactivations for this run, above the safety limit (also an export short by at most N users)")
	fs.IntVar(&o.allowAdminChanges, "allow-admin-changes", 0, "approve up to N admin-role changes for this run, above the safety limit")
	fs.BoolVar(&o.notifyTest, "notify-test", false, "send a test notification to the configured webhook and mailbox, then exit")
	fs.BoolVar(&o.allowSourceShrink, "allow-source-shrink", false, "let this run through the source guard (a much smaller Condeco export)")
	fs.BoolVar(&o.allowTargetShrink, "allow-target-shrink", false, "let this run through the target guard (a Visitor listing much smaller than after the last good run)")
	fs.BoolVar(&o.rebuildOwnership, "rebuild-ownership", false, "visitor_api generic-v1: rebuild state_dir's record of the users the sync created, matching Visitor's SCIM users to Condeco users by email; with --dry-run print the match only")
	supportFlags(fs, &o)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.allowDeletes < 0 || o.allowAdminChanges < 0 {
		return o, errors.New("--allow-deletes and --allow-admin-changes take a count of 0 or more")
	}
	if o.rebuildOwnership && (o.runNow || o.check || o.status || len(o.explain) > 0 || len(o.only) > 0) {
		return o, errors.New("--rebuild-ownership goes with --dry-run alone")
	}
	if o.dryRun && !o.rebuildOwnership {
		o.runNow = true
	}
	if err := o.checkSupportFlags(); err != nil {
		return o, err
	}
	return o, nil
}

// env is what run takes from the process and its clock, so that tests can
// run in parallel, each with its own environment and shorter graces.
type env struct {
	getenv        func(string) string
	shutdownGrace time.Duration // zero: service.DefaultShutdownGrace
	finishGrace   time.Duration // zero: service.DefaultFinishGrace
	progressEvery time.Duration // zero: service.DefaultProgressEvery
	// hup, when set, stands for SIGHUP: tests send on it instead of
	// signalling the whole test process.
	hup <-chan os.Signal
}

// run is main without the process: tests call it in process.
func run(args []string, stdout, stderr io.Writer) int {
	return int(runContext(context.Background(), args, stdout, stderr, env{getenv: os.Getenv}))
}

func runContext(parent context.Context, args []string, stdout, stderr io.Writer, e env) service.ExitCode {
	getenv := e.getenv
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return service.ExitOK
		}
		fmt.Fprintln(stderr, "error:", err)
		return service.ExitConfig
	}
	if o.version {
		fmt.Fprintln(stdout, "condeco-visitor-sync", version)
		return service.ExitOK
	}
	path := o.configPath
	if path == "" {
		path = getenv(config.EnvConfig)
	}
	if path == "" {
		fmt.Fprintln(stderr, "error: no configuration: pass --config FILE or set "+config.EnvConfig)
		return service.ExitConfig
	}
	if o.status {
		// Reading state_dir needs no secret: an operator's shell may not
		// have the service's credentials.
		getenv = withoutSecrets(getenv)
	}
	cfg, err := config.Load(path, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return service.ExitConfig
	}
	if o.printConfig {
		out, _ := yaml.Marshal(cfg)
		stdout.Write(out)
		return service.ExitOK
	}
	if o.status {
		return statusCmd(cfg, path, o, stdout, stderr)
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return service.ExitConfig
	}
	defer log.Sync() //nolint:errcheck // stderr sync fails on some terminals
	applyMemoryLimit(cfg, log, getenv)
	applyGCPercent(log, getenv)

	ctx, stop := signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := e.hup
	if hup == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGHUP)
		defer signal.Stop(ch)
		hup = ch
	}

	if o.notifyTest {
		// Before newApp: checking the relay needs neither database.
		return notifyTest(ctx, cfg, log, stdout)
	}

	app, err := newApp(ctx, cfg, log, stdout, e, nil)
	if err != nil {
		log.Error("start failed", errField(err))
		return exitCode(err)
	}
	defer app.Close()
	if o.runNow && !o.dryRun && service.IsTerminal(stderr) {
		app.svc.Bar = stderr
	}

	switch {
	case o.rebuildOwnership:
		return app.RebuildOwnership(ctx, o.dryRun)
	case o.check:
		return app.Check(ctx)
	case len(o.explain) > 0:
		return app.Explain(ctx, o)
	case o.runNow:
		// A signal stops new work; requests in flight finish (bounded by
		// the shutdown grace) and the report is written. For a run-now,
		// SIGHUP (a closed terminal) is one more such signal.
		stopCtx, cancelStop := context.WithCancel(ctx)
		defer cancelStop()
		go func() {
			select {
			case <-hup:
				log.Info("SIGHUP: stopping the run")
				cancelStop()
			case <-stopCtx.Done():
			}
		}()
		runCtx, cancel := app.svc.Graceful(stopCtx)
		defer cancel()
		return app.RunNow(runCtx, o)
	default:
		return app.svc.Daemon(ctx, schedule(cfg), reloads(ctx, path, getenv, hup, app, log, stdout, e))
	}
}

func schedule(cfg config.Config) service.Schedule {
	return service.Schedule{Spec: cfg.Schedule, TimeZone: cfg.TimeZone, MetricsListen: cfg.MetricsListen, Version: version}
}

// reloads turns each SIGHUP into a new configuration for the daemon's next
// runs: the file is read again and wired as at start, sharing the drain
// gate and the metrics; a file that does not validate is logged with its
// key and the daemon keeps the configuration it has. Settings the process
// applies once (logging, memory limit, metrics_listen) need a restart.
func reloads(ctx context.Context, path string, getenv func(string) string, hup <-chan os.Signal,
	first *app, log *zap.Logger, stdout io.Writer, e env) <-chan service.Reload {
	out := make(chan service.Reload)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			log.Info("SIGHUP: reloading the configuration", zap.String("config", path))
			cfg, err := config.Load(path, getenv)
			if err != nil {
				log.Error("configuration reload refused; old configuration kept", errField(err))
				continue
			}
			if cfg.MetricsListen != first.cfg.MetricsListen || cfg.LogLevel != first.cfg.LogLevel ||
				cfg.LogFormat != first.cfg.LogFormat || cfg.MemoryLimit != first.cfg.MemoryLimit {
				log.Warn("metrics_listen, log_level, log_format and memory_limit take effect at the next restart")
			}
			next, err := newApp(ctx, cfg, log, stdout, e, first.svc)
			if err != nil {
				log.Error("configuration reload refused; old configuration kept", errField(err))
				continue
			}
			select {
			case out <- service.Reload{Service: next.svc, Schedule: schedule(cfg), Close: next.Close}:
			case <-ctx.Done():
				next.Close()
				return
			}
		}
	}()
	return out
}

// RunNow is --run-now and --dry-run.
func (a *app) RunNow(ctx context.Context, o options) service.ExitCode {
	flags := runner.Flags{
		DryRun: o.dryRun,
		Approvals: plan.Approvals{
			AllowDeletes:      o.allowDeletes,
			AllowAdminChanges: o.allowAdminChanges,
			AllowSourceShrink: o.allowSourceShrink,
			AllowTargetShrink: o.allowTargetShrink,
		},
		Only: o.only,
	}
	rep, err := a.svc.RunOnce(ctx, flags)
	if rep != nil && rep.Plan != nil {
		if o.dryRun {
			rep.Plan.WriteTable(a.stdout)
		}
		if o.planJSON != "" {
			if werr := writePlanJSON(o.planJSON, rep.Plan); werr != nil {
				a.log.Error("writing plan failed", errField(werr))
				return service.ExitError
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
	return service.ExitOK
}

func writePlanJSON(path string, p *plan.Plan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o640)
}
