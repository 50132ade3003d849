package config

import (
	"fmt"
	"strings"

	"github.com/dustin/go-humanize"
)

// Values of memory_limit besides a size.
const (
	MemoryLimitAuto = "auto"
	MemoryLimitOff  = "off"
)

// DefaultGCPercent is the Go collector's GOGC for the daemon (not a key:
// the GOGC variable overrides it). The runtime's 100 lets the heap grow
// to twice what is live before it collects; the daemon spends its time
// waiting on a 500-calls-a-minute budget, so it trades a little CPU for
// memory: at 100 000 users a no-change sync peaked at 130 MiB with 40
// where 100 took 172 MiB, for 0.1-0.2 s more export (docs/benchmarks.md).
const DefaultGCPercent = 40

// MinMemoryLimit is the smallest size memory_limit accepts: below it the
// Go runtime would spend its time collecting before the first run.
const MinMemoryLimit = 32 << 20

// ParseMemoryLimit reads memory_limit: 0 for "auto" and "off" (the caller
// tells them apart), otherwise the size in bytes. Sizes take the units of
// GOMEMLIMIT and Kubernetes alike ("150MiB", "150Mi", "160MB").
func ParseMemoryLimit(s string) (int64, error) {
	switch v := strings.TrimSpace(s); v {
	case MemoryLimitAuto, MemoryLimitOff:
		return 0, nil
	case "":
		return 0, fmt.Errorf("empty: use auto, off or a size such as 150MiB")
	default:
		n, err := humanize.ParseBytes(v)
		if err != nil {
			return 0, fmt.Errorf("%q is not auto, off or a size such as 150MiB", s)
		}
		if n < MinMemoryLimit {
			return 0, fmt.Errorf("%q is below the minimum of 32MiB", s)
		}
		if n > 1<<50 {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return int64(n), nil
	}
}
