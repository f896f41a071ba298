//go:build linux

package serve

import (
	"sort"
)

// bucket is the --max-rate token bucket. It runs on the records' own kernel timestamps, so that the per-event
// path reads no clock; a burst of up to one second's worth passes at once. Only the event reader uses it.
type bucket struct {
	rate   uint64 // tokens per second
	tokens uint64 // in 1/1e9 of a token, up to rate*1e9 (one second's worth)
	last   uint64 // timestamp (ns) of the last refill
}

func newBucket(rate uint64) *bucket {
	return &bucket{rate: rate, tokens: rate * 1e9}
}

// take reports whether an event at timestamp ns (monotonic nanoseconds) fits the rate.
func (b *bucket) take(ns uint64) bool {
	if b.last == 0 {
		b.last = ns
	}
	if ns > b.last {
		full := b.rate * 1e9
		if add := (ns - b.last) * b.rate; add/b.rate != ns-b.last || b.tokens+add > full || b.tokens+add < b.tokens {
			b.tokens = full // overflowed or idle for longer than a second
		} else {
			b.tokens += add
		}
		b.last = ns
	}
	if b.tokens < 1e9 {
		return false
	}
	b.tokens -= 1e9
	return true
}

// boundLabels returns at most max bytes of labels (keys plus values), keeping whole labels in key order, and
// how many were left out. labels itself is not changed (it is returned as it is when it fits).
func boundLabels(labels map[string]string, max int) (map[string]string, int) {
	size := 0
	for k, v := range labels {
		size += len(k) + len(v)
	}
	if size <= max {
		return labels, 0
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kept := make(map[string]string, len(keys))
	used := 0
	for _, k := range keys {
		n := len(k) + len(labels[k])
		if used+n > max {
			continue
		}
		kept[k] = labels[k]
		used += n
	}
	return kept, len(keys) - len(kept)
}
