package main

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"condeco-visitor-sync/config"
)

func TestInsecureSettingsWarnOnEveryRun(t *testing.T) {
	off := false
	cases := []struct {
		name  string
		edit  func(*config.Config)
		warns int
	}{
		{"secure defaults", func(*config.Config) {}, 0},
		{"TLS verification off", func(c *config.Config) { c.SCIMInsecureSkipVerify = true }, 1},
		{"SQL encryption off", func(c *config.Config) { c.CondecoEncrypt = &off }, 1},
		{"SQL certificate trusted blindly", func(c *config.Config) { c.CondecoTrustServerCertificate = true }, 1},
		{"all three", func(c *config.Config) {
			c.SCIMInsecureSkipVerify, c.CondecoEncrypt, c.CondecoTrustServerCertificate = true, &off, true
		}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			tc.edit(&cfg)
			core, logs := observer.New(zap.WarnLevel)
			a := &app{cfg: cfg, log: zap.New(core)}
			for range 3 { // three runs of a long-lived daemon
				a.warnInsecure()
			}
			if got := logs.Len(); got != 3*tc.warns {
				t.Fatalf("%d warnings over 3 runs, want %d", got, 3*tc.warns)
			}
		})
	}
}

// log_level: error drops warnings; the insecure lines must still appear.
func TestInsecureWarningSurvivesLogLevelError(t *testing.T) {
	cfg := config.Default()
	cfg.SCIMInsecureSkipVerify = true
	core, logs := observer.New(zap.ErrorLevel)
	a := &app{cfg: cfg, log: zap.New(core)}
	a.warnInsecure()
	if logs.Len() != 1 || logs.All()[0].Message != "insecure: TLS certificate verification to Visitor is off (scim_insecure_skip_verify)" {
		t.Fatalf("logs at error level = %v", logs.All())
	}
}
