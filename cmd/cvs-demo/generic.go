package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor/simulator"
)

// The generic-v1 part: Eptura's documented Generic SCIM integration
// (SCIM 1.1, users only), installed in two locations.
const (
	genericMain   = "London Bridge"
	genericSecond = "Dubai Marina"
	secondToken   = "demo-second-integration-token"
)

// genericDemo runs the same Condeco data against two simulators speaking
// generic-v1: the integration of scim_url (London Bridge) and one more
// (visitor_integrations: Dubai Marina). It shows what the profile carries,
// the by-hand list of what it cannot, and a lost ownership record stopping
// the run until it is rebuilt.
func genericDemo(ctx context.Context, out io.Writer, bin, data, work string) error {
	work = filepath.Join(work, "generic-v1")
	if err := os.MkdirAll(work, 0o700); err != nil {
		return err
	}
	url, sim, stop, err := simulator.Start(simulator.Options{API: simulator.APIGenericV1, Token: demoToken}, "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("starting the generic-v1 simulator: %w", err)
	}
	defer stop(context.Background())
	url2, sim2, stop2, err := simulator.Start(simulator.Options{API: simulator.APIGenericV1, Token: secondToken, GenericPatch: true}, "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("starting the second generic-v1 simulator: %w", err)
	}
	defer stop2(context.Background())
	fmt.Fprintf(out, "generic-v1 simulators: %s (%s, updates by PUT) and %s (%s, advertises SCIM 1.1 PATCH)\n", url, genericMain, url2, genericSecond)

	dbPath := filepath.Join(work, "condeco.db")
	db, err := loadCondeco(ctx, dbPath, data)
	if err != nil {
		return err
	}
	defer db.Close()
	tokenFile := filepath.Join(work, "dubai-token")
	if err := os.WriteFile(tokenFile, []byte(secondToken+"\n"), 0o600); err != nil {
		return err
	}
	stateDir := filepath.Join(work, "state")
	cfgPath := filepath.Join(work, "config.yaml")
	cfg := fmt.Sprintf(`# written by cvs-demo: Eptura's documented Generic SCIM integration
visitor_api: generic-v1
visitor_location_name: %q
visitor_integrations:
  - location: %q
    url: %q
    token_file: %q
condeco_driver: sqlite
condeco_dsn: %q
scim_url: %q
scim_rate_limit: 6000
state_dir: %q
metrics_listen: "127.0.0.1:0"
log_level: info
log_format: console
`, genericMain, genericSecond, url2, tokenFile, dbPath, url, stateDir)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}

	step := func(title string, want int, args ...string) (string, error) {
		fmt.Fprintf(out, "\n== generic-v1 %s (%s)\n", title, strings.Join(args, " "))
		text, code, err := runCLI(ctx, bin, cfgPath, args...)
		fmt.Fprint(out, text)
		if err != nil {
			return text, err
		}
		fmt.Fprintf(out, "(exit code %d)\n", code)
		if code != want {
			return text, fmt.Errorf("generic-v1 %s: exit code %d, want %d", title, code, want)
		}
		return text, nil
	}
	if _, err := step("check: which profile does the server speak?", 0, "--check"); err != nil {
		return err
	}
	if _, err := step("run 1: initial sync into both integrations", 0, "--run-now"); err != nil {
		return err
	}
	if err := genericHolds(out, sim, sim2); err != nil {
		return err
	}
	if err := condeco.ExecFile(ctx, db, filepath.Join(data, "day2.sql")); err != nil {
		return fmt.Errorf("applying day2.sql: %w", err)
	}
	text, err := step("day two, dry run: the plan and the by-hand list (new location, promotion)", 0, "--run-now", "--dry-run")
	if err != nil {
		return err
	}
	if !strings.Contains(text, "by hand in Visitor (changed since the last run") || !strings.Contains(text, "Manchester Piccadilly") {
		return fmt.Errorf("the day-two dry run lacks the changed by-hand list")
	}
	if _, err := step("run 2: day two", 0, "--run-now"); err != nil {
		return err
	}
	if err := genericHolds(out, sim, sim2); err != nil {
		return err
	}

	fmt.Fprintf(out, "\n== generic-v1: the ownership record is lost (state_dir restored from an old backup without it)\n")
	for _, name := range []string{"ownership.json", "ownership.journal"} {
		os.Remove(filepath.Join(stateDir, name))
	}
	if _, err := step("run 3: stops before any write, saying how to rebuild", 12, "--run-now"); err != nil {
		return err
	}
	if _, err := step("rebuild, dry run first", 0, "--rebuild-ownership", "--dry-run"); err != nil {
		return err
	}
	if _, err := step("rebuild", 0, "--rebuild-ownership"); err != nil {
		return err
	}
	last, err := step("run 4: the same data as a dry run (must plan zero changes)", 0, "--run-now", "--dry-run")
	if err != nil {
		return err
	}
	return zeroChanges(last)
}

// genericHolds checks that both integrations hold every user the sync
// created, each with userName = work email, and says so.
func genericHolds(out io.Writer, sims ...*simulator.Server) error {
	counts := make([]int, len(sims))
	for i, s := range sims {
		for _, u := range s.Users() {
			if !u.ViaSCIM {
				continue
			}
			if len(u.Emails) != 1 || !strings.EqualFold(u.Emails[0].Value, u.UserName) {
				return fmt.Errorf("user %s: userName is not the work email (%v)", u.UserName, u.Emails)
			}
			counts[i]++
		}
	}
	if counts[0] != counts[1] {
		return fmt.Errorf("%s holds %d users, %s %d", genericMain, counts[0], genericSecond, counts[1])
	}
	fmt.Fprintf(out, "both integrations hold %d users created through SCIM, each with userName = work email\n", counts[0])
	return nil
}
