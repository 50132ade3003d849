package main

import (
	"testing"

	"condeco-visitor-sync/config"
)

func TestInsecureSettingsWarnOnEveryRun(t *testing.T) {
	t.Parallel()
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
			t.Parallel()
			cfg := config.Default()
			tc.edit(&cfg)
			if got := insecureWarnings(cfg); len(got) != tc.warns {
				t.Fatalf("%d warnings %q, want %d", len(got), got, tc.warns)
			}
		})
	}
}
