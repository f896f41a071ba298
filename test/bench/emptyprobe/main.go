//go:build linux

// emptyprobe is the floor of hack/bench.sh: two BPF programs that do nothing, attached to sys_enter and sys_exit
// the way the agent attaches its own (tp_btf). What it costs is what any syscall tracer costs before its first
// instruction: the tracepoints' slow path on every system call of the host, plus the trampoline. It prints
// "attached" on stderr once both are attached and detaches them when stopped by SIGINT/SIGTERM.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "emptyprobe:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, tp := range []string{"sys_enter", "sys_exit"} {
		l, err := attachEmpty(tp)
		if err != nil {
			return err
		}
		defer func() { _ = l.Close() }()
	}
	fmt.Fprintln(os.Stderr, "attached")
	<-ctx.Done()
	return nil
}

// attachEmpty attaches a program that returns at once to the BTF-enabled tracepoint tp.
func attachEmpty(tp string) (link.Link, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "empty_" + tp,
		Type:         ebpf.Tracing,
		AttachType:   ebpf.AttachTraceRawTp,
		AttachTo:     tp,
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err != nil {
		return nil, fmt.Errorf("loading the empty %s program: %w", tp, err)
	}
	// The link holds its own reference to the program.
	defer func() { _ = prog.Close() }()
	l, err := link.AttachTracing(link.TracingOptions{Program: prog, AttachType: ebpf.AttachTraceRawTp})
	if err != nil {
		return nil, fmt.Errorf("attaching to %s: %w", tp, err)
	}
	return l, nil
}
