package config

import (
	"strings"
	"testing"
)

func TestParseMemoryLimit(t *testing.T) {
	tests := []struct {
		name, in string
		want     int64
		wantErr  string
	}{
		{"auto", "auto", 0, ""},
		{"off", "off", 0, ""},
		{"GOMEMLIMIT units", "150MiB", 150 << 20, ""},
		{"Kubernetes units", "150Mi", 150 << 20, ""},
		{"decimal units", "160MB", 160_000_000, ""},
		{"gibibytes with a space", "1 GiB", 1 << 30, ""},
		{"empty", "", 0, "empty"},
		{"not a size", "lots", 0, "not auto, off or a size"},
		{"negative", "-150MiB", 0, "not auto, off or a size"},
		{"below the minimum", "16MiB", 0, "below the minimum"},
		{"plain bytes below the minimum", "1000", 0, "below the minimum"},
		{"too large", "2EiB", 0, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMemoryLimit(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseMemoryLimit(%q) = %d, %v; want error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseMemoryLimit(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDefaultMemoryLimit(t *testing.T) {
	c, err := Parse(strings.NewReader(minimal), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.MemoryLimit != MemoryLimitAuto {
		t.Fatalf("default memory_limit %q, want auto", c.MemoryLimit)
	}
}
