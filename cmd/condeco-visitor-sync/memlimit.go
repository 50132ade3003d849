package main

import (
	"math"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"go.uber.org/zap"

	"condeco-visitor-sync/config"
)

// applyGCPercent sets the collector's GOGC to config.DefaultGCPercent
// unless the GOGC variable chose one.
func applyGCPercent(log *zap.Logger, getenv func(string) string) {
	if v := getenv("GOGC"); v != "" {
		log.Info("gc percent", zap.String("source", "GOGC"), zap.String("value", v))
		return
	}
	debug.SetGCPercent(config.DefaultGCPercent)
	log.Info("gc percent", zap.String("source", "default"), zap.Int("value", config.DefaultGCPercent))
}

// autoMemoryRatio leaves a tenth of a container's limit to what the Go
// runtime does not count (stacks, the binary, cgo-free but mapped data).
const autoMemoryRatio = 0.9

// applyMemoryLimit sets the Go runtime's soft memory limit before the
// first run. Without one the runtime lets the heap grow to about twice
// what is live before collecting, so a container's limit, not the
// collector, is what stops a big run (the OOM killer, mid-sync). With one,
// the collector works harder as the limit nears instead. automemlimit reads
// the cgroup limit (Kubernetes limits.memory, systemd MemoryMax=); it is
// the library most Go services use for this, v1 and v2 cgroups alike.
func applyMemoryLimit(cfg config.Config, log *zap.Logger, getenv func(string) string) {
	if v := getenv("GOMEMLIMIT"); v != "" {
		log.Info("memory limit", zap.String("source", "GOMEMLIMIT"), zap.Int64("bytes", debug.SetMemoryLimit(-1)))
		return
	}
	switch cfg.MemoryLimit {
	case config.MemoryLimitOff:
		log.Info("memory limit", zap.String("source", "memory_limit: off"))
	case config.MemoryLimitAuto, "":
		limit, err := memlimit.Set(memlimit.WithRatio(autoMemoryRatio), memlimit.WithProvider(memlimit.FromCgroup))
		switch {
		case err != nil:
			log.Info("memory limit", zap.String("source", "memory_limit: auto; no cgroup limit found"), zap.String("detail", err.Error()))
		case limit == math.MaxInt64:
			log.Info("memory limit", zap.String("source", "memory_limit: auto; the cgroup sets none"))
		default:
			log.Info("memory limit", zap.String("source", "memory_limit: auto (90 % of the cgroup limit)"), zap.Int64("bytes", limit))
		}
	default:
		n, err := config.ParseMemoryLimit(cfg.MemoryLimit)
		if err != nil || n == 0 { // Validate has refused it already
			return
		}
		debug.SetMemoryLimit(n)
		log.Info("memory limit", zap.String("source", "memory_limit"), zap.Int64("bytes", n))
	}
}
