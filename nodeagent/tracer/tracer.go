//go:build linux

// Package tracer loads swoll's kernel probe (package bpf), programs its filters and reads the events it
// emits. It is the only package of the agent that talks to the kernel's BPF subsystem.
//
// Filtering happens in the kernel. Select attaches the system call programs (package bpf, Syscalls): for a
// narrow selection (bpf.PerCallMax calls or fewer) to each selected call's own tracepoints, so that the other
// calls run no program at all; else to the raw sys_enter/sys_exit tracepoints, where a syscall that is not
// selected costs one array lookup (Options.Attach forces either way). A selected syscall looks up its task's
// state, which keeps the filter's decision for the task. Records of untraced tasks and
// syscalls never reach user space. Targets are cgroups (AddCgroup: every process of a pod, from its first
// call, whichever the host's cgroup layout: SetCgroupHierarchy), mount namespaces (AddMountNS, see package
// nsid: containers found running, where no cgroup can be read), process trees (AddPid) or everything
// (TraceAll). Each record carries its task's own cgroup (record.Record.Cgroup), which names its container.
//
// Per-call state lives in task-local storage (it follows a task through a multithreaded execve and goes away
// with it, even after exit_group, which never returns). Records without captures are reserved in the ring at
// their exact size; records with captures are built in a per-CPU buffer and copied. The probe wakes the reader
// only once 64 KiB are pending, and Read polls every 50 ms, so slow streams still flow.
//
// Kernel requirements: BTF, ring buffer and task iterators (5.8). What newer kernels add is used where the
// kernel has it, chosen at load time from the features probed once (package bpf, shared with counting mode):
// tp_btf (before it, raw tracepoints), task-local storage (5.11; before it, hashes keyed by the task),
// bpf_task_pt_regs (5.15; before it, no per-call attachment), bpf_loop (5.17; before it, a bounded loop for
// execve's argv); and unique mount namespace ids
// (NS_GET_MNTNS_ID; before it, the probe's mnt_ids iterator translates inode numbers). Every variant writes
// the same records.
//
// The filter's decision for a task is cached in the task's state until the filter changes: every change of
// targets or mode bumps the filter's generation (see bpf/filter.h).
//
// With Options.Stacks each record carries its call's user stack (and the kernel's) as a capture: bpf/stack.h
// says where it is taken and what it costs; nothing of it runs without.
//
// The incident filters (Options.Calls: --failed, --errno, --slower-than, -P, --comm, --container-pid) are decided
// at each call's exit, before its record is reserved (bpf/exitfilter.h); what they drop is counted (Filtered),
// apart from Lost; a record's stack is taken only after they kept the call. With -y the probe resolves what each
// fd argument was as the call began and what each returned fd is (bpf/fdpath.h), and records carry it
// (record.Record.Fds).
//
// Limitations: 32-bit compat system calls are skipped on amd64 (their numbers mean other calls); on arm64,
// AArch32 tasks are not told apart and their calls would be decoded with the arm64 table. A per-CPU buffer
// garbled by a preempting writer (possible on fully preemptible kernels) is detected and counted as lost.
package tracer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"

	"github.com/swoll-dev/swoll/bpf"
	"github.com/swoll-dev/swoll/callfilter"
	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/nodeagent/nsid"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/syscalls"
)

const (
	defaultRingBytes = 8 << 20
	// wakeBytes: the probe wakes the reader only once this much is pending, so that a caught-up reader does
	// not cost the traced program a wakeup per call. pollInterval bounds the latency of slower streams.
	wakeBytes    = 64 << 10
	pollInterval = 50 * time.Millisecond
	// batchRecords: how many records Read hands out between two looks at its context.
	batchRecords = 4096
)

// Filter modes, as bpf/filter.h's enum filter_mode.
const (
	modeAll    uint32 = 1
	modeMnt    uint32 = 2
	modePid    uint32 = 4
	modeCgroup uint32 = 8
)

// MaxCgroupLevel is the deepest a cgroup target may sit (bpf/cgroup.h's CGROUP_LEVELS - 1; the root is at 0).
const MaxCgroupLevel = 15

// cgroupHierarchies are the hierarchies SetCgroupHierarchy takes, as bpf/cgroup.h's enum cgroup_hierarchy: ""
// for the unified one, else a v1 controller, by the name /proc/cgroups gives it.
var cgroupHierarchies = map[string]bpf.ProbeCgroupHierarchy{
	"":           bpf.ProbeCgroupHierarchyCGH_UNIFIED,
	"cpuset":     bpf.ProbeCgroupHierarchyCGH_CPUSET,
	"cpu":        bpf.ProbeCgroupHierarchyCGH_CPU,
	"cpuacct":    bpf.ProbeCgroupHierarchyCGH_CPUACCT,
	"blkio":      bpf.ProbeCgroupHierarchyCGH_BLKIO,
	"memory":     bpf.ProbeCgroupHierarchyCGH_MEMORY,
	"devices":    bpf.ProbeCgroupHierarchyCGH_DEVICES,
	"freezer":    bpf.ProbeCgroupHierarchyCGH_FREEZER,
	"net_cls":    bpf.ProbeCgroupHierarchyCGH_NET_CLS,
	"perf_event": bpf.ProbeCgroupHierarchyCGH_PERF_EVENT,
	"net_prio":   bpf.ProbeCgroupHierarchyCGH_NET_PRIO,
	"hugetlb":    bpf.ProbeCgroupHierarchyCGH_HUGETLB,
	"pids":       bpf.ProbeCgroupHierarchyCGH_PIDS,
	"rdma":       bpf.ProbeCgroupHierarchyCGH_RDMA,
	"misc":       bpf.ProbeCgroupHierarchyCGH_MISC,
}

// Options configure a Tracer.
type Options struct {
	// RingBytes is the ring buffer size (a power of two, multiple of the page size). 0: 8 MiB (the reader maps
	// it twice, so it counts twice in the agent's RSS; 8 MiB absorbs 100+ ms of a 500k calls/s burst).
	RingBytes int
	// Arch selects the syscall table (default: the running GOARCH).
	Arch syscalls.Arch
	// Without turns off features the kernel has, to run the fallbacks of older kernels (tests, bench; TpBTF:
	// the raw tracepoint programs).
	Without Features
	// CaptureData is how many bytes of the data that read, write, send and recv family calls transfer are
	// copied (--capture-data); 0, the default, copies none: they may hold secrets.
	CaptureData int
	// FilterOnly attaches only what keeps the container filter current (fork and exit tracking), not the
	// syscall programs: for counting mode (package countprobe), which shares the filter (FilterMaps).
	FilterOnly bool
	// Calls are the incident filters decided in the kernel at each call's exit (what they drop is counted:
	// Filtered) and -y's fd display (records carry what each fd is); the zero Spec keeps every call.
	Calls callfilter.Spec
	// Stacks has each record carry the user-space stack of its call (trace -k), and with Kernel the kernel's
	// too (-kk): see bpf/stack.h for where they are taken and what they cost.
	Stacks Stacks
	// Attach says where the system call programs attach (Select attaches them): by default per call for a
	// narrow selection, else to the raw tracepoints (bpf.AttachAuto).
	Attach bpf.AttachMode
}

// MaxStackDepth is the most frames a record's stack keeps (the kernel's default kernel.perf_event_max_stack);
// DefaultStackDepth is what trace -k keeps: deep enough for the handlers of a Go or Java server, and half the
// walk (and the record's bytes) of the most.
const (
	MaxStackDepth     = 127
	DefaultStackDepth = 64
)

// Stacks says which stacks records carry.
type Stacks struct {
	// Depth is how many frames of the user stack a record keeps, innermost first (0: no stacks; at most
	// MaxStackDepth); a deeper stack is cut there and marked truncated.
	Depth int
	// Kernel adds the kernel's stack, as deep.
	Kernel bool
}

// Tracer owns the loaded programs and maps. Close detaches everything.
type Tracer struct {
	table      *syscalls.Table
	dataBytes  uint16
	coll       *ebpf.Collection
	links      []link.Link
	ring       *ringReader
	filterMode *ebpf.Variable // the probe's filter_mode, memory-mapped
	filterGen  *ebpf.Variable // filter_gen: tasks' cached decisions hold while it does
	preExecOn  *ebpf.Variable // pre_exec_on: the probe keeps which processes are pre-exec
	cgroupHier *ebpf.Variable // cgroup_hierarchy
	cgroupLvls *ebpf.Variable // cgroup_levels: the depths cgroup targets sit at
	sysCfgs    *ebpf.Map
	mntTargets *ebpf.Map
	pidTargets *ebpf.Map
	cgTargets  *ebpf.Map
	lost       *ebpf.Map
	filtered   *ebpf.Map // calls the incident filters dropped (bpf/exitfilter.h)
	lostCalls  *ebpf.Map
	mntIter    *ebpf.Program
	features   Features
	filterOnly bool
	stacks     Stacks
	attachMode bpf.AttachMode
	syscalls   *bpf.Syscalls // attaches the system call programs (nil with FilterOnly)

	// byInode: callers identify mount namespaces by inode number (no NS_GET_MNTNS_ID); the filter holds the
	// probe's id of each (see mntIDs), and kernelIDs maps one to the other.
	byInode   bool
	kernelIDs map[uint64]uint64

	mu      sync.Mutex // guards the target counts and the filter's state
	mnts    int
	pids    int
	all     bool
	gen     uint32
	cgroups map[uint64]int          // cgroup target id -> its level
	atLevel [MaxCgroupLevel + 1]int // cgroup targets per level

	// Read's reused buffers: reading a record allocates nothing.
	readMu     sync.Mutex
	rec        record.Record
	badRecords atomic.Uint64
}

// AttachType says which program type is attached: "tp_btf" or "raw_tracepoint".
func (t *Tracer) AttachType() string {
	if t.features&TpBTF != 0 {
		return "tp_btf"
	}
	return "raw_tracepoint"
}

// Features says which optional kernel features the loaded probe uses.
func (t *Tracer) Features() Features { return t.features }

// New loads and attaches the probe. Nothing is traced until Select and a target are set.
func New(opts Options) (*Tracer, error) {
	arch := opts.Arch
	if arch == "" {
		arch = syscalls.Arch(runtime.GOARCH)
	}
	if string(arch) != runtime.GOARCH {
		return nil, fmt.Errorf("tracing %s system calls from a %s agent is not supported", arch, runtime.GOARCH)
	}
	table, err := syscalls.ForArch(arch)
	if err != nil {
		return nil, err
	}
	ring := opts.RingBytes
	if ring == 0 {
		ring = defaultRingBytes
	}
	if ring < os.Getpagesize() || ring&(ring-1) != 0 {
		return nil, fmt.Errorf("ring buffer size %d is not a power of two of at least a page", ring)
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; newer ones to the cgroup, and raising the
	// limit may be refused (unprivileged container, VM): not fatal.
	_ = rlimit.RemoveMemlock()

	if opts.CaptureData < 0 || opts.CaptureData > syscalls.MaxDataBytes {
		return nil, fmt.Errorf("capture data size %d is out of range (0 to %d bytes)", opts.CaptureData, syscalls.MaxDataBytes)
	}
	if opts.Stacks.Depth < 0 || opts.Stacks.Depth > MaxStackDepth || opts.Stacks.Kernel && opts.Stacks.Depth == 0 {
		return nil, fmt.Errorf("stack depth %d is out of range (1 to %d frames, or 0 without kernel stacks)", opts.Stacks.Depth, MaxStackDepth)
	}
	t := &Tracer{table: table, dataBytes: uint16(opts.CaptureData), filterOnly: opts.FilterOnly, gen: 1,
		features: (bpf.KernelFeatures() &^ opts.Without).Usable(), stacks: opts.Stacks, cgroups: map[uint64]int{},
		attachMode: opts.Attach}
	if err := t.load(ring, opts.Calls); err != nil {
		_ = t.Close()
		return nil, fmt.Errorf("loading the probe (%s): %w", t.features, err)
	}
	return t, nil
}

func (t *Tracer) load(ring int, calls callfilter.Spec) error {
	spec, err := bpf.LoadProbe()
	if err != nil {
		return fmt.Errorf("reading the embedded probe: %w", err)
	}
	attach, err := bpf.Choose(spec, bpf.ProbeVariants, t.features)
	if err != nil {
		return err
	}
	cf, err := bpf.NewCallFilter(calls, t.table)
	if err != nil {
		return err
	}
	if err := cf.Prepare(spec); err != nil {
		return err
	}
	spec.Maps[bpf.ProbeMapEvents].MaxEntries = uint32(ring)
	t.byInode = !nsid.HasUniqueIDs()
	t.kernelIDs = map[uint64]uint64{}
	if err := spec.Variables[bpf.ProbeVarWakeBytes].Set(uint32(min(wakeBytes, ring/4))); err != nil {
		return fmt.Errorf("setting wake_bytes: %w", err)
	}
	kernelDepth := 0
	if t.stacks.Kernel {
		kernelDepth = t.stacks.Depth
	}
	if err := spec.Variables[bpf.ProbeVarStackUserDepth].Set(uint32(t.stacks.Depth)); err != nil {
		return fmt.Errorf("setting stack_user_depth: %w", err)
	}
	if err := spec.Variables[bpf.ProbeVarStackKernelDepth].Set(uint32(kernelDepth)); err != nil {
		return fmt.Errorf("setting stack_kernel_depth: %w", err)
	}

	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return fmt.Errorf("the kernel's verifier rejected the probe: %w", ve)
		}
		return fmt.Errorf("loading the probe into the kernel: %w", err)
	}
	t.coll = coll
	t.sysCfgs = coll.Maps[bpf.ProbeMapSysCfgs]
	t.mntTargets = coll.Maps[bpf.ProbeMapMntTargets]
	t.pidTargets = coll.Maps[bpf.ProbeMapPidTargets]
	t.cgTargets = coll.Maps[bpf.ProbeMapCgroupTargets]
	t.lost = coll.Maps[bpf.ProbeMapLost]
	t.filtered = coll.Maps[bpf.MapFiltered]
	if err := cf.Fill(coll); err != nil {
		return err
	}
	t.lostCalls = coll.Maps[bpf.ProbeMapLostCalls]
	t.preExecOn = coll.Variables[bpf.ProbeVarPreExecOn]
	t.filterMode = coll.Variables[bpf.ProbeVarFilterMode]
	t.filterGen = coll.Variables[bpf.ProbeVarFilterGen]
	t.cgroupHier = coll.Variables[bpf.ProbeVarCgroupHierarchy]
	t.cgroupLvls = coll.Variables[bpf.ProbeVarCgroupLevels]
	t.mntIter = coll.Programs[bpf.ProbeProgMntIds]

	if !t.filterOnly {
		if t.syscalls, err = bpf.NewSyscalls(coll, attach, t.table); err != nil {
			return err
		}
	}
	for _, a := range attach {
		if a.Hook == "" || bpf.IsSyscallHook(a.Hook) {
			continue
		}
		l, err := bpf.Attach(coll.Programs[a.Program], a)
		if err != nil {
			return fmt.Errorf("attaching %s to %s: %w", a.Program, a.Hook, err)
		}
		t.links = append(t.links, l)
	}

	for req, spec := range syscalls.IoctlArgs(t.table.Arch()) {
		if size := uint32(spec.Size()); size > 0 {
			if err := coll.Maps[bpf.ProbeMapIoctlSizes].Update(uint32(req), size, ebpf.UpdateAny); err != nil {
				return fmt.Errorf("programming the ioctl requests: %w", err)
			}
		}
	}
	t.ring, err = newRing(coll.Maps[bpf.ProbeMapEvents])
	if err != nil {
		return fmt.Errorf("opening the ring buffer: %w", err)
	}
	return nil
}

// errKernelStacksRaw: a syscall tracepoint's program is given the call's user-space registers, from which the
// kernel's stack cannot be walked (6.1 gives none), so -kk attaches to the raw tracepoints.
var errKernelStacksRaw = errors.New("kernel stacks (-kk) are taken on the raw tracepoints: a system call's own tracepoint gives its program the user-space registers")

// Select sets the syscalls to trace (nil or empty: all), with the per-argument capture specs from the table,
// and attaches the system call programs where Options.Attach says (Attached tells).
func (t *Tracer) Select(calls []*syscalls.Syscall) error {
	calls = slices.DeleteFunc(slices.Clone(calls), func(sc *syscalls.Syscall) bool { return sc == nil })
	plan := bpf.Plan{Raw: true}
	if t.syscalls != nil {
		var err error
		po := bpf.PlanOptions{Mode: t.attachMode}
		if t.stacks.Kernel {
			po.NoPerCall = errKernelStacksRaw
		}
		if plan, err = t.syscalls.Plan(calls, po); err != nil {
			return err
		}
	}
	if len(calls) == 0 {
		calls = t.table.All()
	}
	cfgs := make([]bpf.ProbeSysCfg, t.sysCfgs.MaxEntries())
	for _, sc := range calls {
		if sc.Nr < 0 || sc.Nr >= len(cfgs) {
			return fmt.Errorf("system call %s: number %d is beyond the probe's table (%d)", sc.Name, sc.Nr, len(cfgs))
		}
		cfgs[sc.Nr] = KernelConfig(sc, t.dataBytes)
	}
	for nr := range cfgs {
		if err := t.sysCfgs.Update(uint32(nr), &cfgs[nr], ebpf.UpdateAny); err != nil {
			return fmt.Errorf("programming system call %d: %w", nr, err)
		}
	}
	if t.syscalls == nil {
		return nil
	}
	return t.syscalls.Attach(plan)
}

// Attached says where the system call programs are attached (after Select): the raw tracepoints, or each
// selected call's own.
func (t *Tracer) Attached() bpf.Plan {
	if t.syscalls == nil {
		return bpf.Plan{}
	}
	return t.syscalls.Attached()
}

// Capture flags, as bpf/probe.c's enum arg_flags.
const (
	argLenFromRet = 1
	argLenIsPtr   = 2
	argAtEntry    = 4
	argFixed      = 8
	argIoctl      = 16
)

// KernelConfig is the probe's configuration of a selected system call: which arguments to copy from user
// memory, how much, and when (syscalls.Syscall.Capture). dataBytes is how much of read/write data to copy
// (0: none).
func KernelConfig(sc *syscalls.Syscall, dataBytes uint16) bpf.ProbeSysCfg {
	cfg := bpf.ProbeSysCfg{Selected: 1}
	if sc.Name == "exit" || sc.Name == "exit_group" {
		cfg.NoReturn = 1
	}
	for i := range min(len(sc.Params), len(cfg.Args)) {
		c := sc.Capture(i)
		if c.Kind == syscalls.CaptureNone {
			continue
		}
		if c.Data {
			if dataBytes == 0 && c.Kind == syscalls.CaptureBuf {
				continue
			}
			c.Max = dataBytes // iovec and msghdr captures copy their structs without it
		}
		a := &cfg.Args[i]
		a.Kind = uint8(c.Kind)
		a.LenArg = c.LenArg
		a.Max = c.Max
		a.Shift = c.Shift
		a.Elem = c.Elem
		if c.Ioctl {
			a.Flags |= argIoctl
		}
		if c.Fixed {
			a.Flags |= argFixed
		}
		if c.LenFromRet {
			a.Flags |= argLenFromRet
		}
		if c.LenIsPtr {
			a.Flags |= argLenIsPtr
		}
		if c.AtEntry {
			a.Flags |= argAtEntry
			cfg.EntryCaps = 1
			if c.Kind == syscalls.CaptureStrArray {
				cfg.ArgvArg = uint8(i + 1)
			}
		} else {
			cfg.ExitCaps = 1
			if c.Kind == syscalls.CaptureIovec || c.Kind == syscalls.CaptureMsghdr {
				cfg.IovArg = uint8(i + 1)
			}
		}
	}
	return cfg
}

// AddMountNS traces every task whose mount namespace has the given unique id (see nsid.MountNSID), tagging
// its records with targetID (non-zero).
func (t *Tracer) AddMountNS(nsID uint64, targetID uint32) error {
	if targetID == 0 {
		return errors.New("adding a mount namespace: target id 0 is reserved for trace-all")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	key, err := t.kernelMountID(nsID)
	if err != nil {
		return err
	}
	var old uint32
	exists := t.mntTargets.Lookup(key, &old) == nil
	if err := t.mntTargets.Update(key, targetID, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("adding mount namespace %d: %w", nsID, err)
	}
	if !exists {
		t.mnts++
	}
	return t.filterChanged()
}

// RemoveMountNS stops tracing a mount namespace.
func (t *Tracer) RemoveMountNS(nsID uint64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := nsID
	if t.byInode {
		var ok bool
		if key, ok = t.kernelIDs[nsID]; !ok {
			return nil
		}
		delete(t.kernelIDs, nsID)
	}
	if err := t.mntTargets.Delete(key); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		return fmt.Errorf("removing mount namespace %d: %w", nsID, err)
	}
	t.mnts--
	return t.filterChanged()
}

// SetCgroupHierarchy chooses the cgroup hierarchy cgroup targets are in and records' cgroups are read from:
// "" for the unified one (cgroup v2 hosts, and hybrid hosts, whose tasks are all in it too), else the name of a
// v1 controller whose hierarchy holds the pods (pure v1 hosts: "memory", "cpu", "pids"...). The default is the
// unified hierarchy. Targets already added keep their ids: set the hierarchy first.
func (t *Tracer) SetCgroupHierarchy(controller string) error {
	h, ok := cgroupHierarchies[controller]
	if !ok {
		return fmt.Errorf("cgroup hierarchy of controller %q: not one the probe reads (want a v1 controller of /proc/cgroups, or \"\" for the unified hierarchy)", controller)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.cgroupHier.Set(uint32(h)); err != nil {
		return fmt.Errorf("setting the cgroup hierarchy: %w", err)
	}
	return t.filterChanged()
}

// AddCgroup traces every task whose cgroup is the cgroup with id cgroupID (its directory's inode number, or
// the handle name_to_handle_at gives) or one below it, tagging its records with targetID (non-zero). level is
// the cgroup's depth in its hierarchy, the root's being 0 (at most MaxCgroupLevel). A task that enters the
// cgroup later is traced from its next call; a process started in it, from its first.
func (t *Tracer) AddCgroup(cgroupID uint64, level int, targetID uint32) error {
	if targetID == 0 {
		return errors.New("adding a cgroup: target id 0 is reserved for trace-all")
	}
	if level < 0 || level > MaxCgroupLevel {
		return fmt.Errorf("adding cgroup %d: level %d is out of range (0 to %d)", cgroupID, level, MaxCgroupLevel)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.cgTargets.Update(cgroupID, targetID, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("adding cgroup %d: %w", cgroupID, err)
	}
	if old, ok := t.cgroups[cgroupID]; ok {
		t.atLevel[old]--
	}
	t.cgroups[cgroupID] = level
	t.atLevel[level]++
	return t.filterChanged()
}

// RemoveCgroup stops tracing a cgroup (the tasks in it that other targets select stay traced).
func (t *Tracer) RemoveCgroup(cgroupID uint64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	level, ok := t.cgroups[cgroupID]
	if !ok {
		return nil
	}
	if err := t.cgTargets.Delete(cgroupID); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("removing cgroup %d: %w", cgroupID, err)
	}
	delete(t.cgroups, cgroupID)
	t.atLevel[level]--
	return t.filterChanged()
}

// AddPid traces a process and, from now on, every process it forks (targetID non-zero). Descendants that
// already exist are added too.
func (t *Tracer) AddPid(pid uint32, targetID uint32) error {
	if targetID == 0 {
		return errors.New("adding a pid: target id 0 is reserved for trace-all")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// Fork tracking starts before the walk, so that a child forked meanwhile is caught by one or the other.
	t.pids++
	if err := t.filterChanged(); err != nil {
		return err
	}
	for _, p := range append([]uint32{pid}, descendants(pid)...) {
		if err := t.pidTargets.Update(p, targetID, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("adding pid %d: %w", p, err)
		}
	}
	return t.filterChanged()
}

// TraceAll traces every task on the host (targetID 0 on records).
func (t *Tracer) TraceAll(on bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.all = on
	return t.filterChanged()
}

// filterChanged sets the filter's mode from the targets and starts a new generation, so that every task decides
// again at its next call: called with t.mu held after every change of the filter's maps (after, so that a task
// deciding meanwhile keeps the old generation and decides again).
func (t *Tracer) filterChanged() error {
	var m uint32
	if t.all {
		m |= modeAll
	}
	if t.mnts > 0 {
		m |= modeMnt
	}
	if t.pids > 0 {
		m |= modePid
	}
	var levels uint32
	for l, n := range t.atLevel {
		if n > 0 {
			levels |= 1 << l
		}
	}
	if levels != 0 {
		m |= modeCgroup
	}
	if err := t.cgroupLvls.Set(levels); err != nil {
		return fmt.Errorf("setting the cgroup targets' levels: %w", err)
	}
	if err := t.filterMode.Set(m); err != nil {
		return fmt.Errorf("setting the probe's filter mode: %w", err)
	}
	if t.gen++; t.gen == 0 {
		t.gen = 1 // 0 marks a task not decided yet
	}
	if err := t.filterGen.Set(t.gen); err != nil {
		return fmt.Errorf("starting the filter's generation %d: %w", t.gen, err)
	}
	return nil
}

// FilterMaps are the container filter's maps and state (bpf/filter.h) by name, for another object to load with
// in place of its own copies (ebpf.CollectionOptions.MapReplacements): it then sees every change made here.
func (t *Tracer) FilterMaps() map[string]*ebpf.Map {
	out := make(map[string]*ebpf.Map, len(bpf.FilterMaps))
	for _, name := range bpf.FilterMaps {
		out[name] = t.coll.Maps[name]
	}
	return out
}

// Read calls fn for every record until ctx is done or fn returns false. rec is reused between calls, and its
// capture data is valid only during the call. When ctx is done, the records already in the ring are still
// handed to fn before Read returns, so that stopping a trace does not cut off its last calls. Only one Read
// may run at a time.
func (t *Tracer) Read(ctx context.Context, fn func(rec *record.Record) bool) error {
	t.readMu.Lock()
	defer t.readMu.Unlock()
	if t.ring == nil {
		return errors.New("reading records: tracer is closed")
	}
	handle := func(sample []byte) bool {
		if err := record.Parse(sample, &t.rec); err != nil {
			t.badRecords.Add(1)
			return true
		}
		return fn(&t.rec)
	}
	draining := false
	drainLeft := 0
	for {
		limit := batchRecords
		if !draining && ctx.Err() != nil {
			// A drain hands out at most one ring's worth, even if traced tasks keep producing.
			draining = true
			drainLeft = t.ring.size/record.HeaderSize + 1
		}
		if draining {
			limit = min(limit, drainLeft)
		}
		n, busy, stopped, err := t.ring.consume(limit, handle)
		switch {
		case err != nil:
			return fmt.Errorf("reading the ring buffer: %w", err)
		case stopped:
			return nil
		case draining:
			drainLeft -= n
			if drainLeft <= 0 || (n == 0 && !busy) {
				return nil
			}
		case t.ring.closing.Load():
			return nil
		case n == 0 && busy:
			runtime.Gosched() // the probe is writing the next record: it is a matter of nanoseconds
		case n == 0:
			// The ring is empty; the probe wakes us only once enough is queued.
			if err := t.ring.wait(pollInterval); err != nil {
				return err
			}
		}
	}
}

// Lost is the number of records the kernel dropped since New (summed over CPUs).
func (t *Tracer) Lost() uint64 {
	var perCPU []uint64
	if err := t.lost.Lookup(uint32(0), &perCPU); err != nil {
		return 0
	}
	var sum uint64
	for _, n := range perCPU {
		sum += n
	}
	return sum + t.badRecords.Load()
}

// Filtered is the number of calls the incident filters (Options.Calls) dropped since New, summed over CPUs.
func (t *Tracer) Filtered() uint64 {
	n, err := bpf.Filtered(t.filtered)
	if err != nil {
		return 0
	}
	return n
}

// LostCall is what a dropped call was: its number, and its errno (0: it succeeded; -1: it was dropped at its
// entry, before it returned).
type LostCall struct {
	Nr, Errno int
}

// LostByCall breaks Lost down by call (summed over CPUs): the kernel's table of them has room for a few
// thousand calls and errnos, and records the reader could not parse are of no call, so the sum may be less
// than Lost.
func (t *Tracer) LostByCall() (map[LostCall]uint64, error) {
	out := map[LostCall]uint64{}
	var (
		key    bpf.ProbeLostKey
		perCPU []uint64
	)
	it := t.lostCalls.Iterate()
	for it.Next(&key, &perCPU) {
		c := LostCall{Nr: int(key.Nr), Errno: int(key.Err)}
		if key.Err == lostErrUnknown {
			c.Errno = -1
		}
		for _, n := range perCPU {
			out[c] += n
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("reading the dropped calls: %w", err)
	}
	return out, nil
}

// DroppedCalls is LostByCall by system call name, the most dropped first (event.Notice.DroppedCalls).
func (t *Tracer) DroppedCalls() ([]event.DroppedCall, error) {
	byCall, err := t.LostByCall()
	if err != nil {
		return nil, err
	}
	byNr := map[int]*event.DroppedCall{}
	for c, n := range byCall {
		d := byNr[c.Nr]
		if d == nil {
			name := fmt.Sprintf("syscall_%d", c.Nr)
			if sc := t.table.ByNr(c.Nr); sc != nil {
				name = sc.Name
			}
			d = &event.DroppedCall{Syscall: name}
			byNr[c.Nr] = d
		}
		d.Calls += n
		switch {
		case c.Errno < 0:
			d.Unfinished += n
		case c.Errno > 0:
			if d.Errors == nil {
				d.Errors = map[string]uint64{}
			}
			d.Errors[syscalls.ErrnoName(c.Errno)] += n
		}
	}
	out := make([]event.DroppedCall, 0, len(byNr))
	for _, d := range byNr {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b event.DroppedCall) int {
		if a.Calls != b.Calls {
			return cmp.Compare(b.Calls, a.Calls)
		}
		return strings.Compare(a.Syscall, b.Syscall)
	})
	return out, nil
}

// lostErrUnknown is bpf/loss.h's LOST_ERR_UNKNOWN.
const lostErrUnknown = 0xffff

// TrackPreExec makes the probe keep which processes joined a container (moved to another cgroup, or setns) and
// have not exec'd since: counting mode counts their calls apart (bpf/filter.h's pre-exec).
func (t *Tracer) TrackPreExec(on bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var v uint32
	if on {
		v = 1
	}
	if err := t.preExecOn.Set(v); err != nil {
		return fmt.Errorf("setting pre-exec tracking: %w", err)
	}
	return t.filterChanged() // the decisions made without it say no process is pre-exec
}

// Close detaches the programs and frees the maps.
func (t *Tracer) Close() error {
	var errs []error
	if t.syscalls != nil {
		if err := t.syscalls.Detach(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, l := range t.links {
		if err := l.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	t.links = nil
	if t.ring != nil {
		// Wait for a running Read to return before the ring is unmapped.
		t.ring.interrupt()
		t.readMu.Lock()
		if err := t.ring.close(); err != nil {
			errs = append(errs, err)
		}
		t.ring = nil
		t.readMu.Unlock()
	}
	if t.coll != nil {
		t.coll.Close()
		t.coll = nil
	}
	if len(errs) > 0 {
		return fmt.Errorf("closing the tracer: %w", errors.Join(errs...))
	}
	return nil
}
