package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"condeco-visitor-sync/config"
	"condeco-visitor-sync/sync/service"
)

// multiFlag is a flag that may be given several times, each a person.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return errors.New("empty value")
	}
	*m = append(*m, v)
	return nil
}

// supportFlags are the support staff's view: one person, the last runs.
func supportFlags(fs *flag.FlagSet, o *options) {
	fs.BoolVar(&o.status, "status", false, "show the last runs, the next scheduled run, a run in progress and what a limit needs to be approved, from state_dir alone (no network), then exit")
	fs.BoolVar(&o.jsonOut, "json", false, "with --status or --explain: print JSON instead of a table")
	fs.Var(&o.explain, "explain", "explain what the sync does for this person and why (email, userName, Condeco id or externalId; repeat for several); reads only, then exits")
	fs.Var(&o.only, "only", "with --run-now: apply the plan for this person only (email, userName, Condeco id or externalId; repeat for several)")
}

func (o *options) checkSupportFlags() error {
	switch {
	case o.status && (o.runNow || o.check || len(o.explain) > 0):
		return errors.New("--status reads state_dir only; it goes with no other action")
	case len(o.explain) > 0 && (o.runNow || o.check):
		return errors.New("--explain only reads; it goes with no other action")
	case len(o.only) > 0 && !o.runNow:
		return errors.New("--only goes with --run-now (or --dry-run)")
	case o.jsonOut && !o.status && len(o.explain) == 0:
		return errors.New("--json goes with --status or --explain")
	}
	return nil
}

// statusPlaceholders stand for the secrets when --status loads the
// configuration: it reads no secret (the operator's shell may not be
// allowed to), and validation must still pass.
var statusPlaceholders = map[string]string{
	config.EnvCondecoDSN:          "not-read-by-status",
	config.EnvCondecoPassword:     "not-read-by-status",
	config.EnvCondecoClientSecret: "not-read-by-status",
	config.EnvSCIMToken:           "not-read-by-status",
	config.EnvSCIMClientSecret:    "not-read-by-status",
	config.EnvNotifySMTPPassword:  "not-read-by-status",
	config.EnvNotifyWebhookURL:    "https://not-read-by-status.invalid/",
}

// withoutSecrets never reads a secret file; a required secret that is not
// in the environment gets a placeholder, which nothing sends anywhere.
func withoutSecrets(getenv func(string) string) func(string) string {
	return func(k string) string {
		if base, ok := strings.CutSuffix(k, "_FILE"); ok {
			if _, secret := statusPlaceholders[base]; secret {
				return ""
			}
		}
		if ph, secret := statusPlaceholders[k]; secret {
			if v := getenv(k); v != "" {
				return v
			}
			if getenv(k+"_FILE") != "" || k == config.EnvSCIMToken || k == config.EnvCondecoPassword {
				return ph
			}
			return ""
		}
		return getenv(k)
	}
}

// statusCmd is --status: the last runs from state_dir, no network.
func statusCmd(cfg config.Config, path string, o options, stdout, stderr io.Writer) service.ExitCode {
	command := "condeco-visitor-sync --config " + shellQuote(path)
	st, err := service.ReadStatus(cfg.StateDir, schedule(cfg), command, time.Now(), service.DefaultStatusRuns)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return service.ExitError
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return service.ExitError
		}
		return service.ExitOK
	}
	if err := st.WriteTable(stdout); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return service.ExitError
	}
	return service.ExitOK
}

// shellQuote quotes s for a POSIX shell when it needs it, so that a
// printed command can be pasted as is.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
