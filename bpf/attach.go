//go:build linux

package bpf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/swoll-dev/swoll/syscalls"
)

// AttachMode says where an object's system call programs attach.
type AttachMode uint8

const (
	// AttachAuto attaches per call when the selection names at most PerCallMax system calls and the kernel
	// has the tracepoints of each, else to the raw tracepoints.
	AttachAuto AttachMode = iota
	// AttachRaw attaches to the raw tracepoints sys_enter and sys_exit, which every system call of the host
	// runs: the programs look the call up in the selection.
	AttachRaw
	// AttachPerCall attaches to each selected call's own tracepoints (syscalls:sys_enter_<name> and
	// sys_exit_<name>), so that the calls that are not selected run no program; a selection it cannot attach
	// this way is an error.
	AttachPerCall
)

var attachModeNames = [...]string{AttachAuto: "auto", AttachRaw: "raw", AttachPerCall: "per-call"}

func (m AttachMode) String() string {
	if int(m) < len(attachModeNames) {
		return attachModeNames[m]
	}
	return "AttachMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseAttachMode reads a mode as String writes it ("" is auto).
func ParseAttachMode(s string) (AttachMode, error) {
	if s == "" {
		return AttachAuto, nil
	}
	for m, name := range attachModeNames {
		if s == name {
			return AttachMode(m), nil
		}
	}
	return 0, fmt.Errorf("unknown attach mode %q (want auto, raw or per-call)", s)
}

// PerCallMax is the most system calls AttachAuto attaches per call (make bench measures both ways). Per call,
// a call that is not selected costs the kernel's syscall tracepoint slow path and a bit test, where the raw
// tracepoints run a program for it; a selected call goes through perf's tracepoint path, which costs more than
// the raw tracepoint's; and each call takes two perf events and their attach time. A narrow selection, where
// most of a workload's calls are not selected, gains; a wide one would pay more for its selected calls than it
// saves. Measured (make bench, 2-core VM, load ~5, median of 7): a traced getppid costs 285 ns per call
// against 247 on the raw tracepoints, openat+close 979 against 918 (perf's path: ~20-40 ns more per selected
// call); a getppid that is not selected 77 ns against 102 (untraced 82), openat+close 573 against 596 (513).
const PerCallMax = 16

// tracepointNames are the other names under which a system call's tracepoints may exist: the kernel names them
// after the SYSCALL_DEFINE that implements the call, which for these is not the call's name.
var tracepointNames = map[string][]string{
	"stat":      {"newstat"},
	"lstat":     {"newlstat"},
	"fstat":     {"newfstat"},
	"uname":     {"newuname"},
	"sendfile":  {"sendfile64"},
	"umount2":   {"umount"},
	"fadvise64": {"fadvise64_64"},
}

// The system calls the per-call plan treats specially (the same names on every architecture).
const (
	callExecve   = "execve"
	callExecveat = "execveat"
	// After setns and unshare, which move the caller to other namespaces, the core forgets the caller's cached
	// filter decision (bpf/tasks.h): their exits are attached whatever the selection.
	callSetns   = "setns"
	callUnshare = "unshare"
)

// noReturn reports a call that never returns (its sys_exit never comes).
func noReturn(sc *syscalls.Syscall) bool { return sc.Name == "exit" || sc.Name == "exit_group" }

// PlanOptions say how to attach a selection.
type PlanOptions struct {
	Mode AttachMode
	// ExitOnly: the programs need a call's entry only where they count it there (exit, exit_group) or must
	// know it began (execveat, which a successful exec ends as execve): counting without latencies.
	ExitOnly bool
	// NoPerCall, when set, is why the programs cannot attach per call for this selection (as a kernel without
	// per-call programs): AttachAuto attaches to the raw tracepoints, AttachPerCall fails with it.
	NoPerCall error
}

// CallTracepoints are the tracepoints of one system call the programs attach to.
type CallTracepoints struct {
	Nr    int
	Event string // the tracepoints are syscalls:sys_enter_<Event> and syscalls:sys_exit_<Event>
	Enter bool
	Exit  bool
}

// Plan is how a selection attaches: to the raw tracepoints (Raw, with the reason in Why), or to the calls'
// own tracepoints.
type Plan struct {
	Raw bool
	// RawEnter: the raw plan attaches sys_enter too (always, unless PlanOptions.ExitOnly).
	RawEnter bool
	Why      string
	Calls    []CallTracepoints
	// Selected is how many system calls the selection names (0: all).
	Selected int
}

// String says how the plan attaches, for the agent's log.
func (p Plan) String() string {
	if p.Raw {
		return "raw tracepoints (" + p.Why + ")"
	}
	return fmt.Sprintf("per-call tracepoints (%d system calls, %d tracepoints)", p.Selected, p.tracepoints())
}

func (p Plan) tracepoints() int {
	n := 0
	for _, c := range p.Calls {
		if c.Enter {
			n++
		}
		if c.Exit {
			n++
		}
	}
	return n
}

// errNoTracepoints is a call the kernel has no tracepoints for.
var errNoTracepoints = errors.New("the kernel has no tracepoints for it")

// tracepointLookup says whether the tracepoints of a call exist by their name (os.ErrNotExist when not).
type tracepointLookup func(event string) error

// makePlan plans how to attach calls (empty: every call) of table, looking their tracepoints up with lookup;
// perCall says whether the object has per-call programs on this kernel (why not, when it has not).
func makePlan(calls []*syscalls.Syscall, table *syscalls.Table, opts PlanOptions, perCall error,
	lookup tracepointLookup) (Plan, error) {
	raw := func(why string) (Plan, error) {
		p := Plan{Raw: true, Why: why, Selected: len(calls), RawEnter: !opts.ExitOnly}
		if opts.ExitOnly {
			for _, sc := range calls {
				p.RawEnter = p.RawEnter || noReturn(sc) || sc.Name == callExecveat
			}
			if len(calls) == 0 {
				p.RawEnter = true
			}
		}
		return p, nil
	}
	switch {
	case opts.Mode == AttachRaw:
		return raw("asked for")
	case len(calls) == 0 && opts.Mode == AttachAuto:
		return raw("every system call")
	case len(calls) == 0:
		return Plan{}, errors.New("attaching per call: every system call is selected; name them")
	case len(calls) > PerCallMax && opts.Mode == AttachAuto:
		return raw(fmt.Sprintf("%d system calls selected, more than %d", len(calls), PerCallMax))
	case perCall != nil && opts.Mode == AttachAuto:
		return raw(perCall.Error())
	case perCall != nil:
		return Plan{}, fmt.Errorf("attaching per call: %w", perCall)
	}
	p := Plan{Selected: len(calls)}
	byEvent := map[string]int{}
	add := func(sc *syscalls.Syscall, enter, exit bool) error {
		event, err := findTracepoints(sc.Name, lookup)
		if err != nil {
			return fmt.Errorf("system call %s: %w", sc.Name, err)
		}
		i, ok := byEvent[event]
		if !ok {
			i = len(p.Calls)
			byEvent[event] = i
			p.Calls = append(p.Calls, CallTracepoints{Nr: sc.Nr, Event: event})
		}
		p.Calls[i].Enter = p.Calls[i].Enter || enter
		p.Calls[i].Exit = p.Calls[i].Exit || exit
		return nil
	}
	extra := func(name string) error {
		sc, ok := table.ByName(name)
		if !ok {
			return nil // not on this architecture
		}
		return add(sc, false, true)
	}
	var err error
	for _, sc := range calls {
		enter := !opts.ExitOnly || noReturn(sc) || sc.Name == callExecveat
		if err = add(sc, enter, !noReturn(sc)); err != nil {
			break
		}
		if sc.Name == callExecveat {
			// A successful execveat's exit runs the tracepoint of execve (the kernel finds the tracepoint by the
			// number in the registers, which the exec rewrote): the programs tell it by the call in flight.
			if err = extra(callExecve); err != nil {
				break
			}
		}
	}
	for _, name := range []string{callSetns, callUnshare} {
		if err == nil {
			err = extra(name)
		}
	}
	if err != nil {
		if opts.Mode == AttachAuto {
			return raw(err.Error())
		}
		return Plan{}, fmt.Errorf("attaching per call: %w", err)
	}
	return p, nil
}

// findTracepoints finds the name of the call's tracepoints.
func findTracepoints(name string, lookup tracepointLookup) (string, error) {
	for _, event := range append([]string{name}, tracepointNames[name]...) {
		err := lookup(event)
		if err == nil {
			return event, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	return "", errNoTracepoints
}

// HasCallTracepoints reports whether the kernel has the tracepoints of the system call name (under its name or
// its definition's), which attaching it per call needs.
func HasCallTracepoints(name string) (bool, error) {
	_, err := findTracepoints(name, kernelTracepoints)
	if errors.Is(err, errNoTracepoints) {
		return false, nil
	}
	return err == nil, err
}

// tracefsRoots are where the kernel's tracing file system may be mounted.
var tracefsRoots = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// kernelTracepoints says whether the kernel has the tracepoints syscalls:sys_enter_<event> and
// sys_exit_<event>: os.ErrNotExist when not, another error when there is no tracing file system to look in.
func kernelTracepoints(event string) error {
	var root string
	for _, r := range tracefsRoots {
		if _, err := os.Stat(filepath.Join(r, "events")); err == nil {
			root = r
			break
		}
	}
	if root == "" {
		return fmt.Errorf("no tracing file system at %s", strings.Join(tracefsRoots, " or "))
	}
	for _, dir := range []string{"sys_enter_", "sys_exit_"} {
		if _, err := os.Stat(filepath.Join(root, "events", "syscalls", dir+event)); err != nil {
			return err
		}
	}
	return nil
}

// Syscalls attaches an object's system call programs for a selection, and detaches them: the raw programs
// (sys_enter and sys_exit, as Choose kept them) or the per-call ones. Not safe for concurrent use.
type Syscalls struct {
	table    *syscalls.Table
	raw      [2]*ebpf.Program
	rawAt    [2]Attachment
	perCall  [2]*ebpf.Program
	links    []link.Link
	attached Plan
}

// NewSyscalls takes the system call programs among the attachments Choose returned for coll.
func NewSyscalls(coll *ebpf.Collection, attach []Attachment, table *syscalls.Table) (*Syscalls, error) {
	s := &Syscalls{table: table}
	for _, a := range attach {
		prog := coll.Programs[a.Program]
		switch a.Hook {
		case HookSysEnter:
			s.raw[0], s.rawAt[0] = prog, a
		case HookSysExit:
			s.raw[1], s.rawAt[1] = prog, a
		case HookCallEnter:
			s.perCall[0] = prog
		case HookCallExit:
			s.perCall[1] = prog
		}
	}
	if s.raw[0] == nil || s.raw[1] == nil {
		return nil, errors.New("the object's raw system call programs are not loaded")
	}
	return s, nil
}

// errNoPerCall is an object without per-call programs for this kernel.
var errNoPerCall = errors.New("the kernel lacks bpf_task_pt_regs (Linux 5.15), which the per-call programs need")

// IsSyscallHook reports the hooks of the programs Syscalls attaches.
func IsSyscallHook(hook string) bool {
	return hook == HookSysEnter || hook == HookSysExit || hook == HookCallEnter || hook == HookCallExit
}

// Plan plans how to attach calls (nil or empty: every call).
func (s *Syscalls) Plan(calls []*syscalls.Syscall, opts PlanOptions) (Plan, error) {
	var perCall error
	if s.perCall[0] == nil || s.perCall[1] == nil {
		perCall = errNoPerCall
	} else if opts.NoPerCall != nil {
		perCall = opts.NoPerCall
	}
	return makePlan(calls, s.table, opts, perCall, kernelTracepoints)
}

// Attach detaches what is attached and attaches as p says.
func (s *Syscalls) Attach(p Plan) error {
	if err := s.Detach(); err != nil {
		return err
	}
	if p.Raw {
		for i := range s.raw {
			if i == 0 && !p.RawEnter {
				continue
			}
			l, err := Attach(s.raw[i], s.rawAt[i])
			if err != nil {
				return errors.Join(fmt.Errorf("attaching %s to %s: %w", s.rawAt[i].Program, s.rawAt[i].Hook, err), s.Detach())
			}
			s.links = append(s.links, l)
		}
		s.attached = p
		return nil
	}
	for _, c := range p.Calls {
		for i, on := range []bool{c.Enter, c.Exit} {
			if !on {
				continue
			}
			event := "sys_enter_" + c.Event
			if i == 1 {
				event = "sys_exit_" + c.Event
			}
			l, err := link.Tracepoint("syscalls", event, s.perCall[i], nil)
			if err != nil {
				return errors.Join(fmt.Errorf("attaching to syscalls:%s: %w", event, err), s.Detach())
			}
			s.links = append(s.links, l)
		}
	}
	s.attached = p
	return nil
}

// Attached is the plan attached last.
func (s *Syscalls) Attached() Plan { return s.attached }

// Detach detaches every program. The links are closed all at once: the kernel waits for the tracepoints'
// readers (RCU grace periods) after each perf event it releases, which concurrent releases share (tens of
// milliseconds each one after the other: seconds for a few dozen calls).
func (s *Syscalls) Detach() error {
	errs := make([]error, len(s.links))
	var wg sync.WaitGroup
	for i, l := range s.links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.Close()
		}()
	}
	wg.Wait()
	s.links = nil
	s.attached = Plan{}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("detaching the system call programs: %w", err)
	}
	return nil
}
