package service

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// Each run logs the insecure settings again: a long-lived daemon's log
// shows them every day, not once at start.
func TestWarningsOnEveryRun(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	a := &Service{Log: zap.New(core), Warnings: []string{"insecure: a", "insecure: b"}}
	for range 3 { // three runs
		a.warn()
	}
	if got := logs.Len(); got != 6 {
		t.Fatalf("%d warnings over 3 runs, want 6", got)
	}
}

// log_level: error drops warnings; the insecure lines must still appear.
func TestInsecureWarningSurvivesLogLevelError(t *testing.T) {
	core, logs := observer.New(zap.ErrorLevel)
	a := &Service{Log: zap.New(core), Warnings: []string{"insecure: TLS certificate verification to Visitor is off (scim_insecure_skip_verify)"}}
	a.warn()
	if logs.Len() != 1 || logs.All()[0].Message != "insecure: TLS certificate verification to Visitor is off (scim_insecure_skip_verify)" {
		t.Fatalf("logs at error level = %v", logs.All())
	}
}
