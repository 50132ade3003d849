// Command visitor-simulator serves the in-memory Eptura Visitor SCIM
// simulator on a loopback address, for demos and for running the sync
// against something that enforces the contract without a real tenant.
// --api picks the flavour: scim2 (docs/visitor-scim.md, the default) or
// generic-v1 (Eptura's Generic SCIM integration, SCIM 1.1).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"condeco-visitor-sync/visitor/simulator"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, listen, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		if !errors.Is(err, errFlagParse) { // the flag package printed it already
			fmt.Fprintln(stderr, err)
		}
		return 2
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	url, _, stop, err := simulator.Start(o, listen)
	if err != nil {
		fmt.Fprintf(stderr, "starting: %v\n", err)
		return 1
	}
	api := o.API
	if api == "" {
		api = simulator.APIScim2
	}
	// The URL stays right after "listening on " so that readers of the
	// line written before generic-v1 existed still find it.
	fmt.Fprintf(stdout, "listening on %s (api %s)\n", url, api)
	<-ctx.Done()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := stop(sctx); err != nil {
		fmt.Fprintf(stderr, "stopping: %v\n", err)
		return 1
	}
	return 0
}

// defaultRateLimit is Visitor's budget as the client assumes it (500 calls
// per minute per client, see docs/visitor-scim.md), so the stand-alone simulator answers 429 where the real
// service would. The library's zero Options leave it off for fast tests.
const defaultRateLimit = 500

// errFlagParse marks an error the flag package has already reported.
var errFlagParse = errors.New("bad flags")

// parseFlags turns the command line into simulator options and the listen
// address, checking everything Start would refuse so that a mistake is a
// usage error (exit 2), not a failed start.
func parseFlags(args []string, stderr io.Writer) (simulator.Options, string, error) {
	fs := flag.NewFlagSet("visitor-simulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o            simulator.Options
		listen       = fs.String("listen", "127.0.0.1:0", "loopback address to listen on")
		errorRate    = fs.String("error-rate", "", "injected statuses, e.g. 500=0.1,503=0.1 (rates add up: 20 % 5xx)")
		faultMethods = fs.String("fault-methods", "", "limit every fault to these methods, e.g. POST,PATCH (default all)")
	)
	fs.StringVar(&o.API, "api", simulator.APIScim2, "flavour: scim2 (docs/visitor-scim.md) or generic-v1 (Eptura's Generic SCIM integration, SCIM 1.1)")
	fs.BoolVar(&o.GenericPatch, "generic-patch", false, "generic-v1: serve SCIM 1.1 PATCH and say so in /ServiceProviderConfigs (default: PATCH answers 501)")
	fs.StringVar(&o.Token, "token", os.Getenv("SIM_TOKEN"), "static bearer token (default $SIM_TOKEN)")
	fs.StringVar(&o.ClientID, "client-id", "", "client id for POST /oauth/token")
	fs.StringVar(&o.ClientSecret, "client-secret", os.Getenv("SIM_CLIENT_SECRET"), "client secret (default $SIM_CLIENT_SECRET)")
	fs.IntVar(&o.RateLimit, "rate-limit", defaultRateLimit, "calls per minute per token, as Visitor allows; 0 = off")
	fs.IntVar(&o.RateBurst, "rate-burst", 0, "calls allowed at once before the per-minute rate applies (default: a minute's worth)")
	fs.IntVar(&o.MaxResults, "max-results", simulator.DefaultMaxResults, "largest page")
	fs.Int64Var(&o.MaxBody, "max-body", simulator.DefaultMaxBody, "largest request body in bytes")
	fs.StringVar(&o.DefaultLocationName, "default-location", simulator.DefaultLocationName, "name of the default location")
	fs.DurationVar(&o.Faults.Latency, "latency", 0, "added to every SCIM request")
	fs.DurationVar(&o.Faults.SlowPage, "slow-page", 0, "added to every listing")
	fs.Float64Var(&o.Faults.DropRate, "drop-rate", 0, "probability of closing the connection before handling")
	fs.Float64Var(&o.Faults.DropAfterWriteRate, "drop-after-write-rate", 0, "probability of closing the connection after applying a write")
	fs.Float64Var(&o.Faults.MalformedRate, "malformed-rate", 0, "probability of a truncated JSON answer")
	fs.Int64Var(&o.Faults.Sequence, "fault-sequence", 1, "which pseudo-random sequence the faults follow (the same number replays them)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, "", err
		}
		return o, "", fmt.Errorf("%w: %v", errFlagParse, err)
	}
	if fs.NArg() > 0 {
		return o, "", fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	rates, err := parseErrorRate(*errorRate)
	if err != nil {
		return o, "", fmt.Errorf("--error-rate: %w", err)
	}
	o.Faults.ErrorRate = rates
	for _, m := range strings.Split(*faultMethods, ",") {
		if m = strings.ToUpper(strings.TrimSpace(m)); m != "" {
			o.Faults.Methods = append(o.Faults.Methods, m)
		}
	}
	for name, p := range map[string]float64{"--drop-rate": o.Faults.DropRate,
		"--drop-after-write-rate": o.Faults.DropAfterWriteRate, "--malformed-rate": o.Faults.MalformedRate} {
		if p < 0 || p > 1 {
			return o, "", fmt.Errorf("%s: %v is not a probability in [0,1]", name, p)
		}
	}
	if err := o.Faults.Validate(); err != nil {
		return o, "", fmt.Errorf("faults: %w", err)
	}
	if o.RateLimit < 0 || o.RateBurst < 0 {
		return o, "", errors.New("--rate-limit and --rate-burst must not be negative")
	}
	if err := checkAPI(o); err != nil {
		return o, "", err
	}
	if o.Token == "" && (o.ClientID == "" || o.ClientSecret == "") {
		return o, "", errors.New("need --token (or SIM_TOKEN) or --client-id with --client-secret")
	}
	if err := simulator.CheckLoopback(*listen); err != nil {
		return o, "", fmt.Errorf("--listen: %w", err)
	}
	return o, *listen, nil
}

// checkAPI refuses an unknown flavour and settings the flavour cannot
// use: generic-v1 has no token endpoint (its integration hands out one
// static token), and only generic-v1 has optional PATCH.
func checkAPI(o simulator.Options) error {
	switch o.API {
	case simulator.APIScim2:
		if o.GenericPatch {
			return errors.New("--generic-patch needs --api generic-v1")
		}
	case simulator.APIGenericV1:
		if o.ClientID != "" {
			return errors.New("--client-id: --api generic-v1 has no token endpoint; use --token")
		}
		if o.Token == "" {
			return errors.New("--api generic-v1 needs --token (or SIM_TOKEN): it has no token endpoint")
		}
	default:
		return fmt.Errorf("--api %q is not %s or %s", o.API, simulator.APIScim2, simulator.APIGenericV1)
	}
	return nil
}

// parseErrorRate reads "500=0.2,503=0.1".
func parseErrorRate(v string) (map[int]float64, error) {
	out := map[int]float64{}
	if strings.TrimSpace(v) == "" {
		return out, nil
	}
	for _, part := range strings.Split(v, ",") {
		code, prob, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%q is not STATUS=PROBABILITY", part)
		}
		c, err := strconv.Atoi(code)
		if err != nil || c < 400 || c > 599 {
			return nil, fmt.Errorf("%q: status must be 400..599", part)
		}
		p, err := strconv.ParseFloat(prob, 64)
		if err != nil || p < 0 || p > 1 {
			return nil, fmt.Errorf("%q: probability must be in [0,1]", part)
		}
		out[c] = p
	}
	return out, nil
}
