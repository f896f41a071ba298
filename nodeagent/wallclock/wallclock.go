//go:build linux

// Package wallclock converts the kernel's monotonic timestamps (bpf_ktime_get_ns) to wall-clock time.
package wallclock

import "golang.org/x/sys/unix"

// MonoToWall returns CLOCK_REALTIME - CLOCK_MONOTONIC in nanoseconds: add it to a monotonic timestamp to get
// Unix nanoseconds. It is computed once per run (a wall-clock step during a session shifts later events by
// the step, which keeps their order). The monotonic clock is read on both sides of the real-time read and
// averaged, which halves the error from being descheduled in between.
func MonoToWall() int64 {
	var before, real, after unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &before) // cannot fail for these clock ids
	_ = unix.ClockGettime(unix.CLOCK_REALTIME, &real)
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &after)
	return real.Nano() - (before.Nano()+after.Nano())/2
}
