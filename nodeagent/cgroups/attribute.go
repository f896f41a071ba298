//go:build linux

package cgroups

import (
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultCacheEntries bounds an Attributor's cache when NewAttributor is given no size: far more container
// cgroups than one node's traced pods have at a time.
const DefaultCacheEntries = 4096

// maxScanDepth is how far below a pod's cgroup a lookup of an unknown id looks (containers that run their
// own cgroups, systemd in a container, put their processes deeper than the watcher follows).
const maxScanDepth = 4

// Attributor names the container of the cgroup a kernel record carries (its task's cgroup, a leaf of the
// hierarchy). Watcher events fill it (Observe) and a bounded cache answers: an id it knows costs one map
// lookup, with no allocation and no I/O. An id it does not know (a record read before its container's event)
// is looked for once in the pods' cgroups, and the answer, found or not, is cached.
//
// It is not safe for concurrent use: its owner serializes Observe and ContainerID (the agent's session calls
// both under the lock that guards its decoder, whose per-event path asks ContainerID).
type Attributor struct {
	dir   string
	pods  map[uint64]string // pod cgroup id -> path: where unknown ids are looked for
	cache map[uint64]string // cgroup id -> container id ("": none, or unknown)
	order []uint64          // the cache's keys in insertion order, a ring: the oldest is evicted first
	next  int
}

// NewAttributor makes an Attributor for pods in h, caching entries cgroups (<= 0: DefaultCacheEntries).
func NewAttributor(h *Hierarchy, entries int) *Attributor {
	if entries <= 0 {
		entries = DefaultCacheEntries
	}
	return &Attributor{
		dir:   h.Dir,
		pods:  map[uint64]string{},
		cache: make(map[uint64]string, entries),
		order: make([]uint64, 0, entries),
	}
}

// Observe takes what a Watcher found. Call it for a pod's PodFound before the kernel filter selects the
// pod, so that the pod's records find it. A removed container's cgroup stays cached (records read after the
// removal still carry its id) until the bound evicts it.
func (a *Attributor) Observe(ev Event) {
	switch ev.Kind {
	case PodFound:
		a.pods[ev.Cgroup.ID] = ev.Cgroup.Path
		a.put(ev.Cgroup.ID, "")
	case PodRemoved:
		delete(a.pods, ev.Cgroup.ID)
	case ContainerFound:
		a.put(ev.Cgroup.ID, ev.ContainerID)
	}
}

// ContainerID returns the id of the container whose cgroup (or a cgroup below it) has the id cgroupID, or
// "" (the pod's own cgroup, an id in no pod followed).
func (a *Attributor) ContainerID(cgroupID uint64) string {
	if id, ok := a.cache[cgroupID]; ok {
		return id
	}
	return a.miss(cgroupID)
}

// Len is the number of cached cgroups.
func (a *Attributor) Len() int { return len(a.cache) }

// miss looks for an unknown id in every pod's cgroups, caching each cgroup it reads on the way; the id is
// cached as "" when it is in none (its cgroup is gone, and a cgroup id is never used again).
func (a *Attributor) miss(cgroupID uint64) string {
	found := ""
	for _, podPath := range a.pods {
		a.scan(podPath, podPath, 1, cgroupID, &found)
	}
	if _, ok := a.cache[cgroupID]; !ok {
		a.put(cgroupID, "")
	}
	return found
}

func (a *Attributor) scan(podPath, dir string, depth int, want uint64, found *string) {
	entries, err := os.ReadDir(filepath.Join(a.dir, dir))
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		rel := path.Join(dir, e.Name())
		id, err := ID(filepath.Join(a.dir, rel))
		if err != nil {
			continue
		}
		below, _, _ := strings.Cut(strings.TrimPrefix(rel, podPath+"/"), "/")
		ctr := ContainerIDFromName(below)
		if _, ok := a.cache[id]; !ok {
			a.put(id, strings.Clone(ctr))
		}
		if id == want {
			*found = ctr
		}
		if depth < maxScanDepth {
			a.scan(podPath, rel, depth+1, want, found)
		}
	}
}

// put caches an id, evicting the oldest entry when the cache is full.
func (a *Attributor) put(id uint64, containerID string) {
	if _, ok := a.cache[id]; ok {
		a.cache[id] = containerID
		return
	}
	if len(a.order) < cap(a.order) {
		a.order = append(a.order, id)
	} else {
		delete(a.cache, a.order[a.next])
		a.order[a.next] = id
		a.next = (a.next + 1) % len(a.order)
	}
	a.cache[id] = containerID
}
