// Package parity holds the strace parity test (issue 3): small C programs in testdata make known system
// calls, successes and failures, once under strace and once under swoll-agent trace --pid, and every call's
// name, order (per thread), return value, errno and decoded arguments must agree. Some programs run again with
// flags both take alike (issue 17): -y and -yy (fds shown with what they are), -Z and -z (only what failed,
// only what succeeded), -P (only the calls on a path); the calls both show must be the same calls.
//
// Needs root, gcc with a static libc, and strace; under SWOLL_REQUIRE_ROOT=1 a missing one is a failure.
// canon_test.go lists the formatting differences that are normalized and why; knownDiffs in parity_test.go
// lists the differences found and not fixed yet (logged, and the test fails once one disappears). The log
// ends with a table of matched/total calls per syscall.
package parity
