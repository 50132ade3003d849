package main

import (
	"context"
	"errors"
	"fmt"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"
)

// Run failures by side, for the exit code table. The sync package reports
// what went wrong; only the wiring knows which system it came from.
var (
	ErrSource = errors.New("condeco source failed")
	ErrTarget = errors.New("visitor target failed")
)

// source tags export failures so that they map to ExitSource.
type source struct {
	s    *condeco.Store
	gate *drainGate
}

func (s source) Export(ctx context.Context) (*condeco.Export, error) {
	exp, err := gated(ctx, s.gate, func() (*condeco.Export, error) { return s.s.Export(ctx) })
	if err != nil && !errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("%w: %w", ErrSource, err)
	}
	return exp, err
}

// target tags the whole-run listing failures so that they map to
// ExitTarget; per-user write failures stay per-user in the report.
type target struct {
	*visitor.Client
	gate *drainGate
}

func (t target) ListManagedUsers(ctx context.Context, prefix string) ([]visitor.User, error) {
	u, err := gated(ctx, t.gate, func() ([]visitor.User, error) { return t.Client.ListManagedUsers(ctx, prefix) })
	return u, tagTarget(err)
}

func (t target) ListLocations(ctx context.Context) ([]visitor.Location, error) {
	l, err := gated(ctx, t.gate, func() ([]visitor.Location, error) { return t.Client.ListLocations(ctx) })
	return l, tagTarget(err)
}

// Requests lets the sync report the requests a run spent.
func (t target) Requests() int64 { return t.Client.Stats().Requests }

func tagTarget(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrTarget, err)
}
