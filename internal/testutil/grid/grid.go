// Package grid says which of a root test's program variants run. By default every one does. Under -test.short
// (hack/test-kernels.sh passes it to the suites in its VMs, where the kernel's verifier runs under emulation and
// each variant's load takes seconds) a test runs a representative subset and logs what it left out: either the
// variants it names (Pick's keep: the extremes that matter to it), or one variant, the next in turn at each
// call, so that a package's tests together still run every variant on every kernel (and, with OffsetEnv,
// several kernels together more of each test's variants). Root tests by hand, on
// the host and in CI's host row run the full grid.
//
// Pick is called from tests run one at a time (a package's top-level tests, not in parallel).
package grid

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// OffsetEnv names the environment variable that offsets the rotation (a number; default 0): make test-kernels
// gives each of its VMs another, so that together they run more of each test's variants.
const OffsetEnv = "SWOLL_GRID_OFFSET"

// next is the variant the next rotating Pick runs (an index into its names, modulo their number).
var next, _ = strconv.Atoi(os.Getenv(OffsetEnv))

// Pick returns the indexes of the names (a test's distinct variants on this kernel, in the table's order) that
// the test runs: all of them without -test.short. Under -test.short, those named in keep when keep is given
// (names missing on this kernel are left out silently: an earlier variant loads the same programs), else one,
// in turn. It logs the names left out.
func Pick(t testing.TB, names []string, keep ...string) []int {
	t.Helper()
	if !testing.Short() || len(names) < 2 {
		return all(len(names))
	}
	var run []int
	if len(keep) > 0 {
		for i, n := range names {
			if slices.Contains(keep, n) {
				run = append(run, i)
			}
		}
		if len(run) == 0 {
			run = []int{0}
		}
	} else {
		run = []int{((next % len(names)) + len(names)) % len(names)}
		next++
	}
	var out []string
	for i, n := range names {
		if !slices.Contains(run, i) {
			out = append(out, n)
		}
	}
	if len(out) > 0 {
		t.Logf("-short: variants %s left out (without -short every variant runs)", strings.Join(out, ", "))
	}
	return run
}

func all(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
