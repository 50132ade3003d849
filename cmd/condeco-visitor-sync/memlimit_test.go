package main

import (
	"runtime/debug"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"condeco-visitor-sync/config"
)

func TestApplyMemoryLimit(t *testing.T) {
	const before = 3 << 30 // a limit no case would choose
	tests := []struct {
		name, setting, env string
		want               int64 // the runtime's limit after; before = untouched
		wantSource         string
	}{
		{"size", "150MiB", "", 150 << 20, "memory_limit"},
		{"Kubernetes units", "200Mi", "", 200 << 20, "memory_limit"},
		{"off leaves the runtime alone", "off", "", before, "memory_limit: off"},
		{"GOMEMLIMIT wins over the setting", "150MiB", "100MiB", before, "GOMEMLIMIT"},
		{"auto", "auto", "", -1, "memory_limit: auto"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := debug.SetMemoryLimit(before)
			t.Cleanup(func() { debug.SetMemoryLimit(old) })
			core, logs := observer.New(zap.InfoLevel)
			cfg := config.Default()
			cfg.MemoryLimit = tt.setting
			applyMemoryLimit(cfg, zap.New(core), func(k string) string {
				if k == "GOMEMLIMIT" {
					return tt.env
				}
				return ""
			})
			got := debug.SetMemoryLimit(-1)
			if tt.want >= 0 && got != tt.want {
				t.Errorf("limit %d, want %d", got, tt.want)
			}
			entries := logs.FilterMessage("memory limit").All()
			if len(entries) != 1 {
				t.Fatalf("%d \"memory limit\" lines, want 1", len(entries))
			}
			if src, _ := entries[0].ContextMap()["source"].(string); !strings.HasPrefix(src, tt.wantSource) {
				t.Errorf("source %q, want %q…", src, tt.wantSource)
			}
		})
	}
}

// The daemon collects at config.DefaultGCPercent unless GOGC says.
func TestApplyGCPercent(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		want      int
	}{
		{"default", "", config.DefaultGCPercent},
		{"GOGC wins", "200", 77}, // the runtime keeps what it had (77 here)
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := debug.SetGCPercent(77)
			t.Cleanup(func() { debug.SetGCPercent(old) })
			core, logs := observer.New(zap.InfoLevel)
			applyGCPercent(zap.New(core), func(k string) string {
				if k == "GOGC" {
					return tc.env
				}
				return ""
			})
			if got := debug.SetGCPercent(77); got != tc.want {
				t.Errorf("GOGC %d, want %d", got, tc.want)
			}
			if n := logs.FilterMessage("gc percent").Len(); n != 1 {
				t.Errorf("%d \"gc percent\" lines, want 1", n)
			}
		})
	}
}
