//go:build linux

// tracebench is hack/bench.sh's stand-in for `swoll-agent trace --pid PID -s LIST -o json`: the tracer and the
// JSON encoder, without sessions or Kubernetes. It prints "attached" on stderr once the probe is tracing and,
// when stopped by SIGINT/SIGTERM, "events N lost M".
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/swoll-dev/swoll/nodeagent/decode"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/nodeagent/tracer"
	"github.com/swoll-dev/swoll/syscalls"
)

func main() {
	pid := flag.Int("pid", 0, "trace this process and its children")
	list := flag.String("s", "", "comma-separated system calls")
	out := flag.String("o", "json", "json or count")
	flag.Parse()
	if err := run(*pid, *list, *out); err != nil {
		fmt.Fprintln(os.Stderr, "tracebench:", err)
		os.Exit(1)
	}
}

func run(pid int, list, out string) error {
	table := syscalls.Native()
	calls, err := table.Resolve(strings.Split(list, ","))
	if err != nil {
		return err
	}
	tr, err := tracer.New(tracer.Options{})
	if err != nil {
		return err
	}
	defer func() { _ = tr.Close() }()
	if err := tr.Select(calls); err != nil {
		return err
	}
	if err := tr.AddPid(uint32(pid), 1); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintln(os.Stderr, "attached")

	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	dec := decode.New(decode.Options{})
	var buf []byte
	var n uint64
	err = tr.Read(ctx, func(r *record.Record) bool {
		n++
		if out == "json" {
			buf = dec.AppendJSON(buf[:0], r)
			buf = append(buf, '\n')
			_, _ = w.Write(buf)
		}
		return true
	})
	_ = w.Flush()
	fmt.Fprintf(os.Stderr, "events %d lost %d\n", n, tr.Lost())
	return err
}
