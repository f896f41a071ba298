// Command kubectl-swoll is the kubectl plugin: kubectl swoll trace -l app=nginx -s openat.
//
// main owns what is process-wide: the signals. A first Ctrl-C (or SIGTERM) ends a trace cleanly, through its
// teardown; a second stops waiting for the agent pods to go away; a third exits at once. SIGPIPE is ignored, so
// that a closed stdout (`| head`) ends a trace through its teardown (the write fails) instead of killing the
// process and leaving agent pods behind.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/swoll-dev/swoll/plugin/cmd"
)

// exitInterrupted is the exit status after a third interrupt (128 + SIGINT).
const exitInterrupted = 130

func main() {
	signal.Ignore(syscall.SIGPIPE)
	ctx, cancel := context.WithCancel(context.Background())
	force := make(chan struct{})
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		n := 0
		for range sigs {
			n++
			switch n {
			case 1:
				cancel()
			case 2:
				_, _ = fmt.Fprintln(os.Stderr, "swoll: interrupted again: removing agent pods without waiting (once more to quit at once)")
				close(force)
			default:
				os.Exit(exitInterrupted)
			}
		}
	}()
	code := cmd.Execute(ctx, force)
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}
