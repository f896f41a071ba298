//go:build linux

// syscall-loop is the end-to-end benchmark's traced workload (hack/e2e/bench.sh): it calls getppid(2), a system
// call that does no work of its own, so that the cost measured is swoll's.
//
//	syscall-loop                   as fast as one thread can, forever
//	syscall-loop RATE              RATE calls per second, forever (sleeps when ahead, so it leaves CPU to the tracer)
//	syscall-loop RATE FAIL_EVERY   the same, with one call in FAIL_EVERY a close(-1), which fails (EBADF): the
//	                               workload of --failed (RATE 0: as fast as it can)
//
// Once a second it prints "calls TOTAL" on stdout: what the tracer had the chance to see.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

func main() {
	rate, failEvery := 0.0, 0
	if len(os.Args) > 1 {
		r, err := strconv.ParseFloat(os.Args[1], 64)
		if err != nil || r < 0 {
			fmt.Fprintf(os.Stderr, "usage: syscall-loop [CALLS_PER_SECOND [FAIL_EVERY]]; got %q\n", os.Args[1])
			os.Exit(2)
		}
		rate = r
	}
	if len(os.Args) > 2 {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "usage: syscall-loop [CALLS_PER_SECOND [FAIL_EVERY]]; got %q\n", os.Args[2])
			os.Exit(2)
		}
		failEvery = n
	}
	badFd := ^uintptr(0) // -1
	// One OS thread makes every call: the tracer sees one steady tid.
	runtime.LockOSThread()
	start := time.Now()
	nextReport := start.Add(time.Second)
	var calls int64
	for {
		// Checking the clock (vDSO, no system call) every 256 calls keeps its cost out of the loop.
		for i := range 256 {
			if failEvery > 0 && (calls+int64(i))%int64(failEvery) == 0 {
				_, _, _ = syscall.RawSyscall(syscall.SYS_CLOSE, badFd, 0, 0)
				continue
			}
			_, _, _ = syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
		}
		calls += 256
		now := time.Now()
		if now.After(nextReport) {
			fmt.Printf("calls %d\n", calls)
			nextReport = nextReport.Add(time.Second)
		}
		if rate > 0 {
			due := start.Add(time.Duration(float64(calls) / rate * float64(time.Second)))
			if ahead := due.Sub(now); ahead > time.Millisecond {
				time.Sleep(ahead)
			}
		}
	}
}
