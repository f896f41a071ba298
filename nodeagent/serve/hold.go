//go:build linux

package serve

import (
	"time"

	"github.com/swoll-dev/swoll/nodeagent/record"
)

const (
	// maxHeldRecords and maxHeldBytes bound the records held for containers not named yet (and the bytes their
	// captures hold): a container's first calls, for the few milliseconds its runtime lookup takes.
	maxHeldRecords = 1024
	maxHeldBytes   = 512 << 10
	// holdTimeout is how long a record waits for its container to be named; then it is written without the
	// container's name (a pod traced whole) or dropped and counted (a -c selection, which could not tell). It
	// stays well within the plugin's merge window (plugin/merge.DefaultWindow, 250 ms), so that a held record
	// still finds its place in time order.
	holdTimeout = 150 * time.Millisecond
)

// held is one record waiting for its container to be named.
type held struct {
	rec record.Record // its captures' Data point into the hold's arena
	// container is the id of the container the record's cgroup belongs to.
	container string
	since     time.Time
}

// holdBuf keeps copies of records whose container is not named yet, in arrival order, in memory allocated once
// (at the first hold) and bounded. It belongs to the session's output lock: the event reader puts, the control
// loop takes, both with the lock held.
type holdBuf struct {
	recs  []held
	arena []byte
	// dropped counts the records that did not fit, since the last report.
	dropped uint64
}

// put copies rec; it reports false (and counts a drop) when the hold is full.
func (h *holdBuf) put(rec *record.Record, container string, now time.Time) bool {
	if h.recs == nil {
		h.recs = make([]held, 0, maxHeldRecords)
		h.arena = make([]byte, 0, maxHeldBytes)
	}
	need := 0
	for i := range rec.Captures {
		need += len(rec.Captures[i].Data)
	}
	if len(h.recs) == cap(h.recs) || len(h.arena)+need > cap(h.arena) {
		h.dropped++
		return false
	}
	h.recs = append(h.recs, held{rec: *rec, container: container, since: now})
	r := &h.recs[len(h.recs)-1].rec
	for i := range r.Captures {
		if d := r.Captures[i].Data; d != nil {
			start := len(h.arena)
			h.arena = append(h.arena, d...)
			r.Captures[i].Data = h.arena[start:len(h.arena):len(h.arena)]
		}
	}
	return true
}

// take hands fn, in arrival order, every held record of the container (all of them when container is ""),
// and forgets them.
func (h *holdBuf) take(container string, fn func(rec *record.Record)) {
	kept := h.recs[:0]
	for i := range h.recs {
		e := &h.recs[i]
		if container == "" || e.container == container {
			fn(&e.rec)
			continue
		}
		kept = append(kept, *e)
	}
	clear(h.recs[len(kept):])
	h.recs = kept
	if len(h.recs) == 0 {
		h.arena = h.arena[:0] // the arena is reused once nothing points into it
	}
}

// overdue lists the containers that have a record held since before deadline, each once.
func (h *holdBuf) overdue(deadline time.Time) []string {
	var out []string
	for i := range h.recs {
		e := &h.recs[i]
		if !e.since.Before(deadline) {
			continue
		}
		dup := false
		for _, c := range out {
			dup = dup || c == e.container
		}
		if !dup {
			out = append(out, e.container)
		}
	}
	return out
}
