package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedOutputIsCurrent regenerates the tables and compares them with the committed
// file, so a hand edit or an x/sys upgrade without `go generate` fails here.
func TestCommittedOutputIsCurrent(t *testing.T) {
	for _, tc := range []struct {
		file string
		gen  func(string) error
	}{{"znumbers.go", run}, {"zflags.go", runFlags}} {
		out := filepath.Join(t.TempDir(), tc.file)
		if err := tc.gen(out); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join("..", "..", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(committed) {
			t.Errorf("syscalls/%s is stale or hand-edited; run go generate ./syscalls", tc.file)
		}
	}
}
