//go:build linux

package bpf

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
)

// Features are the optional kernel features the programs use where the kernel has them (variant.h's F_* set).
// Each has a fallback that behaves the same.
type Features uint8

const (
	// TpBTF: programs attach as tp_btf and read the tracepoints' arguments with plain loads; else as raw
	// tracepoints, with CO-RE probe reads.
	TpBTF Features = 1 << iota
	// TaskStorage: per-task state in task-local storage (Linux 5.11), found from the task; else in hashes keyed
	// by the task's address, emptied when the task exits (20-25% more per traced call).
	TaskStorage
	// Loop: bpf_loop (5.17) walks execve's argv; else a bounded loop the verifier unrolls. Its variants also use
	// task storage.
	Loop
	// PtRegs: bpf_task_pt_regs (5.15) gives the probe's per-call programs a call's registers; without it the
	// probe attaches only to the raw tracepoints (counting mode needs no registers). With task storage only.
	PtRegs

	// AllFeatures is every feature.
	AllFeatures = TpBTF | TaskStorage | Loop | PtRegs
)

var featureNames = []struct {
	f    Features
	name string
}{{TpBTF, "tp_btf"}, {TaskStorage, "task_storage"}, {Loop, "bpf_loop"}, {PtRegs, "task_pt_regs"}}

// String lists the features, "+"-separated ("none" for none).
func (f Features) String() string {
	var names []string
	for _, n := range featureNames {
		if f&n.f != 0 {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "+")
}

// ParseFeatures reads a comma-separated list of feature names (as String writes them).
func ParseFeatures(list string) (Features, error) {
	var f Features
	for _, name := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == '+' }) {
		found := false
		for _, n := range featureNames {
			if n.name == name {
				f |= n.f
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown kernel feature %q (want tp_btf, task_storage, bpf_loop, task_pt_regs)", name)
		}
	}
	return f, nil
}

// Usable is f without what cannot be used alone: bpf_loop and bpf_task_pt_regs without task storage.
func (f Features) Usable() Features {
	if f&TaskStorage == 0 {
		f &^= Loop | PtRegs
	}
	return f
}

var kernelOnce = sync.OnceValue(func() Features {
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; a refusal shows in the probes below.
	_ = rlimit.RemoveMemlock()
	var f Features
	if haveTpBTF() {
		f |= TpBTF
	}
	// bpf_get_current_task_btf came with task storage (5.11); the programs need both.
	if features.HaveMapType(ebpf.TaskStorage) == nil &&
		features.HaveProgramHelper(ebpf.RawTracepoint, asm.FnGetCurrentTaskBtf) == nil {
		f |= TaskStorage
	}
	if features.HaveProgramHelper(ebpf.RawTracepoint, asm.FnLoop) == nil {
		f |= Loop
	}
	if features.HaveProgramHelper(ebpf.TracePoint, asm.FnTaskPtRegs) == nil {
		f |= PtRegs
	}
	return f.Usable()
})

// KernelFeatures reports which optional features this kernel has, probed once per process: both programs
// choose their variants from it (Choose), so that nothing is loaded only to fail.
func KernelFeatures() Features { return kernelOnce() }

// haveTpBTF loads a program that returns at once as a tp_btf program of sys_enter (which needs the kernel's
// BTF and BTF-enabled tracepoints, 5.5).
func haveTpBTF() bool {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "swoll_tp_btf",
		Type:         ebpf.Tracing,
		AttachType:   ebpf.AttachTraceRawTp,
		AttachTo:     HookSysEnter,
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err != nil {
		return false
	}
	_ = prog.Close()
	return true
}

// The tracepoints the programs attach to.
const (
	HookSysEnter = "sys_enter"
	HookSysExit  = "sys_exit"
	HookTaskExit = "sched_process_exit"
	HookTaskExec = "sched_process_exec"
	HookTaskFork = "sched_process_fork"
	// HookCgroupMove: a task moved to another cgroup (the filter's decisions are made again: bpf/filter.h).
	HookCgroupMove = "cgroup_attach_task"
	// HookCallEnter and HookCallExit are the per-call programs' (F_SC in bpf/variant.h): Syscalls attaches them
	// to the tracepoints syscalls:sys_enter_<call> and sys_exit_<call> of each selected call.
	HookCallEnter = "syscalls/sys_enter"
	HookCallExit  = "syscalls/sys_exit"
	hookNone      = "" // an iterator user space runs, not attached to a tracepoint
)

// Program is one program of an object: its name (bpf2go's constant), the tracepoint it attaches to, and the
// variant it was built for: Built is the set of features it assumes out of Varies, the features whose
// presence picks between its variants (the f of its definition in the C source).
type Program struct {
	Name   string
	Hook   string
	Built  Features
	Varies Features
}

const (
	enterVaries = TpBTF | TaskStorage | Loop // the probe's sys_enter also comes with bpf_loop
	stateVaries = TpBTF | TaskStorage        // programs that read a task's state
	attachOnly  = TpBTF                      // programs that read no per-task state
	// The per-call programs attach to perf's syscall tracepoints whatever the kernel's tp_btf. The probe's need
	// bpf_task_pt_regs (which comes after task storage), counting mode's do not.
	probeCallEnterVaries = TaskStorage | Loop | PtRegs
	probeCallExitVaries  = TaskStorage | PtRegs
	callVaries           = TaskStorage
)

// ProbeVariants are probe.c's programs.
var ProbeVariants = []Program{
	{ProbeProgBtfSysEnter, HookSysEnter, TpBTF | TaskStorage | Loop, enterVaries},
	{ProbeProgBtfSysEnterTs, HookSysEnter, TpBTF | TaskStorage, enterVaries},
	{ProbeProgBtfSysEnterHash, HookSysEnter, TpBTF, enterVaries},
	{ProbeProgRawSysEnter, HookSysEnter, TaskStorage | Loop, enterVaries},
	{ProbeProgRawSysEnterTs, HookSysEnter, TaskStorage, enterVaries},
	{ProbeProgRawSysEnterHash, HookSysEnter, 0, enterVaries},
	{ProbeProgBtfSysExit, HookSysExit, TpBTF | TaskStorage, stateVaries},
	{ProbeProgBtfSysExitHash, HookSysExit, TpBTF, stateVaries},
	{ProbeProgRawSysExit, HookSysExit, TaskStorage, stateVaries},
	{ProbeProgRawSysExitHash, HookSysExit, 0, stateVaries},
	{ProbeProgScSysEnter, HookCallEnter, TaskStorage | Loop | PtRegs, probeCallEnterVaries},
	{ProbeProgScSysEnterTs, HookCallEnter, TaskStorage | PtRegs, probeCallEnterVaries},
	{ProbeProgScSysExit, HookCallExit, TaskStorage | PtRegs, probeCallExitVaries},
	{ProbeProgBtfExit, HookTaskExit, TpBTF | TaskStorage, stateVaries},
	{ProbeProgBtfExitHash, HookTaskExit, TpBTF, stateVaries},
	{ProbeProgRawExit, HookTaskExit, TaskStorage, stateVaries},
	{ProbeProgRawExitHash, HookTaskExit, 0, stateVaries},
	{ProbeProgBtfExec, HookTaskExec, TpBTF | TaskStorage, stateVaries},
	{ProbeProgBtfExecHash, HookTaskExec, TpBTF, stateVaries},
	{ProbeProgRawExec, HookTaskExec, TaskStorage, stateVaries},
	{ProbeProgRawExecHash, HookTaskExec, 0, stateVaries},
	{ProbeProgBtfFork, HookTaskFork, TpBTF, attachOnly},
	{ProbeProgRawFork, HookTaskFork, 0, attachOnly},
	{ProbeProgBtfCgroupMove, HookCgroupMove, TpBTF, attachOnly},
	{ProbeProgRawCgroupMove, HookCgroupMove, 0, attachOnly},
	{ProbeProgMntIds, hookNone, 0, 0},
}

// CountVariants are count.c's programs. With task storage nothing runs at a task's exit. At an exec, a
// pre-exec process's tasks decide again (bpf/filter.h).
var CountVariants = []Program{
	{CountProgBtfSysEnter, HookSysEnter, TpBTF | TaskStorage, stateVaries},
	{CountProgBtfSysEnterHash, HookSysEnter, TpBTF, stateVaries},
	{CountProgRawSysEnter, HookSysEnter, TaskStorage, stateVaries},
	{CountProgRawSysEnterHash, HookSysEnter, 0, stateVaries},
	{CountProgBtfSysExit, HookSysExit, TpBTF | TaskStorage, stateVaries},
	{CountProgBtfSysExitHash, HookSysExit, TpBTF, stateVaries},
	{CountProgRawSysExit, HookSysExit, TaskStorage, stateVaries},
	{CountProgRawSysExitHash, HookSysExit, 0, stateVaries},
	{CountProgScSysEnter, HookCallEnter, TaskStorage, callVaries},
	{CountProgScSysEnterHash, HookCallEnter, 0, callVaries},
	{CountProgScSysExit, HookCallExit, TaskStorage, callVaries},
	{CountProgScSysExitHash, HookCallExit, 0, callVaries},
	{CountProgBtfExitHash, HookTaskExit, TpBTF, stateVaries},
	{CountProgRawExitHash, HookTaskExit, 0, stateVaries},
	{CountProgBtfExec, HookTaskExec, TpBTF | TaskStorage, stateVaries},
	{CountProgBtfExecHash, HookTaskExec, TpBTF, stateVaries},
	{CountProgRawExec, HookTaskExec, TaskStorage, stateVaries},
	{CountProgRawExecHash, HookTaskExec, 0, stateVaries},
}

// FilterSection is the data section of bpf/filter.h's state (filter_mode, filter_gen, cgroup_moves, pre_exec_on,
// cgroup_hierarchy, cgroup_levels).
const FilterSection = ".data.filter"

// FilterMaps are the maps bpf/filter.h declares: an object that includes it shares the probe's filter by
// loading with the probe's maps of these names in place of its own (ebpf.CollectionOptions.MapReplacements).
var FilterMaps = []string{ProbeMapMntTargets, ProbeMapPidTargets, ProbeMapCgroupTargets, ProbeMapPreExec, FilterSection}

// Attachment is a program Choose kept and where it attaches.
type Attachment struct {
	Program string
	Hook    string // "" for an iterator, which is not attached
	BTF     bool   // as tp_btf; else as a raw tracepoint (the per-call hooks: see Syscalls)
}

// Choose keeps in spec the variant of each of progs' programs built for the features f (see Program) and
// deletes the others, with the maps only they use; it returns where the kept programs attach. Every program of
// progs must be in spec, and no tracepoint may get two programs.
func Choose(spec *ebpf.CollectionSpec, progs []Program, f Features) ([]Attachment, error) {
	f = f.Usable()
	var out []Attachment
	hooks := map[string]string{}
	listed := map[string]bool{}
	for _, p := range progs {
		if _, ok := spec.Programs[p.Name]; !ok {
			return nil, fmt.Errorf("program %s is not in the object", p.Name)
		}
		listed[p.Name] = true
		if f&p.Varies != p.Built {
			delete(spec.Programs, p.Name)
			continue
		}
		if p.Hook == hookNone {
			continue
		}
		if other, ok := hooks[p.Hook]; ok {
			return nil, fmt.Errorf("features %s: programs %s and %s both attach to %s", f, other, p.Name, p.Hook)
		}
		hooks[p.Hook] = p.Name
		out = append(out, Attachment{Program: p.Name, Hook: p.Hook, BTF: p.Built&TpBTF != 0})
	}
	for name := range spec.Programs {
		if !listed[name] {
			return nil, fmt.Errorf("program %s of the object is not listed with its variant", name)
		}
	}
	for _, hook := range []string{HookSysEnter, HookSysExit} {
		if _, ok := hooks[hook]; !ok {
			return nil, fmt.Errorf("features %s: no program for %s", f, hook)
		}
	}
	used := map[string]bool{}
	for _, p := range spec.Programs {
		for _, ins := range p.Instructions {
			if ins.IsLoadFromMap() && ins.Reference() != "" {
				used[ins.Reference()] = true
			}
		}
	}
	for name := range spec.Maps {
		if !used[name] && !strings.HasPrefix(name, ".") {
			delete(spec.Maps, name)
		}
	}
	return out, nil
}

// Attach attaches a program as Choose said.
func Attach(prog *ebpf.Program, a Attachment) (link.Link, error) {
	if prog == nil {
		return nil, errors.New("attaching " + a.Program + ": not loaded")
	}
	if a.BTF {
		return link.AttachTracing(link.TracingOptions{Program: prog, AttachType: ebpf.AttachTraceRawTp})
	}
	return link.AttachRawTracepoint(link.RawTracepointOptions{Name: a.Hook, Program: prog})
}
