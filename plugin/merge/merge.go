// Package merge puts the event lines of several agent streams into time order within a small, bounded window,
// and among them the notices that have a place in time (a container's start and end: Timed).
//
// Each stream is nearly ordered by finish time already (the agent writes in ring-buffer order). An entry is
// released when it can no longer be overtaken: every active stream has reported a time at or past it, or it is
// older than the window in event time than the newest entry seen, or it has waited the window in wall time
// (an idle stream never holds output back longer than that). Memory is therefore bounded by the window.
package merge

import "github.com/swoll-dev/swoll/event"

// Entry is one event line, or one notice that has its place among the events (PushNotice), waiting for its
// turn. Line is not copied: the caller keeps its bytes unchanged until the entry is emitted.
type Entry struct {
	Finish  int64 // event time, Unix ns
	Arrived int64 // wall time it was pushed, Unix ns
	seq     uint64
	Line    []byte
	Notice  *event.Notice // set for a notice (Line is nil)
}

// Merger is not safe for concurrent use: one goroutine owns it.
type Merger struct {
	window  int64
	heap    []Entry
	seq     uint64
	streams map[int]*streamState
	maxSeen int64
	// out is the entry being emitted: emit gets a pointer to it, which escapes, so it lives here rather than
	// on the stack (one allocation per event otherwise).
	out Entry
}

type streamState struct {
	// passed is the newest time the stream has reported: nothing older will come from it (within its own small
	// reordering, which the window absorbs).
	passed int64
}

// New returns a merger with the given window in nanoseconds.
func New(windowNs int64) *Merger {
	return &Merger{window: windowNs, streams: map[int]*streamState{}}
}

// AddStream registers a stream: until it reports a time, entries wait for it (at most the wall window).
func (m *Merger) AddStream(id int) {
	if _, ok := m.streams[id]; !ok {
		m.streams[id] = &streamState{}
	}
}

// RemoveStream unregisters an ended stream: it no longer holds anything back.
func (m *Merger) RemoveStream(id int) { delete(m.streams, id) }

// Advance records that a stream has passed event time t (from an event or a notice carrying a time).
func (m *Merger) Advance(id int, t int64) {
	if s, ok := m.streams[id]; ok && t > s.passed {
		s.passed = t
	}
	if t > m.maxSeen {
		m.maxSeen = t
	}
}

// Push adds an entry from stream id at wall time now.
func (m *Merger) Push(id int, finish int64, line []byte, now int64) {
	m.Advance(id, finish)
	m.seq++
	m.heap = append(m.heap, Entry{Finish: finish, Arrived: now, seq: m.seq, Line: line})
	m.up(len(m.heap) - 1)
}

// PushNotice adds a notice of stream id whose Time places it among the events (a container's start or end):
// it is emitted in time order with them. Its time does not advance the stream: notices are written later than
// the time they carry.
func (m *Merger) PushNotice(n *event.Notice, now int64) {
	m.seq++
	m.heap = append(m.heap, Entry{Finish: n.Time, Arrived: now, seq: m.seq, Notice: n})
	m.up(len(m.heap) - 1)
}

// Len is the number of entries waiting.
func (m *Merger) Len() int { return len(m.heap) }

// watermark is the oldest time every active stream has passed.
func (m *Merger) watermark() int64 {
	first := true
	var w int64
	for _, s := range m.streams {
		if first || s.passed < w {
			w, first = s.passed, false
		}
	}
	if first {
		// no active stream: nothing more can arrive to overtake what is waiting
		return 1<<63 - 1
	}
	return w
}

// Ready emits, in time order, every entry that can no longer be overtaken at wall time now. emit returns false
// to stop early (the entry it was given counts as emitted). The entry emit gets is the Merger's, valid for the
// call only.
func (m *Merger) Ready(now int64, emit func(*Entry) bool) {
	if len(m.heap) == 0 {
		return
	}
	w := m.watermark()
	for len(m.heap) > 0 {
		top := &m.heap[0]
		if top.Finish > w && m.maxSeen-top.Finish < m.window && now-top.Arrived < m.window {
			return
		}
		m.out = m.pop()
		if !emit(&m.out) {
			return
		}
	}
}

// Drain emits everything that waits, in time order.
func (m *Merger) Drain(emit func(*Entry) bool) {
	for len(m.heap) > 0 {
		m.out = m.pop()
		if !emit(&m.out) {
			return
		}
	}
}

func less(a, b *Entry) bool {
	if a.Finish != b.Finish {
		return a.Finish < b.Finish
	}
	return a.seq < b.seq
}

func (m *Merger) up(i int) {
	h := m.heap
	for i > 0 {
		p := (i - 1) / 2
		if !less(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (m *Merger) pop() Entry {
	h := m.heap
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = Entry{} // drop the line reference so its buffer can be collected
	m.heap = h[:n]
	m.down(0)
	return top
}

func (m *Merger) down(i int) {
	h := m.heap
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		small := l
		if r := l + 1; r < n && less(&h[r], &h[l]) {
			small = r
		}
		if !less(&h[small], &h[i]) {
			return
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
}
