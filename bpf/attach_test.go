//go:build linux

package bpf

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/internal/roottest"
	"github.com/swoll-dev/swoll/syscalls"
)

// fakeTracepoints are the tracepoints of a kernel with every call's tracepoints under the call's name but those
// listed as missing, and the aliases' of tracepointNames.
func fakeTracepoints(missing ...string) tracepointLookup {
	return func(event string) error {
		if slices.Contains(missing, event) {
			return fmt.Errorf("stat %s: %w", event, os.ErrNotExist)
		}
		for name := range tracepointNames {
			if event == name {
				return os.ErrNotExist // the kernel names this one otherwise
			}
		}
		return nil
	}
}

func describePlan(p Plan) string {
	if p.Raw {
		enter := ""
		if !p.RawEnter {
			enter = " exit only"
		}
		return "raw" + enter
	}
	var parts []string
	for _, c := range p.Calls {
		s := c.Event + ":"
		if c.Enter {
			s += "e"
		}
		if c.Exit {
			s += "x"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestMakePlan(t *testing.T) {
	table, err := syscalls.ForArch(syscalls.AMD64)
	if err != nil {
		t.Fatal(err)
	}
	many := make([]string, PerCallMax+1)
	for i := range many {
		many[i] = table.All()[i].Name
	}
	tests := []struct {
		name    string
		calls   []string
		opts    PlanOptions
		perCall error
		missing []string
		want    string // describePlan, or the error's text
		wantErr bool
	}{
		{name: "a narrow selection attaches per call, with setns and unshare's exits",
			calls: []string{"openat", "connect"},
			want:  "openat:ex connect:ex setns:x unshare:x"},
		{name: "every call attaches raw", want: "raw"},
		{name: "per call without naming the calls", opts: PlanOptions{Mode: AttachPerCall}, wantErr: true,
			want: "every system call is selected"},
		{name: "a wide selection attaches raw", calls: many, want: "raw"},
		{name: "a wide selection per call when asked", calls: many, opts: PlanOptions{Mode: AttachPerCall},
			want: strings.Join(func() []string {
				var out []string
				for _, n := range many {
					if alias, ok := tracepointNames[n]; ok {
						n = alias[0]
					}
					out = append(out, n+":ex")
				}
				return append(out, "setns:x", "unshare:x")
			}(), " ")},
		{name: "raw when asked", calls: []string{"openat"}, opts: PlanOptions{Mode: AttachRaw}, want: "raw"},
		{name: "a call without tracepoints: raw", calls: []string{"openat", "kexec_load"}, missing: []string{"kexec_load"},
			want: "raw"},
		{name: "a call without tracepoints, per call asked: an error", calls: []string{"kexec_load"},
			opts: PlanOptions{Mode: AttachPerCall}, missing: []string{"kexec_load"}, wantErr: true,
			want: "system call kexec_load: the kernel has no tracepoints for it"},
		{name: "no per-call programs: raw", calls: []string{"openat"}, perCall: errNoPerCall, want: "raw"},
		{name: "no per-call programs, per call asked: an error", calls: []string{"openat"}, perCall: errNoPerCall,
			opts: PlanOptions{Mode: AttachPerCall}, wantErr: true, want: "bpf_task_pt_regs"},
		{name: "calls under their definitions' names", calls: []string{"fstat", "uname", "umount2", "sendfile"},
			want: "newfstat:ex newuname:ex umount:ex sendfile64:ex setns:x unshare:x"},
		{name: "exit and exit_group never return", calls: []string{"exit_group", "exit"},
			want: "exit_group:e exit:e setns:x unshare:x"},
		{name: "execveat ends as execve", calls: []string{"execveat"}, want: "execveat:ex execve:x setns:x unshare:x"},
		{name: "execve and execveat", calls: []string{"execve", "execveat"}, want: "execve:ex execveat:ex setns:x unshare:x"},
		{name: "setns selected", calls: []string{"setns"}, want: "setns:ex unshare:x"},
		{name: "exits only, but what the entry must see", calls: []string{"openat", "exit_group", "execveat"},
			opts: PlanOptions{ExitOnly: true},
			want: "openat:x exit_group:e execveat:ex execve:x setns:x unshare:x"},
		{name: "raw, exits only: no sys_enter", calls: []string{"openat"}, opts: PlanOptions{Mode: AttachRaw, ExitOnly: true},
			want: "raw exit only"},
		{name: "raw, exits only, with exit_group: sys_enter too", calls: []string{"openat", "exit_group"},
			opts: PlanOptions{Mode: AttachRaw, ExitOnly: true}, want: "raw"},
		{name: "every call, exits only: sys_enter too", opts: PlanOptions{ExitOnly: true}, want: "raw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []*syscalls.Syscall
			for _, n := range tt.calls {
				sc, ok := table.ByName(n)
				if !ok {
					t.Fatalf("no call %s", n)
				}
				calls = append(calls, sc)
			}
			p, err := makePlan(calls, table, tt.opts, tt.perCall, fakeTracepoints(tt.missing...))
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want one saying %q (plan %s)", err, tt.want, describePlan(p))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := describePlan(p); got != tt.want {
				t.Errorf("plan %s, want %s", got, tt.want)
			}
			if p.Raw && p.Why == "" {
				t.Errorf("a raw plan without its reason")
			}
			if p.Selected != len(calls) {
				t.Errorf("plan says %d calls selected, want %d", p.Selected, len(calls))
			}
		})
	}
}

// A tracing file system that cannot be read is not a call without tracepoints: the error says so.
func TestFindTracepointsPassesErrorsOn(t *testing.T) {
	broken := errors.New("no tracing file system")
	_, err := findTracepoints("openat", func(string) error { return broken })
	if !errors.Is(err, broken) {
		t.Fatalf("error %v, want %v", err, broken)
	}
	_, err = findTracepoints("openat", func(string) error { return os.ErrNotExist })
	if !errors.Is(err, errNoTracepoints) {
		t.Fatalf("error %v, want %v", err, errNoTracepoints)
	}
}

func TestAttachModeNames(t *testing.T) {
	for _, m := range []AttachMode{AttachAuto, AttachRaw, AttachPerCall} {
		got, err := ParseAttachMode(m.String())
		if err != nil || got != m {
			t.Errorf("round trip of %s: %s, %v", m, got, err)
		}
	}
	if m, err := ParseAttachMode(""); err != nil || m != AttachAuto {
		t.Errorf(`ParseAttachMode("") = %s, %v`, m, err)
	}
	if _, err := ParseAttachMode("fentry"); err == nil {
		t.Error("ParseAttachMode accepted fentry")
	}
}

// The kernel's syscall tracepoints: every call swoll traces most finds its own, under its name or the name of
// its definition (tracepointNames); the others are listed.
func TestKernelTracepoints(t *testing.T) {
	roottest.Require(t) // the tracing file system is root's
	if err := kernelTracepoints("openat"); err != nil {
		t.Fatal(err)
	}
	var missing []string
	found := map[string]bool{}
	for _, sc := range syscalls.Native().All() {
		if _, err := findTracepoints(sc.Name, kernelTracepoints); err != nil {
			if !errors.Is(err, errNoTracepoints) {
				t.Fatal(err)
			}
			missing = append(missing, sc.Name)
			continue
		}
		found[sc.Name] = true
	}
	t.Logf("calls without tracepoints on this kernel: %v", missing)
	for _, name := range []string{"openat", "close", "read", "write", "connect", "execve", "execveat", "clone",
		"exit_group", "setns", "unshare", "fstat", "uname", "umount2", "sendfile", "getppid"} {
		if !found[name] {
			t.Errorf("no tracepoints found for %s", name)
		}
	}
}
