package merge

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/output"
	"github.com/swoll-dev/swoll/plugin/stream"
)

const (
	// DefaultWindow is how long an event may be held to put it in time order across agents.
	DefaultWindow = 250 * time.Millisecond
	// flushInterval is how often what waits is released and the sink flushed when no batch comes.
	flushInterval = 50 * time.Millisecond
	// batchQueue is how many batches may wait for the loop before agents' pumps block (backpressure).
	batchQueue = 256
)

// LoopConfig configures a Loop.
type LoopConfig struct {
	// Window is how long an event may wait for its turn (DefaultWindow when zero).
	Window time.Duration
	// Sink receives the events in time order, and the agents' notices as they come.
	Sink output.Sink
	// MaxEvents stops writing after that many events (0: no limit).
	MaxEvents uint64
}

// Stats are what a loop did, for the summary.
type Stats struct {
	// Emitted counts events written to the sink.
	Emitted uint64
	// Received counts events received per stream.
	Received map[int]uint64
	// FirstEvent is when the first event was written (zero before).
	FirstEvent time.Time
}

// Timed reports whether a notice takes its place among the events by its time: a container's start and end,
// which a reader of the output wants between the run's calls, not ahead of them.
func Timed(n *event.Notice) bool {
	return n.Time > 0 && (n.Kind == event.NoticeContainerStarted || n.Kind == event.NoticeContainerEnded)
}

// Loop owns a Merger and a Sink: it takes the agents' batches, releases their events in time order within
// the window, and writes them and the notices to the sink. It stops writing at MaxEvents or at the sink's first
// error, and says so on MaxReached and Failed.
//
// Run is called once, from a goroutine of its own; it alone touches the Merger and the Sink. Batches, Stop,
// Done, MaxReached, Failed and Stats are safe for concurrent use.
type Loop struct {
	cfg     LoopConfig
	batches chan stream.Batch

	stop       chan struct{}
	stopOnce   sync.Once
	done       chan struct{}
	maxReached chan struct{}
	failed     chan error

	emitted atomic.Uint64
	first   atomic.Int64
	mu      sync.Mutex
	recv    map[int]uint64
}

// NewLoop returns a loop; Run starts it.
func NewLoop(cfg LoopConfig) *Loop {
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	return &Loop{
		cfg:        cfg,
		batches:    make(chan stream.Batch, batchQueue),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		maxReached: make(chan struct{}),
		failed:     make(chan error, 1),
		recv:       map[int]uint64{},
	}
}

// Batches is where the agents' pumps send.
func (l *Loop) Batches() chan<- stream.Batch { return l.batches }

// MaxReached is closed when MaxEvents events were written.
func (l *Loop) MaxReached() <-chan struct{} { return l.maxReached }

// Failed receives the sink's first error.
func (l *Loop) Failed() <-chan error { return l.failed }

// Stop asks Run to write what was received and return.
func (l *Loop) Stop() { l.stopOnce.Do(func() { close(l.stop) }) }

// Done is closed when Run returned.
func (l *Loop) Done() <-chan struct{} { return l.done }

// Stats returns what the loop did so far.
func (l *Loop) Stats() Stats {
	l.mu.Lock()
	recv := make(map[int]uint64, len(l.recv))
	for k, v := range l.recv {
		recv[k] = v
	}
	l.mu.Unlock()
	st := Stats{Emitted: l.emitted.Load(), Received: recv}
	if f := l.first.Load(); f != 0 {
		st.FirstEvent = time.Unix(0, f)
	}
	return st
}

// Run merges until Stop, then writes what is left and flushes.
func (l *Loop) Run() {
	defer close(l.done)
	m := New(int64(l.cfg.Window))
	sink := l.cfg.Sink
	flush := time.NewTicker(flushInterval)
	defer flush.Stop()
	stopped := false // after MaxEvents or an output error nothing more is written
	var emitted uint64
	outputFailed := func(err error) {
		stopped = true
		select {
		case l.failed <- err:
		default:
		}
	}
	emit := func(e *Entry) bool {
		if stopped {
			return false
		}
		if e.Notice != nil {
			if err := sink.Notice(e.Notice); err != nil {
				outputFailed(err)
				return false
			}
			return true
		}
		if err := sink.Event(e.Line); err != nil {
			outputFailed(err)
			return false
		}
		emitted++
		if emitted == 1 {
			l.first.Store(time.Now().UnixNano())
		}
		if l.cfg.MaxEvents > 0 && emitted >= l.cfg.MaxEvents {
			stopped = true
			close(l.maxReached)
		}
		return true
	}
	handle := func(b stream.Batch) {
		if len(b.Items) > 0 {
			l.mu.Lock()
			l.recv[b.Stream] += uint64(len(b.Items))
			l.mu.Unlock()
		}
		switch {
		case b.EOF:
			m.RemoveStream(b.Stream)
		case b.Notice == nil && b.Snapshot == nil:
			m.AddStream(b.Stream)
		}
		if stopped {
			return
		}
		if b.Notice != nil {
			if Timed(b.Notice) {
				m.PushNotice(b.Notice, stream.Now())
				return
			}
			if err := sink.Notice(b.Notice); err != nil {
				outputFailed(err)
			}
			return
		}
		if b.Snapshot != nil {
			if ss, ok := sink.(output.SnapshotSink); ok {
				if err := ss.Snapshot(b.Snapshot); err != nil {
					outputFailed(err)
				}
			}
			return
		}
		now := stream.Now()
		for _, it := range b.Items {
			m.Push(b.Stream, it.Finish, it.Line, now)
		}
	}
	flushSink := func() {
		if err := sink.Flush(); err != nil && !stopped {
			outputFailed(err)
		}
	}
	for {
		select {
		case b := <-l.batches:
			handle(b)
			m.Ready(stream.Now(), emit)
		case <-flush.C:
			m.Ready(stream.Now(), emit)
			flushSink()
		case <-l.stop:
		drain:
			for {
				select {
				case b := <-l.batches:
					handle(b)
				default:
					break drain
				}
			}
			m.Drain(emit)
			flushSink()
			l.emitted.Store(emitted)
			return
		}
		l.emitted.Store(emitted) // published once per round, not per event
	}
}
