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
// Each counter (a target, system call, result, and whether the process had exec'd since it joined the
// container: event.Count.PreExec) has a slot in a per-CPU array; the programs find it through the counting
// task's cache of slots, and give new keys free slots (bpf/count.c). Without latencies (Options.NoLatency) the
// programs read no clock and count at the calls' exits only.
//
// Bounds: the slots are preallocated, as many as the number of CPUs allows (Options.Entries); a call that
// finds no slot, or no room for its task's state, is counted as overflow (the programs' lost counter) and
// reported in the snapshot, never dropped silently. The kernel's counters are totals since the session started;
// a snapshot holds the difference from the previous one. A removed target's slots are freed once its last
// counts are reported.
package countprobe

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/swoll-dev/swoll/bpf"
	"github.com/swoll-dev/swoll/event"
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
	// Attach says where the counting programs attach (Select attaches them), as tracer.Options.Attach.
	Attach bpf.AttachMode
	// NoLatency counts calls without timing them (no summed time, no histogram): no clock is read, and the
	// programs attach to the calls' exits only (but for exit, exit_group and execveat).
	NoLatency bool
}

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
	selected *ebpf.Variable
	noReturn *ebpf.Variable
	features bpf.Features
	attach   bpf.AttachMode
	latency  bool
	syscalls *bpf.Syscalls

	mu        sync.Mutex
	targets   map[uint32]*event.Container
	removed   map[uint32]bool // targets whose counters go after the next snapshot
	prev      map[bpf.CountCountKey]total
	overflows uint64
	last      time.Time
}

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
	for _, m := range []string{bpf.CountMapCounts, bpf.CountMapCountSlots, bpf.CountMapFreeSlots} {
		spec.Maps[m].MaxEntries = uint32(entries)
	}
	if err := spec.Variables[bpf.CountVarCountLatency].Set(boolByte(!opts.NoLatency)); err != nil {
		return nil, fmt.Errorf("setting count_latency: %w", err)
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
		selected: coll.Variables[bpf.CountVarSelected],
		noReturn: coll.Variables[bpf.CountVarNoReturn],
		features: features,
		attach:   opts.Attach,
		latency:  !opts.NoLatency,
		targets:  map[uint32]*event.Container{},
		removed:  map[uint32]bool{},
		prev:     map[bpf.CountCountKey]total{},
		last:     time.Now(),
	}
	defer func() {
		if err != nil {
			_ = c.Close()
			c = nil
		}
	}()
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
	plan, err := c.syscalls.Plan(calls, bpf.PlanOptions{Mode: c.attach, ExitOnly: !c.latency})
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
		snap.Rows = append(snap.Rows, c.row(key, &t, &p))
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
