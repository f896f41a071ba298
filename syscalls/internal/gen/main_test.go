package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedOutputIsCurrent regenerates the tables and compares them with the committed
// file, so a hand edit or an x/sys upgrade without `go generate` fails here.
func TestCommittedOutputIsCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "znumbers.go")
	if err := run(out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("..", "..", "znumbers.go"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(committed) {
		t.Fatal("syscalls/znumbers.go is stale or hand-edited; run go generate ./syscalls")
	}
}
