package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"unicode"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"condeco-visitor-sync/config"
	"condeco-visitor-sync/internal/ownbook"
	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/runner"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor"
)

// target is what the command needs from a Visitor client of either
// profile (visitor_api): a run's calls, its counters and --check's probe.
type target interface {
	runner.Target
	Stats() visitor.Stats
	Probe(ctx context.Context, externalIDPrefix string) ([]visitor.ProbeCheck, error)
}

// limiters hands out one rate limiter per token: Visitor counts calls per
// token, so integrations that share one must share its budget too.
type limiters struct {
	perMinute int
	byToken   map[string]*rate.Limiter
}

func newLimiters(perMinute int) *limiters {
	return &limiters{perMinute: perMinute, byToken: map[string]*rate.Limiter{}}
}

func (l *limiters) forToken(token string) *rate.Limiter {
	if lim, ok := l.byToken[token]; ok {
		return lim
	}
	lim := visitor.NewLimiter(l.perMinute)
	l.byToken[token] = lim
	return lim
}

// newTarget builds the client of the configured profile. generic-v1 keeps
// which users it created in state_dir (the wire carries no externalId).
func newTarget(cfg config.Config, dir *state.Dir, lims *limiters, log *zap.Logger) (target, error) {
	o := clientOptions(cfg)
	if cfg.VisitorAPI == visitor.ProfileGeneric {
		o.Limiter = lims.forToken(o.Token)
		return visitor.NewGeneric(o, ownbook.New(dir), log)
	}
	return visitor.New(o, log)
}

// newIntegrations wires each visitor_integrations entry as a runner of
// its own: its client (the budget shared per token), and its records in
// state_dir/integrations/<location>/, so that one integration's ownership
// never reads as another's.
func newIntegrations(cfg config.Config, src runner.Source, gate *runner.Gate, lims *limiters, log *zap.Logger) ([]service.Integration, []ownershipTarget, error) {
	out := make([]service.Integration, 0, len(cfg.VisitorIntegrations))
	var records []ownershipTarget
	slugs := map[string]string{}
	for _, in := range cfg.VisitorIntegrations {
		// Each integration's records are its own: two locations whose
		// names make one folder name would share one ownership record.
		if other, ok := slugs[slug(in.Location)]; ok {
			return nil, nil, fmt.Errorf("%w: visitor_integrations %s: its records would share state_dir/integrations/%s with %s; rename one location",
				config.ErrInvalid, in.Location, slug(in.Location), other)
		}
		slugs[slug(in.Location)] = in.Location
		dir, err := state.Open(filepath.Join(cfg.StateDir, "integrations", slug(in.Location)))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: visitor_integrations %s: %w", config.ErrInvalid, in.Location, err)
		}
		o := clientOptions(cfg)
		o.BaseURL, o.Token = in.URL, in.Token.Value()
		o.Limiter = lims.forToken(o.Token)
		named := log.With(zap.String("integration", in.Location))
		client, err := visitor.NewGeneric(o, ownbook.New(dir), named.Named("visitor"))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: visitor_integrations %s: %w", config.ErrInvalid, in.Location, err)
		}
		records = append(records, ownershipTarget{name: "integration " + in.Location, lister: client, dir: dir, probe: client.Probe})
		po := planOptions(cfg)
		po.HandLocation = in.Location
		out = append(out, service.Integration{Location: in.Location, Runner: &runner.Runner{
			Source:    src,
			Target:    runner.GatedTarget(client, gate),
			Plan:      po,
			Apply:     apply.Options{Concurrency: cfg.SCIMConcurrency, VerifyWrites: cfg.SCIMVerifyWrites, BreakerFailures: cfg.BreakerFailures},
			Log:       named.Named("sync"),
			AuditPath: dir.AuditPath(),
			FirstSync: dir,
			Record:    targetStore{dir},
		}})
	}
	return out, records, nil
}

// slug is a location name as a folder name: lower-case letters and
// digits, the rest as "-".
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if s == "" {
		s = "location"
	}
	return s
}
