//go:build linux

package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/nodeagent/cgroups"
	"github.com/swoll-dev/swoll/nodeagent/cri"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/protocol"
)

const testPodUID = "0f0e0d0c-0b0a-4908-8706-050403020100"

// ctrID is a container id (64 hex digits).
func ctrID(n int) string { return fmt.Sprintf("%064x", 0xc0ffee00+n) }

// cgroupTree is a node's cgroup hierarchy in a temporary directory, with the cgroupfs driver's layout: the
// watcher follows it through inotify as it does the real one.
type cgroupTree struct {
	t   *testing.T
	dir string
}

func newCgroupTree(t *testing.T) *cgroupTree {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "kubepods/besteffort"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &cgroupTree{t: t, dir: dir}
}

func (c *cgroupTree) hierarchy() (*cgroups.Hierarchy, error) {
	kp, err := cgroups.FindKubepods(c.dir)
	return &cgroups.Hierarchy{Mode: cgroups.ModeV2, Dir: c.dir, Kubepods: kp}, err
}

func podCgroup(uid string) string { return "/kubepods/besteffort/pod" + uid }

// mkdir makes a cgroup and returns its id.
func (c *cgroupTree) mkdir(rel string) uint64 {
	c.t.Helper()
	p := filepath.Join(c.dir, rel)
	if err := os.Mkdir(p, 0o755); err != nil {
		c.t.Fatal(err)
	}
	id, err := cgroups.ID(p)
	if err != nil {
		c.t.Fatal(err)
	}
	return id
}

func (c *cgroupTree) rmdir(rel string) {
	c.t.Helper()
	if err := os.Remove(filepath.Join(c.dir, rel)); err != nil {
		c.t.Fatal(err)
	}
}

// newPodHarness is a session whose node has cgroups (tree).
func newPodHarness(t *testing.T, tree *cgroupTree, tweak func(*Config)) *harness {
	return newHarness(t, func(c *Config) {
		c.Cgroups = tree.hierarchy
		if tweak != nil {
			tweak(c)
		}
	})
}

func (h *harness) sendPod(p protocol.Pod) {
	h.t.Helper()
	b, err := json.Marshal(protocol.Command{Op: protocol.OpPod, Pod: &p})
	if err != nil {
		h.t.Fatal(err)
	}
	h.send(string(b))
}

// kernelTarget waits until the tracer selects cgroup id and returns its target id.
func (h *harness) kernelTarget(id uint64) cgroupTarget {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ct, ok := h.tracer.cgroupTargets()[id]; ok {
			return ct
		}
		time.Sleep(time.Millisecond)
	}
	h.t.Fatalf("cgroup %d is not selected: %v; stderr:\n%s", id, h.tracer.cgroupTargets(), h.stderr.String())
	return cgroupTarget{}
}

// waitStderr waits until the session's diagnostics say want.
func (h *harness) waitStderr(want string) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(h.stderr.String(), want) {
		if time.Now().After(deadline) {
			h.t.Fatalf("stderr lacks %q:\n%s", want, h.stderr.String())
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *harness) expectEvent() *event.Event {
	h.t.Helper()
	l := h.next()
	if l.Event == nil {
		h.t.Fatalf("got notice %+v, want an event; stderr:\n%s", l.Notice, h.stderr.String())
	}
	return l.Event
}

func restarts(n *int) string {
	if n == nil {
		return "none"
	}
	return fmt.Sprint(*n)
}

// Pass: a pod sent before it exists is selected by its cgroup the moment the kubelet makes it; each container
// is named from the runtime, said to start (not late) and selected by its own cgroup; the records of its pod's
// target are named after their container; its end says its exit status.
func TestPodIsTracedFromItsCgroup(t *testing.T) {
	tree := newCgroupTree(t)
	h := newPodHarness(t, tree, nil)
	h.send(`{"op":"start","start":{"version":2,"node":"node-a","session":"s1","syscalls":["openat"]}}`)
	ready := h.expectNotice(event.NoticeReady)
	if ready.Selection != event.SelectionCgroup || !strings.Contains(ready.Message, "cgroup v2") {
		t.Fatalf("ready notice %+v, want selection by cgroup", ready)
	}
	h.sendPod(protocol.Pod{UID: testPodUID, Name: "crash", Namespace: "default", Labels: map[string]string{"tier": "crash"},
		Containers: []protocol.Container{{Name: "main", Kind: protocol.KindRegular}, {Name: "setup", Kind: protocol.KindInit}}})
	h.send(`{"op":"ping"}`)
	if got := h.tracer.cgroupTargets(); len(got) != 0 {
		t.Fatalf("selected %v before the pod's cgroup exists", got)
	}

	podID := tree.mkdir(podCgroup(testPodUID))
	n := h.expectNotice(event.NoticeTargetAttached)
	if n.PodUID != testPodUID || n.Pod != "crash" || n.Namespace != "default" || !strings.Contains(n.Message, podCgroup(testPodUID)) {
		t.Fatalf("attached notice %+v", n)
	}
	pod := h.kernelTarget(podID)
	if pod.target&podTargetBit == 0 || pod.level != 3 {
		t.Fatalf("pod target %+v, want a pod's id at level 3", pod)
	}
	if h.tracer.hierarchy != "" {
		t.Fatalf("hierarchy %q, want the unified one", h.tracer.hierarchy)
	}

	// The sandbox: never traced, nothing said.
	sandbox := ctrID(0)
	h.runtime.set(sandbox, cri.Status{Sandbox: true, PodUID: testPodUID})
	sandboxCg := tree.mkdir(podCgroup(testPodUID) + "/" + sandbox)
	// The init container, then the main container's first and second runs.
	started := time.Now().Add(time.Second) // after the pod's selection: traced whole
	for i, c := range []struct {
		name     string
		restarts int
		exit     int
		kind     protocol.ContainerKind
		signal   string
	}{
		{"setup", 0, 0, protocol.KindInit, ""},
		{"main", 0, 1, protocol.KindRegular, ""},
		{"main", 1, 137, protocol.KindRegular, "SIGKILL"},
	} {
		id := ctrID(i + 1)
		h.runtime.set(id, cri.Status{Name: c.name, RestartCount: c.restarts, PodUID: testPodUID, State: cri.StateRunning,
			CreatedAt: started.Add(-time.Millisecond), StartedAt: started})
		cg := podCgroup(testPodUID) + "/" + id
		cgID := tree.mkdir(cg)
		n := h.expectNotice(event.NoticeContainerStarted)
		if n.ContainerID != id || n.Container != c.name || n.ContainerKind != string(c.kind) || restarts(n.RestartCount) != fmt.Sprint(c.restarts) ||
			n.PodUID != testPodUID || n.TracedFromNs != 0 || n.Time != started.Add(-time.Millisecond).UnixNano() {
			t.Fatalf("run %d: started notice %+v (restarts %s)", i, n, restarts(n.RestartCount))
		}
		own := h.kernelTarget(cgID)
		if own.target&podTargetBit != 0 || own.level != 4 {
			t.Fatalf("run %d: its own cgroup's target %+v, want a container's at level 4", i, own)
		}
		// A record the kernel tagged with the pod (read before the container's own target), and one tagged with
		// the container: both name it.
		for _, target := range []uint32{pod.target, own.target} {
			h.feed(record.Record{Nr: 257, Pid: uint32(100 + i), TargetID: target, Cgroup: cgID})
			ev := h.expectEvent()
			if ev.Container == nil || ev.Container.Name != c.name || ev.Container.ID != id || ev.Container.Pod != "crash" ||
				restarts(ev.Container.RestartCount) != fmt.Sprint(c.restarts) {
				t.Fatalf("run %d, target %x: event container %+v", i, target, ev.Container)
			}
		}
		h.runtime.set(id, cri.Status{Name: c.name, RestartCount: c.restarts, State: cri.StateExited, ExitCode: c.exit,
			Reason: "Error", StartedAt: started, FinishedAt: started.Add(3 * time.Millisecond)})
		tree.rmdir(cg)
		end := h.expectNotice(event.NoticeContainerEnded)
		if end.ContainerID != id || end.Container != c.name || end.ExitCode == nil || *end.ExitCode != c.exit || end.Signal != c.signal ||
			restarts(end.RestartCount) != fmt.Sprint(c.restarts) || end.Time != started.Add(3*time.Millisecond).UnixNano() {
			t.Fatalf("run %d: ended notice %+v", i, end)
		}
		if _, ok := h.tracer.cgroupTargets()[cgID]; ok {
			t.Fatalf("run %d: its removed cgroup is still selected", i)
		}
	}
	// The sandbox's records are dropped; the pod's own cgroup's carry the pod's names.
	h.feed(record.Record{Nr: 257, Pid: 9, TargetID: pod.target, Cgroup: sandboxCg})
	h.feed(record.Record{Nr: 257, Pid: 10, TargetID: pod.target, Cgroup: podID})
	if ev := h.expectEvent(); ev.Pid != 10 || ev.Container == nil || ev.Container.Pod != "crash" || ev.Container.Name != "" {
		t.Fatalf("event %+v (container %+v), want pid 10's with the pod's names only", ev, ev.Container)
	}
	if _, ok := h.tracer.cgroupTargets()[sandboxCg]; ok {
		t.Fatal("the sandbox's cgroup is selected")
	}

	h.send(`{"op":"forget","pod_uid":"` + testPodUID + `"}`)
	if n := h.expectNotice(event.NoticeTargetDetached); n.PodUID != testPodUID {
		t.Fatalf("detached notice %+v", n)
	}
	if got := h.tracer.cgroupTargets(); len(got) != 0 {
		t.Fatalf("still selected after forget: %v", got)
	}
	h.send(`{"op":"stop"}`)
	h.expectNotice(event.NoticeExit)
}

// Pass: the records of a container the runtime has not named yet wait, and are written, named, in their order
// once it answers; a container that is not selected (-c) has its records dropped and its own cgroup left out,
// and nothing said of it.
func TestRecordsWaitForTheirContainersName(t *testing.T) {
	tree := newCgroupTree(t)
	podCg := podCgroup(testPodUID)
	podID := tree.mkdir(podCg) // the pod exists already when it is sent
	h := newPodHarness(t, tree, nil)
	h.start("")
	h.sendPod(protocol.Pod{UID: testPodUID, Name: "web", Namespace: "shop", Select: []string{"web"},
		Containers: []protocol.Container{{Name: "web", Kind: protocol.KindRegular}, {Name: "proxy", Kind: protocol.KindRegular}}})
	h.expectNotice(event.NoticeTargetAttached)
	pod := h.kernelTarget(podID)

	web, proxy := ctrID(1), ctrID(2)
	release, _ := h.runtime.hold(web)
	h.runtime.set(web, cri.Status{Name: "web", RestartCount: 2, State: cri.StateRunning})
	h.runtime.set(proxy, cri.Status{Name: "proxy", State: cri.StateRunning})
	webCg, proxyCg := tree.mkdir(podCg+"/"+web), tree.mkdir(podCg+"/"+proxy)
	for pid := uint32(1); pid <= 3; pid++ {
		h.feed(record.Record{Nr: 257, Pid: pid, TargetID: pod.target, Cgroup: webCg})
		h.feed(record.Record{Nr: 257, Pid: 100 + pid, TargetID: pod.target, Cgroup: proxyCg})
	}
	release()
	if n := h.expectNotice(event.NoticeContainerStarted); n.Container != "web" {
		t.Fatalf("started notice %+v, want web's (proxy is not selected)", n)
	}
	for pid := 1; pid <= 3; pid++ {
		ev := h.expectEvent()
		if ev.Pid != pid || ev.Container == nil || ev.Container.Name != "web" || restarts(ev.Container.RestartCount) != "2" {
			t.Fatalf("event %d: pid %d container %+v, want web's in order", pid, ev.Pid, ev.Container)
		}
	}
	h.kernelTarget(webCg)
	if _, ok := h.tracer.cgroupTargets()[proxyCg]; ok {
		t.Fatal("proxy's cgroup is selected")
	}
	h.feed(record.Record{Nr: 257, Pid: 200, TargetID: pod.target, Cgroup: proxyCg})
	h.feed(record.Record{Nr: 257, Pid: 4, TargetID: pod.target, Cgroup: webCg})
	if ev := h.expectEvent(); ev.Pid != 4 {
		t.Fatalf("event of pid %d, want web's 4 (proxy's are dropped)", ev.Pid)
	}
	tree.rmdir(podCg + "/" + proxy) // no end is said of a container that was not traced
	h.send(`{"op":"stop"}`)
	if n := h.expectNotice(event.NoticeExit); n.Events != 4 {
		t.Fatalf("exit notice %+v, want 4 events", n)
	}
}

// Pass: a container the runtime cannot name within the hold's time has its records written without its name
// when the whole pod is traced, and dropped and counted under a -c selection, which cannot tell.
func TestUnnamedContainerAfterTheHold(t *testing.T) {
	for _, sel := range [][]string{nil, {"web"}} {
		t.Run(fmt.Sprintf("select %v", sel), func(t *testing.T) {
			tree := newCgroupTree(t)
			podCg := podCgroup(testPodUID)
			podID := tree.mkdir(podCg)
			h := newPodHarness(t, tree, nil)
			h.start("")
			h.sendPod(protocol.Pod{UID: testPodUID, Name: "web", Namespace: "shop", Select: sel})
			h.expectNotice(event.NoticeTargetAttached)
			pod := h.kernelTarget(podID)
			id := ctrID(7) // the runtime does not know it
			cg := tree.mkdir(podCg + "/" + id)
			h.feed(record.Record{Nr: 257, Pid: 1, TargetID: pod.target, Cgroup: cg})
			if sel == nil {
				ev := h.expectEvent()
				if ev.Container == nil || ev.Container.ID != id || ev.Container.Name != "" || ev.Container.RestartCount != nil {
					t.Fatalf("container %+v, want its id only", ev.Container)
				}
				return
			}
			n := h.expectNotice(event.NoticeUnattributed)
			if n.ContainerID != id || n.Dropped != 1 || n.PodUID != testPodUID {
				t.Fatalf("unattributed notice %+v, want 1 of %s", n, id)
			}
		})
	}
}

// Pass: a container whose run is over before the runtime named it is said to start, then to end; a pod whose
// labels change has its containers' events carry the new ones.
func TestContainerEndsBeforeItIsNamed(t *testing.T) {
	tree := newCgroupTree(t)
	podCg := podCgroup(testPodUID)
	podID := tree.mkdir(podCg)
	h := newPodHarness(t, tree, nil)
	h.start("")
	pod := protocol.Pod{UID: testPodUID, Name: "job", Namespace: "ns", Labels: map[string]string{"v": "1"}}
	h.sendPod(pod)
	h.expectNotice(event.NoticeTargetAttached)
	target := h.kernelTarget(podID).target
	id := ctrID(5)
	release, asked := h.runtime.hold(id) // the start's lookup waits
	h.runtime.set(id, cri.Status{Name: "step", State: cri.StateExited, ExitCode: 3})
	cg := tree.mkdir(podCg + "/" + id)
	<-asked // the session knows its cgroup
	h.feed(record.Record{Nr: 231, Pid: 1, TargetID: target, Cgroup: cg})
	endRelease, endAsked := h.runtime.hold(id)
	tree.rmdir(podCg + "/" + id) // the end's lookup answers first
	<-endAsked
	endRelease()
	h.waitStderr("ended before the runtime named it")
	release()
	if n := h.expectNotice(event.NoticeContainerStarted); n.Container != "step" {
		t.Fatalf("started notice %+v", n)
	}
	if ev := h.expectEvent(); ev.Pid != 1 || ev.Container == nil || ev.Container.Name != "step" {
		t.Fatalf("event %+v of %+v, want the held one, named", ev, ev.Container)
	}
	if n := h.expectNotice(event.NoticeContainerEnded); n.Container != "step" || n.ExitCode == nil || *n.ExitCode != 3 {
		t.Fatalf("ended notice %+v, want step's, status 3", n)
	}

	// Its labels change: the events of a traced container say so.
	other := ctrID(6)
	h.runtime.set(other, cri.Status{Name: "web", State: cri.StateRunning})
	otherCg := tree.mkdir(podCg + "/" + other)
	h.expectNotice(event.NoticeContainerStarted)
	own := h.kernelTarget(otherCg).target
	pod.Labels = map[string]string{"v": "2"}
	h.sendPod(pod)
	h.send(`{"op":"ping"}`)
	h.feed(record.Record{Nr: 257, Pid: 2, TargetID: own, Cgroup: otherCg})
	if ev := h.expectEvent(); ev.Container == nil || ev.Container.Name != "web" {
		t.Fatalf("event container %+v", ev.Container)
	}
}

// Pass: a container that started before its pod was selected is said to be traced from later than its start.
func TestLateContainerIsNamed(t *testing.T) {
	tree := newCgroupTree(t)
	podCg := podCgroup(testPodUID)
	podID := tree.mkdir(podCg)
	id := ctrID(3)
	tree.mkdir(podCg + "/" + id)
	h := newPodHarness(t, tree, nil)
	h.runtime.set(id, cri.Status{Name: "main", RestartCount: 4, State: cri.StateRunning, StartedAt: time.Now().Add(-5500 * time.Millisecond)})
	h.start("")
	h.sendPod(protocol.Pod{UID: testPodUID, Name: "old", Namespace: "ns"})
	h.expectNotice(event.NoticeTargetAttached)
	h.kernelTarget(podID)
	n := h.expectNotice(event.NoticeContainerStarted)
	if n.TracedFromNs < int64(5500*time.Millisecond) || n.TracedFromNs > int64(time.Minute) || !strings.Contains(n.Message, "traced from its 6th second") {
		t.Fatalf("started notice %+v, want traced from its 6th second", n)
	}
}

// Pass: where the node's cgroups cannot be read, the ready notice says so and a pod's running containers are
// traced by mount namespace, named by the plugin, and said to start (late).
func TestPodFallsBackToMountNamespaces(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Cgroups = func() (*cgroups.Hierarchy, error) { return nil, errors.New("cgroups: no kubepods cgroup found") }
	})
	h.send(`{"op":"start","start":{"version":2,"node":"node-a","session":"s1"}}`)
	ready := h.expectNotice(event.NoticeReady)
	if ready.Selection != event.SelectionMountNS || !strings.Contains(ready.Message, "no kubepods cgroup") {
		t.Fatalf("ready notice %+v, want the mount namespace fallback and why", ready)
	}
	h.runtime.set("c1", cri.Status{Name: "web", RestartCount: 1, State: cri.StateRunning, StartedAt: time.Now().Add(-2 * time.Second)})
	h.sendPod(protocol.Pod{UID: testPodUID, Name: "web", Namespace: "shop", Containers: []protocol.Container{
		{Name: "web", Kind: protocol.KindRegular, ID: "containerd://c1", RestartCount: 1, Running: true},
		{Name: "waiting", Kind: protocol.KindRegular},
	}})
	if n := h.expectNotice(event.NoticeTargetAttached); n.ContainerID != "containerd://c1" || n.PodUID != testPodUID || n.Container != "web" {
		t.Fatalf("attached notice %+v", n)
	}
	n := h.expectNotice(event.NoticeContainerStarted)
	if n.Container != "web" || restarts(n.RestartCount) != "1" || !strings.Contains(n.Message, "traced from its 3rd second") {
		t.Fatalf("started notice %+v", n)
	}
	ns, _ := h.tracer.state()
	h.feed(record.Record{Nr: 257, Pid: 5, TargetID: ns[100000]})
	if ev := h.expectEvent(); ev.Container == nil || ev.Container.Name != "web" || restarts(ev.Container.RestartCount) != "1" {
		t.Fatalf("event container %+v", ev.Container)
	}
	// The container's run is over when the plugin's pod says so.
	h.runtime.set("c1", cri.Status{Name: "web", RestartCount: 1, State: cri.StateExited, ExitCode: 2})
	h.sendPod(protocol.Pod{UID: testPodUID, Name: "web", Namespace: "shop", Containers: []protocol.Container{
		{Name: "web", Kind: protocol.KindRegular, ID: "containerd://c1", RestartCount: 1}}})
	h.expectNotice(event.NoticeTargetDetached)
	if n := h.expectNotice(event.NoticeContainerEnded); n.ExitCode == nil || *n.ExitCode != 2 {
		t.Fatalf("ended notice %+v", n)
	}
}

// podEventPath is realEventPath for a pod's record (the pod's target, the container's cgroup): the per-event
// path names it after its container, which the attributor and the session know.
func podEventPath(t testing.TB) (*session, *record.Record) {
	s, rec := realEventPath(t)
	dir := t.TempDir()
	h := &cgroups.Hierarchy{Mode: cgroups.ModeV2, Dir: dir}
	s.cg = &cgroupSel{h: h, at: cgroups.NewAttributor(h, 0)}
	const cg = 4242
	id := ctrID(1)
	s.cg.at.Observe(cgroups.Event{Kind: cgroups.ContainerFound, PodUID: testPodUID, ContainerID: id,
		Cgroup: cgroups.Cgroup{Path: podCgroup(testPodUID) + "/" + id, ID: cg, Level: 4}})
	s.ctrs = map[string]*ctr{id: {id: id, phase: phaseTraced, stamp: 1}}
	rec.TargetID, rec.Cgroup = podTargetBit|1, cg
	return s, rec
}

// Pass: naming a pod's record after its container costs no allocation once the container is known.
func TestPodEventPathDoesNotAllocate(t *testing.T) {
	s, rec := podEventPath(t)
	defer func() { _ = s.out.Close() }()
	if allocs := testing.AllocsPerRun(1000, func() {
		rec.TargetID = podTargetBit | 1
		s.onRecord(rec)
	}); allocs != 0 {
		t.Fatalf("%v allocations per event, want 0", allocs)
	}
	if rec.TargetID != 1 {
		t.Fatalf("the record's target is %x, want its container's, 1", rec.TargetID)
	}
}

// BenchmarkEventPath compares a container's record (its names from its target id) with a pod's record named
// after its container on the per-event path (the attributor's cache, then the session's containers).
func BenchmarkEventPath(b *testing.B) {
	for _, bc := range []struct {
		name string
		path func(testing.TB) (*session, *record.Record)
	}{{"container target", realEventPath}, {"pod target", podEventPath}} {
		b.Run(bc.name, func(b *testing.B) {
			s, rec := bc.path(b)
			defer func() { _ = s.out.Close() }()
			target := rec.TargetID
			b.ReportAllocs()
			for b.Loop() {
				rec.TargetID = target
				s.onRecord(rec)
			}
		})
	}
}
