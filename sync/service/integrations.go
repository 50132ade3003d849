package service

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"condeco-visitor-sync/sync/runner"
)

// Integration is one more Visitor location with its own generic-v1
// integration: its own client, ownership record and target record, the
// main run's Condeco export and flags.
type Integration struct {
	Location string
	Runner   *runner.Runner
}

// runIntegrations runs each further integration after the main run and
// adds what it did to the main report. One integration failing does not
// stop the others: each is a separate Visitor location. The run's error
// joins theirs, each named by its location, so the exit code is the most
// serious one's (Classify) and the report says which failed.
func (s *Service) runIntegrations(ctx context.Context, flags runner.Flags, rep *runner.Report, err error) error {
	if len(s.Integrations) == 0 || rep == nil {
		return err
	}
	if errors.Is(err, runner.ErrSource) {
		// Condeco could not be read: every integration would fail the same.
		return err
	}
	for _, in := range s.Integrations {
		if ctx.Err() != nil {
			break // stopping: nothing new starts
		}
		sub, serr := in.Runner.RunOnce(ctx, flags)
		res := runner.IntegrationResult{Location: in.Location}
		if sub != nil {
			res.Counts, res.Failures, res.Requests, res.Plan = sub.Counts, len(sub.Failures), sub.Requests, sub.Plan
		}
		if serr != nil {
			res.Error = serr.Error()
			s.Log.Warn("integration run failed", zap.String("location", in.Location), errField(serr))
			err = errors.Join(err, fmt.Errorf("integration %s: %w", in.Location, serr))
		}
		s.Log.Info("integration synced", zap.String("location", in.Location), zap.Int("created", res.Counts.Created),
			zap.Int("updated", res.Counts.Updated), zap.Int("deleted", res.Counts.Deleted),
			zap.Int("deactivated", res.Counts.Deactivated), zap.Int("failed", res.Counts.Failed), zap.Int64("requests", res.Requests))
		rep.Integrations = append(rep.Integrations, res)
	}
	if err != nil {
		rep.Error = err.Error()
	}
	return err
}
