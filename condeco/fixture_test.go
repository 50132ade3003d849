package condeco

import (
	"os"
	"testing"

	"condeco-visitor-sync/condeco/internal/fixturegen"
)

// TestSampleFixture keeps the committed sample.sql equal to the generator's
// output, so the two cannot drift.
func TestSampleFixture(t *testing.T) {
	want := fixturegen.Sample()
	if *update {
		if err := os.WriteFile(fixture("sample.sql"), []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(fixture("sample.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatal("testdata/condeco/sample.sql differs from the generator; run with -update")
	}
}
