//go:build linux

package cgroups

import (
	"fmt"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func inode(t *testing.T, h *Hierarchy, rel string) uint64 {
	t.Helper()
	var st unix.Stat_t
	must(t, unix.Stat(filepath.Join(h.Dir, rel), &st))
	return st.Ino
}

// TestAttributor: ids the watcher reported are answered from the cache; ids it did not report yet are found
// in the pods' cgroups, for every layout.
func TestAttributor(t *testing.T) {
	for _, tc := range layoutCases {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.pod + "/" + containerDir(tc.driver, idA)
			b := tc.pod + "/" + containerDir(tc.driver, idB)
			conmon := tc.pod + "/crio-conmon-" + idB + ".scope"
			h := fakeHierarchy(t, append(qosCgroups(tc.kubepods, tc.driver), a, b, b+"/container", b+"/container/x/y/z", conmon)...)
			at := NewAttributor(h, 0)
			podID := inode(t, h, tc.pod)
			at.Observe(Event{Kind: PodFound, PodUID: uid, Cgroup: Cgroup{Path: tc.pod, ID: podID}})
			at.Observe(Event{Kind: ContainerFound, PodUID: uid, ContainerID: idA, Cgroup: Cgroup{Path: a, ID: inode(t, h, a)}})
			tests := []struct {
				rel  string
				want string
			}{
				{a, idA}, // reported
				{b, idB}, // not reported: looked for
				{b + "/container", idB},
				{b + "/container/x/y", idB}, // maxScanDepth below the pod
				{conmon, ""},
				{tc.pod, ""},
			}
			for _, tt := range tests {
				if got := at.ContainerID(inode(t, h, tt.rel)); got != tt.want {
					t.Errorf("ContainerID(%s) = %q, want %q", tt.rel, got, tt.want)
				}
			}
			if got := at.ContainerID(inode(t, h, b+"/container/x/y/z")); got != "" {
				t.Errorf("a cgroup deeper than maxScanDepth was attributed to %q", got)
			}
			// an id found nowhere is answered "" from then on without looking again
			at.ContainerID(1 << 60)
			if got, ok := at.cache[1<<60]; !ok || got != "" {
				t.Errorf("an unknown id is not cached as none")
			}
			// a removed pod is no longer looked in (made before any directory is removed: ext4 reuses inode
			// numbers, which kernfs never does with ids)
			at.Observe(Event{Kind: PodRemoved, PodUID: uid, Cgroup: Cgroup{Path: tc.pod, ID: podID}})
			c := tc.pod + "/" + containerDir(tc.driver, idB[:60]+"cccc")
			mkdir(t, h, c)
			if got := at.ContainerID(inode(t, h, c)); got != "" {
				t.Errorf("a cgroup of a removed pod was attributed to %q", got)
			}
			// after one lookup, the pod's cgroups are all cached: gone from the tree, still answered
			n, gone := at.Len(), inode(t, h, b+"/container/x/y")
			rmdir(t, h, b+"/container/x/y/z")
			rmdir(t, h, b+"/container/x/y")
			if got := at.ContainerID(gone); got != idB {
				t.Errorf("ContainerID(%s) = %q once removed, want %q", b+"/container/x/y", got, idB)
			}
			if at.Len() != n {
				t.Errorf("the cache grew from %d to %d on known ids", n, at.Len())
			}
		})
	}
}

func TestAttributorKnownIDsAllocateNothing(t *testing.T) {
	at := NewAttributor(&Hierarchy{Dir: t.TempDir()}, 0)
	for i := range 100 {
		at.Observe(Event{Kind: ContainerFound, ContainerID: fmt.Sprintf("%064x", i), Cgroup: Cgroup{ID: uint64(i + 1)}})
	}
	var id string
	if n := testing.AllocsPerRun(1000, func() { id = at.ContainerID(42) }); n != 0 {
		t.Fatalf("ContainerID of a known id allocates %v times", n)
	}
	if id != fmt.Sprintf("%064x", 41) {
		t.Fatalf("ContainerID(42) = %q", id)
	}
}

func TestAttributorBound(t *testing.T) {
	at := NewAttributor(&Hierarchy{Dir: t.TempDir()}, 4)
	for i := uint64(1); i <= 10; i++ {
		at.Observe(Event{Kind: ContainerFound, ContainerID: fmt.Sprint(i), Cgroup: Cgroup{ID: i}})
		if at.Len() > 4 {
			t.Fatalf("%d cached after %d ids, bound 4", at.Len(), i)
		}
	}
	for i := uint64(1); i <= 10; i++ {
		_, ok := at.cache[i]
		if want := i > 6; ok != want {
			t.Errorf("id %d cached: %v, want %v (the oldest go first)", i, ok, want)
		}
	}
	// an update keeps its place
	at.Observe(Event{Kind: ContainerFound, ContainerID: "new", Cgroup: Cgroup{ID: 7}})
	if at.ContainerID(7) != "new" || at.Len() != 4 {
		t.Fatalf("update: %q, %d cached", at.ContainerID(7), at.Len())
	}
}

// BenchmarkAttributorKnown is the per-event cost of naming a known cgroup's container.
func BenchmarkAttributorKnown(b *testing.B) {
	at := NewAttributor(&Hierarchy{Dir: b.TempDir()}, 0)
	for i := range 64 {
		at.Observe(Event{Kind: ContainerFound, ContainerID: fmt.Sprintf("%064x", i), Cgroup: Cgroup{ID: uint64(i + 1)}})
	}
	b.ReportAllocs()
	var n int
	for i := 0; b.Loop(); i++ {
		n += len(at.ContainerID(uint64(i&63 + 1)))
	}
	if n == 0 {
		b.Fatal("no container named")
	}
}
