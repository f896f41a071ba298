// Command goexec is the parity test's Go program: after the go-ahead it opens files and runs programs
// through os/exec, as a Go service in a container would.
package main

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

func init() {
	// The main goroutine stays on the main thread, so the processes it starts are its children in both runs.
	runtime.LockOSThread()
}

func main() {
	runtime.GOMAXPROCS(1)
	_ = exec.Command("/bin/true").Run() // the runtime starts its threads before the compared calls
	ready := make(chan struct{})
	go func() {
		var b [1]byte
		_, _ = os.Stdin.Read(b[:])
		close(ready)
	}()
wait:
	for {
		syscall.Getppid()
		select {
		case <-ready:
			break wait
		case <-time.After(20 * time.Millisecond):
		}
	}
	_, _ = syscall.Open("/swoll-parity-begin", syscall.O_RDONLY, 0)
	if f, err := os.Open("/etc/hostname"); err == nil {
		_ = f.Close()
	}
	_, _ = os.Open("/nonexistent/go-parity")
	_ = exec.Command("/bin/true", "go-arg", "second arg").Run()
	_ = exec.Command("/etc/hostname", "not-a-program").Run() // EACCES
	os.Exit(0)
}
