// Package roottest lets tests that load BPF programs say so: they skip when run without root on a laptop,
// and fail when SWOLL_REQUIRE_ROOT=1 (make test, CI), so that a missing privilege never passes silently.
package roottest

import (
	"os"
	"os/exec"
	"testing"
)

// Required reports whether tests that need root must run (and so fail rather than skip).
func Required() bool { return os.Getenv("SWOLL_REQUIRE_ROOT") == "1" }

// Require stops t unless the process is root.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if Required() {
		t.Fatal("this test loads BPF programs and needs root (SWOLL_REQUIRE_ROOT=1)")
	}
	t.Skip("needs root: loads BPF programs")
}

// Tool finds a program a root test runs; a missing one is a failure where root tests are required.
func Tool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if Required() {
		t.Fatalf("this test needs %s (SWOLL_REQUIRE_ROOT=1): %v", name, err)
	}
	t.Skipf("needs %s: %v", name, err)
	return ""
}
