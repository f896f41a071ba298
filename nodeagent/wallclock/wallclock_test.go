//go:build linux

package wallclock

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestMonoToWall(t *testing.T) {
	offset := MonoToWall()
	var mono unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
		t.Fatal(err)
	}
	got := time.Unix(0, mono.Nano()+offset)
	if d := time.Since(got); d < -time.Second || d > time.Second {
		t.Fatalf("monotonic now + offset = %v, %v away from the wall clock", got, d)
	}
}
