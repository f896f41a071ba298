//go:build linux

// Package stackstage is the agent's stage between the decoder and the output in a session with stacks (trace
// -k, -kk): the decoder renders each event's line, the stage symbolizes its stacks (nodeagent/symbolize for
// user space, nodeagent/kallsyms for the kernel) and writes the line with them:
//
//	ring → decoder ─(slot: the line so far, pid, ips)─▶ stage goroutine: symbolize, close the line ─▶ lineout
//
// Symbolizing a frame of a process and binary seen before is a lookup (millions a second), but the first stack
// of a new process reads its maps, and the first frame in a new binary its symbol tables: milliseconds. That
// cold path runs on the stage's own goroutine, which owns the Symbolizer and the kernel's table, so the
// decoder's per-event path never waits for it: it takes a free slot, renders into it and hands it over, and
// waits only when every slot is in flight (Config.Slots events: the back pressure that then fills the
// kernel's ring, whose drops are counted). Lines leave in the order they came.
//
// Slots are reused: the per-event path allocates nothing once the slots' buffers have grown to the lines'
// size. The symbol caches are bounded (Config.Budget, plus the kernel's table when -kk needs it) and their
// state is Stats, for the agent's stats notice.
package stackstage

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/event/stack"
	"github.com/swoll-dev/swoll/nodeagent/kallsyms"
	"github.com/swoll-dev/swoll/nodeagent/lineout"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/nodeagent/symbolize"
	"github.com/swoll-dev/swoll/render"
)

// Format is how a line ends.
type Format int

const (
	// JSON: the line is an event without its closing brace (decode.Decoder.AppendJSONOpen); the stage adds the
	// stack keys (event/stack.AppendKeys), the brace and the newline.
	JSON Format = iota
	// CLI: the line is a whole strace-like line (decode.Decoder.AppendCLI); the stage adds the stacks' lines
	// under it (render.AppendKernelStack, render.AppendStack).
	CLI
)

const (
	// DefaultSlots is how many events may wait for the stage: enough to ride out a binary's first reading
	// (a few ms) at tens of thousands of events a second.
	DefaultSlots = 512
	// PruneInterval is how often the stage drops the maps of processes that exited.
	PruneInterval = 10 * time.Second
	// maxKeptLine: a slot whose line grew past this gives its buffer back, so that one huge event does not
	// keep its size in every slot.
	maxKeptLine = 64 << 10
)

// Config configures a Stage.
type Config struct {
	Out    *lineout.Writer
	Format Format
	// Slots bounds the events in flight (0: DefaultSlots).
	Slots int
	// Budget bounds the user-space symbol cache in bytes (0: symbolize.DefaultBudget).
	Budget int64
	// Kallsyms is the kernel's symbol table, read at the first kernel stack (default kallsyms.Path).
	Kallsyms string
	// Logf reports what the user should know once (the kernel's symbols unreadable); nil: nothing.
	Logf func(format string, args ...any)
}

// slot is one event on its way through the stage.
type slot struct {
	line      []byte
	pid       int
	user      []uint64
	userTrunc bool
	kernel    []uint64
	hasKernel bool
}

// Stage symbolizes the stacks of events on its own goroutine. Take, TryTake, Release and Submit may be called by
// several goroutines (the event reader's, and the session's control loop that writes held records), each with
// the slots it took; lines leave in the order of Submit. Close is called once nothing submits any more; Stats
// by any.
type Stage struct {
	cfg  Config
	free chan *slot
	work chan *slot
	done chan struct{}

	sym *symbolize.Symbolizer
	// kernel is loaded by the stage's goroutine on first use; kernelBytes is its size, for Stats.
	kernel      *kallsyms.Table
	kernelBytes atomic.Int64

	mu  sync.Mutex
	err error // the output's, once it failed: Submit returns it

	// the stage goroutine's buffers
	frames, kframes []stack.Frame
}

// New starts a stage.
func New(cfg Config) *Stage {
	if cfg.Slots <= 0 {
		cfg.Slots = DefaultSlots
	}
	if cfg.Kallsyms == "" {
		cfg.Kallsyms = kallsyms.Path
	}
	s := &Stage{
		cfg:  cfg,
		free: make(chan *slot, cfg.Slots),
		work: make(chan *slot, cfg.Slots),
		done: make(chan struct{}),
		sym:  symbolize.New(symbolize.Config{Budget: cfg.Budget}),
	}
	for range cfg.Slots {
		s.free <- &slot{}
	}
	go s.run()
	return s
}

// Slot is an event's place in the stage: the decoder appends its line to Line()'s buffer.
type Slot struct{ s *slot }

// Take waits for a free slot (all in flight: the stage is behind) and returns it. The caller must not hold
// Config.Out's lock, which the stage's goroutine needs to give slots back: one that does uses TryTake.
func (s *Stage) Take() Slot { return Slot{<-s.free} }

// TryTake returns a free slot without waiting, for a writer that holds Config.Out's lock; ok is false when
// every slot is in flight (then AppendBare writes the event without symbols).
func (s *Stage) TryTake() (sl Slot, ok bool) {
	select {
	case p := <-s.free:
		return Slot{p}, true
	default:
		return Slot{}, false
	}
}

// Release gives back a slot that carries no event after all (its record was held or dropped). A zero Slot or a
// nil Stage is nothing to give back.
func (s *Stage) Release(sl Slot) {
	if s != nil && sl.s != nil {
		s.free <- sl.s
	}
}

// Line is the slot's line buffer, emptied: append the event's line to it and pass the result to Submit.
func (sl Slot) Line() []byte { return sl.s.line[:0] }

// AppendBare closes a line of Format JSON with rec's stacks unsymbolized (each frame its address only, the user
// stack marked truncated: without symbols nothing says that it reaches the thread's entry), for a writer that
// holds Config.Out's lock and found no free slot. frames is a buffer for the frames, returned for reuse.
func AppendBare(dst []byte, rec *record.Record, frames []stack.Frame) ([]byte, []stack.Frame) {
	frames = frames[:0]
	for i := 0; i < rec.UserStack.Len(); i++ {
		frames = append(frames, stack.Frame{IP: stack.Addr(rec.UserStack.IP(i))})
	}
	user := len(frames)
	for i := 0; i < rec.KernelStack.Len(); i++ {
		frames = append(frames, stack.Frame{IP: stack.Addr(rec.KernelStack.IP(i))})
	}
	dst = stack.AppendKeys(dst, frames[:user], true, frames[user:])
	return append(dst, '}', '\n'), frames
}

// Submit hands the slot to the stage with its line and the record's stacks (copied: the record may go).
// It returns the output's error once writing failed (the event is then dropped).
func (s *Stage) Submit(sl Slot, line []byte, rec *record.Record) error {
	if err := s.Err(); err != nil {
		s.free <- sl.s
		return err
	}
	p := sl.s
	p.line = line
	p.pid = int(rec.Pid)
	p.user = rec.UserStack.AppendIPs(p.user[:0])
	p.userTrunc = rec.UserStack.Truncated
	p.kernel = rec.KernelStack.AppendIPs(p.kernel[:0])
	p.hasKernel = len(p.kernel) > 0
	s.work <- p
	return nil
}

// Err is the output's error, once writing failed.
func (s *Stage) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close waits until every submitted event is written, then stops the stage. No Submit may follow.
func (s *Stage) Close() {
	close(s.work)
	<-s.done
}

func (s *Stage) run() {
	defer close(s.done)
	prune := time.NewTicker(PruneInterval)
	defer prune.Stop()
	for {
		select {
		case p, ok := <-s.work:
			if !ok {
				return
			}
			s.write(p)
			if cap(p.line) > maxKeptLine {
				p.line = nil
			}
			s.free <- p
		case <-prune.C:
			s.sym.ForgetExited()
		}
	}
}

// write symbolizes p's stacks and writes its line.
func (s *Stage) write(p *slot) {
	// an error is a process that exited before its maps were read: its frames stay bare
	user, astray := symbolize.TrimWalk(p.user)
	s.frames, _ = s.sym.Symbolize(s.frames[:0], p.pid, user)
	// a call the kernel gave no stack for (its walk failed) has an empty one, cut short
	truncated := p.userTrunc || astray || !symbolize.Complete(s.frames)
	var kframes []stack.Frame
	if p.hasKernel {
		s.kframes = s.kernelTable().Symbolize(s.kframes[:0], p.kernel)
		kframes = kallsyms.TrimTracing(s.kframes)
	}
	out := s.cfg.Out
	out.Lock()
	buf := append(out.AvailableBuffer(), p.line...)
	if s.cfg.Format == CLI {
		buf = render.AppendKernelStack(buf, kframes)
		buf = render.AppendStack(buf, s.frames, truncated)
	} else {
		buf = stack.AppendKeys(buf, s.frames, truncated, kframes)
		buf = append(buf, '}', '\n')
	}
	err := out.WriteLocked(buf)
	out.Unlock()
	if err != nil {
		s.mu.Lock()
		if s.err == nil {
			s.err = err
		}
		s.mu.Unlock()
	}
}

// kernelTable reads the kernel's symbols once; without them (unreadable, or hidden from the agent) kernel
// frames keep their addresses.
func (s *Stage) kernelTable() *kallsyms.Table {
	if s.kernel != nil {
		return s.kernel
	}
	t, err := kallsyms.Load(s.cfg.Kallsyms)
	switch {
	case err != nil:
		s.logf("kernel stacks without symbols: %v", err)
		t = &kallsyms.Table{}
	case t.Restricted():
		s.logf("kernel stacks without symbols: %s hides the kernel's addresses from the agent (it needs CAP_SYSLOG, and kernel.kptr_restrict below 2)", s.cfg.Kallsyms)
	}
	s.kernel = t
	s.kernelBytes.Store(t.Bytes())
	return t
}

func (s *Stage) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// Stats is the state of the stage's symbol caches. It is safe for concurrent use.
func (s *Stage) Stats() *event.SymbolStats {
	st := s.sym.Stats()
	kb := s.kernelBytes.Load()
	return &event.SymbolStats{
		Bytes: st.Bytes + kb, Budget: st.Budget, KernelBytes: kb, Modules: st.Modules, Processes: st.Processes,
		Hits: st.Hits, Misses: st.Misses, Evictions: st.Evictions,
	}
}
