//go:build linux

package cgroups

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary a process that only waits to be killed: the root tests move it between
// cgroups (no tool of the machine is needed, as in the kernel matrix's VMs).
const helperEnv = "SWOLL_CGROUPS_TEST_HELPER"

// Every watcher a test ran must be over when the tests end: no owner or inotify reader left.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "sleep" {
		time.Sleep(time.Duration(math.MaxInt64))
	}
	goleak.VerifyTestMain(m)
}

// eventWait bounds the wait for an event that must come; a passing wait ends as soon as it does.
const eventWait = 30 * time.Second

// fakeHierarchy builds a hierarchy in a temporary directory with the given cgroups and returns it with its
// kubepods cgroups found.
func fakeHierarchy(t *testing.T, cgroups ...string) *Hierarchy {
	t.Helper()
	dir := t.TempDir()
	makeTree(t, dir, true, true, cgroups...)
	kp, err := FindKubepods(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(kp) == 0 {
		t.Fatalf("no kubepods cgroup in %v", cgroups)
	}
	return &Hierarchy{Mode: ModeV2, Dir: dir, Kubepods: kp}
}

// runWatcher runs a watcher until the test ends, and checks that Run ended cleanly.
func runWatcher(t *testing.T, h *Hierarchy) *Watcher {
	t.Helper()
	w, err := NewWatcher(h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if _, ok := <-w.Events(); ok {
			t.Errorf("Events not closed after Run returned")
		}
	})
	return w
}

// nextEvent returns the watcher's next event, failing the test when none comes.
func nextEvent(t *testing.T, w *Watcher) Event {
	t.Helper()
	select {
	case ev := <-w.Events():
		return ev
	case <-time.After(eventWait):
		t.Fatalf("no event within %s", eventWait)
		return Event{}
	}
}

// expect checks the next event's kind, pod, container and path; it returns the event.
func expect(t *testing.T, w *Watcher, kind Kind, podUID, containerID, rel string) Event {
	t.Helper()
	ev := nextEvent(t, w)
	if ev.Kind != kind || ev.PodUID != podUID || ev.ContainerID != containerID || ev.Cgroup.Path != rel {
		t.Fatalf("event %s pod %s container %q path %s; want %s pod %s container %q path %s",
			ev.Kind, ev.PodUID, ev.ContainerID, ev.Cgroup.Path, kind, podUID, containerID, rel)
	}
	if ev.Kind == Trouble {
		return ev
	}
	if ev.Cgroup.Level != strings.Count(rel, "/") {
		t.Fatalf("event %s: level %d, want %d", ev.Kind, ev.Cgroup.Level, strings.Count(rel, "/"))
	}
	if ev.Kind == PodFound || ev.Kind == ContainerFound {
		var st unix.Stat_t
		must(t, unix.Stat(filepath.Join(w.h.Dir, rel), &st))
		if ev.Cgroup.ID != st.Ino {
			t.Fatalf("event %s: id %d, want the inode %d", ev.Kind, ev.Cgroup.ID, st.Ino)
		}
	}
	return ev
}

func mkdir(t *testing.T, h *Hierarchy, rel string) {
	t.Helper()
	must(t, os.Mkdir(filepath.Join(h.Dir, rel), 0o755))
}

// rmdir removes a cgroup of a fake tree (and the file that marks it as one, which the kernel's have not).
func rmdir(t *testing.T, h *Hierarchy, rel string) {
	t.Helper()
	_ = os.Remove(filepath.Join(h.Dir, rel, "cgroup.type"))
	must(t, os.Remove(filepath.Join(h.Dir, rel)))
}

// qosCgroups are the kubepods and class cgroups a kubelet makes at start, for a layout case.
func qosCgroups(kubepods string, driver Driver) []string {
	if driver == Cgroupfs {
		return []string{kubepods + "/burstable", kubepods + "/besteffort"}
	}
	base := strings.TrimSuffix(path.Base(kubepods), ".slice")
	return []string{kubepods + "/" + base + "-burstable.slice", kubepods + "/" + base + "-besteffort.slice"}
}

// containerDir is the name a runtime gives a container's cgroup under the driver.
func containerDir(driver Driver, id string) string {
	if driver == Cgroupfs {
		return id
	}
	return "cri-containerd-" + id + ".scope"
}

// TestWatcherFollowsAPod: a pod added before the kubelet makes its cgroup is reported the moment it does,
// then its containers' cgroups and their removals, for every driver, class and cgroup root.
func TestWatcherFollowsAPod(t *testing.T) {
	const other = "0c9d3b8e-0000-4000-8000-000000000001"
	for _, tc := range layoutCases {
		t.Run(tc.name, func(t *testing.T) {
			h := fakeHierarchy(t, qosCgroups(tc.kubepods, tc.driver)...)
			w := runWatcher(t, h)
			must(t, w.Add(t.Context(), uid))
			// a pod not asked for, in the same place, is not reported
			mkdir(t, h, strings.ReplaceAll(tc.pod, uid[:8], other[:8]))
			mkdir(t, h, tc.pod)
			ev := expect(t, w, PodFound, uid, "", tc.pod)
			if ev.QoS != tc.qos {
				t.Fatalf("QoS %s, want %s", ev.QoS, tc.qos)
			}
			ctr := tc.pod + "/" + containerDir(tc.driver, idA)
			mkdir(t, h, ctr)
			expect(t, w, ContainerFound, uid, idA, ctr)
			mkdir(t, h, ctr+"/container") // CRI-O's and crun's cgroup below the container's
			expect(t, w, ContainerFound, uid, idA, ctr+"/container")
			rmdir(t, h, ctr+"/container")
			expect(t, w, ContainerRemoved, uid, idA, ctr+"/container")
			rmdir(t, h, ctr)
			expect(t, w, ContainerRemoved, uid, idA, ctr)
			rmdir(t, h, tc.pod)
			expect(t, w, PodRemoved, uid, "", tc.pod)
			// the kubelet makes it again: still wanted, reported again
			mkdir(t, h, tc.pod)
			expect(t, w, PodFound, uid, "", tc.pod)
		})
	}
}

// TestWatcherFindsWhatExists: a pod added when its cgroup and containers exist is reported at once.
func TestWatcherFindsWhatExists(t *testing.T) {
	for _, tc := range layoutCases {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.pod + "/" + containerDir(tc.driver, idA)
			b := tc.pod + "/" + containerDir(tc.driver, idB)
			h := fakeHierarchy(t, append(qosCgroups(tc.kubepods, tc.driver), a, b, b+"/container")...)
			w := runWatcher(t, h)
			must(t, w.Add(t.Context(), uid))
			expect(t, w, PodFound, uid, "", tc.pod)
			// in the order ReadDir gives: by name, each followed by what is below it
			first, second := a, b
			firstID, secondID := idA, idB
			if path.Base(b) < path.Base(a) {
				first, second, firstID, secondID = b, a, idB, idA
			}
			expect(t, w, ContainerFound, uid, firstID, first)
			if first == b {
				expect(t, w, ContainerFound, uid, idB, b+"/container")
			}
			expect(t, w, ContainerFound, uid, secondID, second)
			if second == b {
				expect(t, w, ContainerFound, uid, idB, b+"/container")
			}
			// adding it again reports nothing new: the next event is the next container's
			must(t, w.Add(t.Context(), uid))
			c := tc.pod + "/" + containerDir(tc.driver, strings.Repeat("c", 64))
			mkdir(t, h, c)
			expect(t, w, ContainerFound, uid, strings.Repeat("c", 64), c)
		})
	}
}

// TestWatcherQoSCreatedLater: a class's cgroup made after the watcher started is watched too.
func TestWatcherQoSCreatedLater(t *testing.T) {
	for _, tc := range layoutCases {
		if tc.qos == Guaranteed {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			h := fakeHierarchy(t, tc.kubepods)
			w := runWatcher(t, h)
			must(t, w.Add(t.Context(), uid))
			mkdir(t, h, path.Dir(tc.pod))
			mkdir(t, h, tc.pod) // maybe before the watcher watches its class's cgroup: found by the look that follows
			expect(t, w, PodFound, uid, "", tc.pod)
		})
	}
}

func TestWatcherRemove(t *testing.T) {
	const uid2 = "11111111-2222-3333-4444-555555555555"
	h := fakeHierarchy(t, "/kubepods/besteffort")
	w := runWatcher(t, h)
	must(t, w.Add(t.Context(), uid))
	must(t, w.Remove(t.Context(), uid))
	must(t, w.Remove(t.Context(), "not-followed"))
	must(t, w.Add(t.Context(), uid2))
	mkdir(t, h, "/kubepods/besteffort/pod"+uid)
	mkdir(t, h, "/kubepods/besteffort/pod"+uid2)
	expect(t, w, PodFound, uid2, "", "/kubepods/besteffort/pod"+uid2)

	// a found pod removed: the watch on its cgroup goes, and nothing more is said about it
	must(t, w.Remove(t.Context(), uid2))
	mkdir(t, h, "/kubepods/besteffort/pod"+uid2+"/"+idA)
	must(t, w.Add(t.Context(), uid))
	expect(t, w, PodFound, uid, "", "/kubepods/besteffort/pod"+uid)
}

func TestWatcherRequests(t *testing.T) {
	h := fakeHierarchy(t, "/kubepods/besteffort")
	w, err := NewWatcher(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(t.Context(), "../x"); err == nil {
		t.Fatal("Add took a UID that names another directory")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := w.Add(ctx, uid); !errors.Is(err, context.Canceled) {
		t.Fatalf("Add with a cancelled context and no Run: %v", err)
	}
	if err := w.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := w.Add(t.Context(), uid); !errors.Is(err, ErrStopped) {
		t.Fatalf("Add after Run: %v, want ErrStopped", err)
	}
}

func TestNewWatcherWithoutKubepods(t *testing.T) {
	h := &Hierarchy{Dir: t.TempDir(), Kubepods: []Kubepods{{Path: "/kubepods", Driver: Cgroupfs, base: "kubepods"}}}
	if _, err := NewWatcher(h); err == nil || !strings.Contains(err.Error(), "watching /kubepods") {
		t.Fatalf("NewWatcher: %v", err)
	}
}

// TestWatcherResync: after inotify's queue overflowed, what changed meanwhile is read again.
func TestWatcherResync(t *testing.T) {
	h := fakeHierarchy(t, "/kubepods/burstable")
	w, err := NewWatcher(h) // not run: the test drives the owner's methods itself
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.file.Close() }()
	pod := "/kubepods/besteffort/pod" + uid
	w.add(uid)
	mkdir(t, h, "/kubepods/besteffort")
	mkdir(t, h, pod)
	mkdir(t, h, pod+"/"+idA)
	mkdir(t, h, pod+"/"+idA+"/sub")
	overflow := rawEvent{wd: -1, mask: unix.IN_Q_OVERFLOW}
	w.handle(overflow)
	checkPending(t, w, "pod found "+pod, "container found "+pod+"/"+idA, "container found "+pod+"/"+idA+"/sub")
	if !w.qosDirs["/kubepods/besteffort"] {
		t.Fatalf("the class's cgroup made meanwhile is not watched")
	}

	mkdir(t, h, pod+"/"+idB)
	rmdir(t, h, pod+"/"+idA+"/sub")
	w.handle(overflow)
	checkPending(t, w, "container removed "+pod+"/"+idA+"/sub", "container found "+pod+"/"+idB)

	rmdir(t, h, pod+"/"+idA)
	rmdir(t, h, pod+"/"+idB)
	rmdir(t, h, pod)
	w.handle(overflow)
	// in any order the containers, then the pod
	got := pendingStrings(w)
	if len(got) != 3 || got[2] != "pod removed "+pod || !strings.HasPrefix(got[0], "container removed") || !strings.HasPrefix(got[1], "container removed") {
		t.Fatalf("events after the pod went: %q", got)
	}
	w.pending = nil
	w.handle(overflow)
	checkPending(t, w)
}

func pendingStrings(w *Watcher) []string {
	var got []string
	for _, ev := range w.pending {
		got = append(got, ev.Kind.String()+" "+ev.Cgroup.Path)
	}
	return got
}

func checkPending(t *testing.T, w *Watcher, want ...string) {
	t.Helper()
	if got := pendingStrings(w); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	w.pending = nil
}

func TestParseInotify(t *testing.T) {
	var buf []byte
	add := func(wd int32, mask uint32, name string) {
		h := make([]byte, unix.SizeofInotifyEvent)
		binary.NativeEndian.PutUint32(h[0:], uint32(wd))
		binary.NativeEndian.PutUint32(h[4:], mask)
		n := 0
		if name != "" {
			n = (len(name) + 1 + 15) &^ 15 // NUL-padded, as the kernel does
		}
		binary.NativeEndian.PutUint32(h[12:], uint32(n))
		buf = append(buf, h...)
		buf = append(buf, name...)
		buf = append(buf, make([]byte, n-len(name))...)
	}
	add(3, unix.IN_CREATE|unix.IN_ISDIR, "pod"+uid)
	add(-1, unix.IN_Q_OVERFLOW, "")
	add(4, unix.IN_IGNORED, "")
	got := parseInotify(append(buf, 1, 2, 3)) // and a truncated tail
	want := []rawEvent{{3, unix.IN_CREATE | unix.IN_ISDIR, "pod" + uid}, {-1, unix.IN_Q_OVERFLOW, ""}, {4, unix.IN_IGNORED, ""}}
	if len(got) != len(want) {
		t.Fatalf("parseInotify = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
