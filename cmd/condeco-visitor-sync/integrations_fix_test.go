package main

import (
	"testing"

	"go.uber.org/zap"

	"condeco-visitor-sync/config"
	"condeco-visitor-sync/sync/runner"
)

// Two visitor_integrations whose locations differ (config accepts them)
// but slug alike share state_dir/integrations/<slug>/: one ownership
// record for two Visitor locations. Each create's Add replaces the other
// integration's entry for the same externalId, so every run each loses
// its users (409s every run, or ErrOwnershipLost on a fresh pair).
func TestIntegrationsSharingAFolderNameRefused(t *testing.T) {
	cfg := config.Default()
	cfg.StateDir = t.TempDir()
	cfg.SCIMURL = "https://a.example/scim/v1"
	cfg.VisitorLocationName = "London"
	cfg.VisitorIntegrations = []config.Integration{
		{Location: "Sydney CBD", URL: "https://b.example/scim/v1", Token: "t1"},
		{Location: "Sydney-CBD", URL: "https://c.example/scim/v1", Token: "t2"},
	}
	ins, _, err := newIntegrations(cfg, nil, runner.NewGate(), newLimiters(600), zap.NewNop())
	if err != nil {
		return // refused: fine
	}
	if ins[0].Runner.AuditPath == ins[1].Runner.AuditPath {
		t.Fatalf("integrations %q and %q share one state dir (%s): one ownership record for two locations",
			ins[0].Location, ins[1].Location, ins[0].Runner.AuditPath)
	}
}
