//go:build linux

// Package countprobe is the agent's counting mode: it loads bpf/count.c, which counts the calls of the traced
// containers per system call and result in the kernel (count, summed duration, log2 latency histogram), and
// turns the counters into snapshot lines (event.Snapshot) once per interval. Nothing per call crosses to user
// space.
//
// The container filter is the probe's: a Counter loads with the filter's maps and state of a tracer.Tracer
// (loaded with FilterOnly, so that the probe's syscall programs stay detached), so that targets added and
// removed through the tracer count at once, as in tracing mode. Its programs are built on the probe's BPF core
// and load in the same variant as the tracer's (package bpf); Select attaches them per call for a narrow
// selection, as the tracer's (Options.Attach).
//
// Each counter (a target, system call, result, whether the process had exec'd since it joined the container:
// event.Count.PreExec, and with ByCaller the calling stack) has a slot in a per-CPU array; the programs find it
// through the counting task's cache of slots, and give new keys free slots (bpf/count.c). Without latencies
// (Options.NoLatency) the programs read no clock.
//
// The incident filters (Options.Calls) are the probe's, from the same kernel code: only the calls they keep are
// counted, the others in a snapshot's Filtered.
//
// Bounds: the slots are preallocated, as many as the number of CPUs allows (Options.Entries); a call that
// finds no slot, or no room for its task's state, is counted as overflow (the programs' lost counter) and
// reported in the snapshot, never dropped silently. The kernel's counters are totals since the session started;
// a snapshot holds the difference from the previous one. A removed target's slots are freed once its last
// counts are reported.
//
// By caller (Options.ByCaller, top --by caller): each counter is keyed by the hash of its call's user stack
// too (bpf/stack.h: the first 32 frames, walked by their frame pointers at sys_exit, each stack kept once in
// a table of StackEntries with the first process seen making it). At each snapshot the Counter symbolizes the
// stacks it has not seen yet in that process (package symbolize) and names each row's calling function
// (stack.Caller: the innermost frame past libc and Go's standard library), merging the rows of stacks with
// one caller. A stack whose process exited before it was symbolized (within the snapshot interval), or that
// found the table full, counts under an unknown caller. Cost: one stack walk per counted call.
package countprobe

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/swoll-dev/swoll/bpf"
	"github.com/swoll-dev/swoll/callfilter"
	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/event/stack"
	"github.com/swoll-dev/swoll/nodeagent/symbolize"
	"github.com/swoll-dev/swoll/protocol"
	"github.com/swoll-dev/swoll/syscalls"
)

const (
	// DefaultInterval is how often the agent writes a snapshot.
	DefaultInterval = time.Second
	// memoryBudget bounds the counters' kernel memory: entries x value size x CPUs.
	memoryBudget = 32 << 20
	minEntries   = 256
	maxEntries   = 16384
)

// Options configure a Counter.
type Options struct {
	// Filter is the probe's filter (tracer.Tracer.FilterMaps), required.
	Filter map[string]*ebpf.Map
	// Entries is the size of the counter table (0: from the number of CPUs, within 256..16384).
	Entries int
	// Without turns off kernel features, as tracer.Options.Without.
	Without bpf.Features
	// Table names the system calls (default: the running architecture's).
	Table *syscalls.Table
	// ByCaller counts per calling function too: the rows of a snapshot name it (event.Count.Caller).
	ByCaller bool
	// StackEntries sizes the table of stacks ByCaller keys by (0: DefaultStackEntries).
	StackEntries int
	// SymbolBudget bounds the symbol cache ByCaller reads the callers with (0: symbolize.DefaultBudget).
	SymbolBudget int64
	// Calls are the incident filters: only the calls they keep are counted, the others in Snapshot's
	// Filtered (-y has no meaning here).
	Calls callfilter.Spec
	// Attach says where the counting programs attach (Select attaches them), as tracer.Options.Attach.
	Attach bpf.AttachMode
	// NoLatency counts calls without timing them (no summed time, no histogram): no clock is read.
	NoLatency bool
}

// DefaultStackEntries is how many distinct stacks counting by caller keeps (264 bytes each in the kernel).
const DefaultStackEntries = 8192

type total struct {
	calls, timeNs uint64
	hist          [event.HistBuckets]uint64
}

// Counter owns the counting programs and maps. Its methods may be called from several goroutines.
type Counter struct {
	table    *syscalls.Table
	coll     *ebpf.Collection
	links    []link.Link
	counts   *ebpf.Map // slot -> per-CPU counters
	slots    *ebpf.Map // key -> slot
	free     *ebpf.Map // free slots
	slotsGen *ebpf.Variable
	lost     *ebpf.Map
	filtered *ebpf.Map
	selected *ebpf.Variable
	noReturn *ebpf.Variable
	features bpf.Features
	attach   bpf.AttachMode
	latency  bool
	// regs: the programs read the calls' registers (-P), which per call needs bpf_task_pt_regs
	regs     bool
	syscalls *bpf.Syscalls

	// by caller: the callers of the stacks seen, by hash (nil: unknown), symbolized by sym
	stacks  *ebpf.Map
	sym     *symbolize.Symbolizer
	callers map[uint64]*stack.Frame

	mu        sync.Mutex
	targets   map[uint32]*event.Container
	removed   map[uint32]bool // targets whose counters go after the next snapshot
	prev      map[bpf.CountCountKey]total
	overflows uint64
	// filteredSeen is the filtered count of the previous snapshot
	filteredSeen uint64
	last         time.Time
}

// errPathNeedsRegs: counting per call with -P reads the calls' registers from the task.
var errPathNeedsRegs = errors.New("-P reads the calls' arguments per call with bpf_task_pt_regs (Linux 5.15), which this kernel lacks")

// Entries is the default size of the counter table for this machine.
func Entries() int {
	var v bpf.CountCountVal
	per := int(sizeOf(v)) * max(runtime.NumCPU(), 1)
	return min(max(memoryBudget/per, minEntries), maxEntries)
}

// New loads and attaches the counting programs. Nothing is counted until Select and a target are set.
func New(opts Options) (c *Counter, err error) {
	table := opts.Table
	if table == nil {
		table = syscalls.Native()
	}
	entries := opts.Entries
	if entries <= 0 {
		entries = Entries()
	}
	for _, name := range bpf.FilterMaps {
		if opts.Filter[name] == nil {
			return nil, fmt.Errorf("loading the counting programs: the probe's filter map %s is missing", name)
		}
	}
	features := (bpf.KernelFeatures() &^ opts.Without).Usable()
	spec, err := bpf.LoadCount()
	if err != nil {
		return nil, fmt.Errorf("reading the embedded counting programs: %w", err)
	}
	attach, err := bpf.Choose(spec, bpf.CountVariants, features)
	if err != nil {
		return nil, fmt.Errorf("loading the counting programs (%s): %w", features, err)
	}
	stackEntries := 1 // the table is in the object whether or not it is used
	if opts.ByCaller {
		stackEntries = opts.StackEntries
		if stackEntries <= 0 {
			stackEntries = DefaultStackEntries
		}
	}
	spec.Maps[bpf.CountMapCountStacks].MaxEntries = uint32(stackEntries)
	if err := spec.Variables[bpf.CountVarCountByStack].Set(boolByte(opts.ByCaller)); err != nil {
		return nil, fmt.Errorf("setting count_by_stack: %w", err)
	}
	calls := opts.Calls
	calls.Fds = callfilter.FdsNone
	cf, err := bpf.NewCallFilter(calls, table)
	if err != nil {
		return nil, err
	}
	if err := cf.Prepare(spec); err != nil {
		return nil, fmt.Errorf("loading the counting programs (%s): %w", features, err)
	}
	for _, m := range []string{bpf.CountMapCounts, bpf.CountMapCountSlots, bpf.CountMapFreeSlots} {
		spec.Maps[m].MaxEntries = uint32(entries)
	}
	if err := spec.Variables[bpf.CountVarCountLatency].Set(boolByte(!opts.NoLatency)); err != nil {
		return nil, fmt.Errorf("setting count_latency: %w", err)
	}
	if err := spec.Variables[bpf.CountVarCountTaskRegs].Set(boolByte(features&bpf.PtRegs != 0)); err != nil {
		return nil, fmt.Errorf("setting count_task_regs: %w", err)
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{MapReplacements: opts.Filter})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("the kernel's verifier rejected the counting programs (%s): %w", features, ve)
		}
		return nil, fmt.Errorf("loading the counting programs (%s): %w", features, err)
	}
	c = &Counter{
		table:    table,
		coll:     coll,
		counts:   coll.Maps[bpf.CountMapCounts],
		slots:    coll.Maps[bpf.CountMapCountSlots],
		free:     coll.Maps[bpf.CountMapFreeSlots],
		slotsGen: coll.Variables[bpf.CountVarSlotsGen],
		lost:     coll.Maps[bpf.CountMapLost],
		filtered: coll.Maps[bpf.MapFiltered],
		selected: coll.Variables[bpf.CountVarSelected],
		noReturn: coll.Variables[bpf.CountVarNoReturn],
		features: features,
		attach:   opts.Attach,
		latency:  !opts.NoLatency,
		regs:     len(opts.Calls.Paths) > 0 || len(opts.Calls.PathsUnder) > 0,
		targets:  map[uint32]*event.Container{},
		removed:  map[uint32]bool{},
		prev:     map[bpf.CountCountKey]total{},
		last:     time.Now(),
	}
	if opts.ByCaller {
		c.stacks = coll.Maps[bpf.CountMapCountStacks]
		c.sym = symbolize.New(symbolize.Config{Budget: opts.SymbolBudget})
		c.callers = map[uint64]*stack.Frame{}
	}
	defer func() {
		if err != nil {
			_ = c.Close()
			c = nil
		}
	}()
	if err := cf.Fill(coll); err != nil {
		return nil, err
	}
	for slot := range uint32(entries) {
		if err := c.free.Update(nil, slot, ebpf.UpdateAny); err != nil {
			return nil, fmt.Errorf("filling the free counter slots: %w", err)
		}
	}
	if c.syscalls, err = bpf.NewSyscalls(coll, attach, table); err != nil {
		return nil, err
	}
	for _, a := range attach {
		if bpf.IsSyscallHook(a.Hook) {
			continue
		}
		l, err := bpf.Attach(coll.Programs[a.Program], a)
		if err != nil {
			return nil, fmt.Errorf("attaching %s to %s: %w", a.Program, a.Hook, err)
		}
		c.links = append(c.links, l)
	}
	return c, nil
}

// AttachType says which program type is attached: "tp_btf" or "raw_tracepoint".
func (c *Counter) AttachType() string {
	if c.features&bpf.TpBTF != 0 {
		return "tp_btf"
	}
	return "raw_tracepoint"
}

// Features says which optional kernel features the loaded programs use.
func (c *Counter) Features() bpf.Features { return c.features }

// Select sets the system calls to count (nil or empty: all) and attaches the counting programs where
// Options.Attach says (Attached tells).
func (c *Counter) Select(calls []*syscalls.Syscall) error {
	calls = slices.DeleteFunc(slices.Clone(calls), func(sc *syscalls.Syscall) bool { return sc == nil })
	po := bpf.PlanOptions{Mode: c.attach} // the programs see every entry (bpf/count.c)
	if c.regs && c.features&bpf.PtRegs == 0 {
		po.NoPerCall = errPathNeedsRegs
	}
	plan, err := c.syscalls.Plan(calls, po)
	if err != nil {
		return err
	}
	if len(calls) == 0 {
		calls = c.table.All()
	}
	var sel, noRet [1024]uint8
	if int(c.selected.Size()) != len(sel) {
		return fmt.Errorf("the counting programs' table has %d entries, want %d", c.selected.Size(), len(sel))
	}
	for _, sc := range calls {
		if sc.Nr < 0 || sc.Nr >= len(sel) {
			return fmt.Errorf("system call %s: number %d is beyond the counting table (%d)", sc.Name, sc.Nr, len(sel))
		}
		sel[sc.Nr] = 1
		if sc.Name == "exit" || sc.Name == "exit_group" {
			noRet[sc.Nr] = 1
		}
	}
	if err := c.noReturn.Set(noRet); err != nil {
		return fmt.Errorf("selecting system calls: %w", err)
	}
	if err := c.selected.Set(sel); err != nil {
		return fmt.Errorf("selecting system calls: %w", err)
	}
	return c.syscalls.Attach(plan)
}

// Attached says where the counting programs are attached (after Select).
func (c *Counter) Attached() bpf.Plan { return c.syscalls.Attached() }

// SetTarget names the container of a target id in snapshots.
func (c *Counter) SetTarget(id uint32, t *protocol.Target) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.targets[id] = &event.Container{ID: t.ContainerID, Pod: t.Pod, Name: t.Container, Image: t.Image,
		Namespace: t.Namespace, Labels: t.Labels}
	delete(c.removed, id)
}

// RemoveTarget forgets a target after the next snapshot (calls already counted are still reported).
func (c *Counter) RemoveTarget(id uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removed[id] = true
}

// Snapshot reads the counters and returns what changed since the previous snapshot (or since New).
func (c *Counter) Snapshot(node, session string, now time.Time) (*event.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	snap := &event.Snapshot{Node: node, Session: session, From: c.last.UnixNano(), To: now.UnixNano(), Rows: []event.Count{},
		NoLatency: !c.latency}
	c.last = now
	var (
		key  bpf.CountCountKey
		slot uint32
		vals []bpf.CountCountVal
	)
	seen := make(map[bpf.CountCountKey]uint32, len(c.prev))
	rows := map[rowKey]int{} // index in snap.Rows, to merge the stacks of one caller
	it := c.slots.Iterate()
	for it.Next(&key, &slot) {
		if err := c.counts.Lookup(slot, &vals); err != nil {
			return nil, fmt.Errorf("reading the counters of slot %d: %w", slot, err)
		}
		var t total
		for i := range vals {
			t.calls += vals[i].Calls
			t.timeNs += vals[i].TimeNs
			for b, n := range vals[i].Hist {
				t.hist[b] += n
			}
		}
		seen[key] = slot
		p := c.prev[key]
		if t.calls == p.calls {
			continue
		}
		c.prev[key] = t
		row := c.row(key, &t, &p)
		rk := rowKey{target: key.Target, nr: key.Nr, err: key.Err, flags: key.Flags}
		if c.callers != nil {
			row.Caller = c.callerOf(key.Stack)
			rk.caller = callerKey(row.Caller)
		}
		if i, ok := rows[rk]; ok {
			addRow(&snap.Rows[i], &row)
			continue
		}
		rows[rk] = len(snap.Rows)
		snap.Rows = append(snap.Rows, row)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("reading the counters: %w", err)
	}
	var perCPU []uint64
	if err := c.lost.Lookup(uint32(0), &perCPU); err != nil {
		return nil, fmt.Errorf("reading the overflow counter: %w", err)
	}
	var over uint64
	for _, n := range perCPU {
		over += n
	}
	snap.Overflow = over - c.overflows
	snap.OverflowTotal = over
	c.overflows = over
	filtered, err := bpf.Filtered(c.filtered)
	if err != nil {
		return nil, err
	}
	snap.Filtered = filtered - c.filteredSeen
	snap.FilteredTotal = filtered
	c.filteredSeen = filtered
	if err := c.forgetRemoved(seen); err != nil {
		return nil, err
	}
	return snap, nil
}

func (c *Counter) row(key bpf.CountCountKey, t, p *total) event.Count {
	row := event.Count{Calls: t.calls - p.calls, TimeNs: t.timeNs - p.timeNs, Error: syscalls.ErrnoName(int(key.Err)),
		PreExec: key.Flags&uint32(bpf.CountCountFlagsCOUNT_PRE_EXEC) != 0}
	if c.latency {
		hist := make([]uint64, event.HistBuckets)
		for i := range hist {
			hist[i] = t.hist[i] - p.hist[i]
		}
		row.Hist = event.TrimHist(hist)
	}
	if sc := c.table.ByNr(int(key.Nr)); sc != nil {
		row.Syscall = event.Syscall{Nr: sc.Nr, Name: sc.Name, Class: sc.Class, Group: sc.Group}
	} else {
		row.Syscall = event.Syscall{Nr: int(key.Nr), Name: fmt.Sprintf("syscall_%d", key.Nr), Class: "unknown", Group: "unknown"}
	}
	row.Container = c.targets[key.Target]
	return row
}

// forgetRemoved frees the counters of removed targets, now that their last calls were reported: their keys go,
// then every task's cache of slots (slots_gen), then their slots are zeroed and given back.
func (c *Counter) forgetRemoved(seen map[bpf.CountCountKey]uint32) error {
	if len(c.removed) == 0 {
		return nil
	}
	var freed []uint32
	for key, slot := range seen {
		if c.removed[key.Target] {
			if err := c.slots.Delete(key); err != nil {
				return fmt.Errorf("freeing a counter: %w", err)
			}
			delete(c.prev, key)
			freed = append(freed, slot)
		}
	}
	for id := range c.removed {
		delete(c.targets, id)
	}
	c.removed = map[uint32]bool{}
	if len(freed) == 0 {
		return nil
	}
	var gen uint32
	if err := c.slotsGen.Get(&gen); err != nil {
		return fmt.Errorf("reading the counters' generation: %w", err)
	}
	if err := c.slotsGen.Set(gen + 1); err != nil {
		return fmt.Errorf("starting the counters' generation %d: %w", gen+1, err)
	}
	zero := make([]bpf.CountCountVal, ebpf.MustPossibleCPU())
	for _, slot := range freed {
		if err := c.counts.Update(slot, zero, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("zeroing counter slot %d: %w", slot, err)
		}
		if err := c.free.Update(nil, slot, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("freeing counter slot %d: %w", slot, err)
		}
	}
	return nil
}

// Close detaches the programs and frees the maps (shared maps stay with their owner).
func (c *Counter) Close() error {
	var err error
	if c.syscalls != nil {
		err = c.syscalls.Detach()
	}
	for _, l := range c.links {
		err = errors.Join(err, l.Close())
	}
	c.links = nil
	if c.coll != nil {
		c.coll.Close()
		c.coll = nil
	}
	if err != nil {
		return fmt.Errorf("closing the counter: %w", err)
	}
	return nil
}

func sizeOf(v bpf.CountCountVal) uintptr { return unsafe.Sizeof(v) }

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// rowKey is what a snapshot's row counts: a target's calls of one system call with one result, pre-exec or not,
// by one caller.
type rowKey struct {
	target uint32
	nr     uint16
	err    uint16
	flags  uint32 // pre-exec
	caller string
}

// callerKey names a caller for merging rows: its function, or its address in its module when it has no
// symbol ("" for an unknown caller).
func callerKey(f *stack.Frame) string {
	switch {
	case f == nil:
		return ""
	case f.Symbol != "":
		return f.Module + "\x00" + f.Symbol
	default:
		return f.Module + "\x00" + strconv.FormatUint(f.ModuleOffset, 16)
	}
}

// addRow adds the counts of o to r (the same caller's calls from another stack).
func addRow(r, o *event.Count) {
	r.Calls += o.Calls
	r.TimeNs += o.TimeNs
	for len(r.Hist) < len(o.Hist) {
		r.Hist = append(r.Hist, 0)
	}
	for i, n := range o.Hist {
		r.Hist[i] += n
	}
}

// callerOf is the calling function of the stack with hash h (nil: unknown), symbolized the first time the
// stack is seen, in the process the kernel kept with it.
func (c *Counter) callerOf(h uint64) *stack.Frame {
	if h == 0 {
		return nil
	}
	if f, ok := c.callers[h]; ok {
		return f
	}
	var st bpf.CountCountStack
	var f *stack.Frame
	if err := c.stacks.Lookup(h, &st); err == nil {
		ips, _ := symbolize.TrimWalk(st.Ips[:min(int(st.Len), len(st.Ips))])
		// a process that exited has bare frames: no caller
		frames, _ := c.sym.Symbolize(nil, int(st.Pid), ips)
		if i := stack.Caller(frames); i >= 0 && frames[i].HasModule() {
			f = &frames[i]
		}
	}
	c.callers[h] = f
	return f
}

// SymbolStats is the state of the symbol cache counting by caller reads callers with; nil without ByCaller.
// It is safe for concurrent use.
func (c *Counter) SymbolStats() *event.SymbolStats {
	if c.sym == nil {
		return nil
	}
	st := c.sym.Stats()
	return &event.SymbolStats{Bytes: st.Bytes, Budget: st.Budget, Modules: st.Modules, Processes: st.Processes,
		Hits: st.Hits, Misses: st.Misses, Evictions: st.Evictions}
}
