package condeco

import (
	"context"
	"testing"
)

func BenchmarkValidateUser(b *testing.B) {
	raw := goodRaw()
	for b.Loop() {
		if c := ValidateUser(raw, rules); len(c.Problems) > 0 {
			b.Fatal(c.Problems)
		}
	}
}

// BenchmarkExportSample reads the 231-row sample through the whole path.
func BenchmarkExportSample(b *testing.B) {
	o := sampleOptions()
	o.Driver = "sqlite"
	o.DSN = loadSQLiteB(b)
	s, err := Open(context.Background(), o, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		if _, err := s.Export(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
