//go:build linux

package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Kind says what an Event reports.
type Kind uint8

// The kinds of events.
const (
	// PodFound: a wanted pod's cgroup exists (reported once per cgroup: again only if it is recreated).
	PodFound Kind = iota + 1
	// PodRemoved: a found pod's cgroup was removed (the pod is gone from the node).
	PodRemoved
	// ContainerFound: a cgroup appeared in a found pod's cgroup: a container's (the sandbox's included), or
	// one below it (CRI-O's crio-<id>.scope/container).
	ContainerFound
	// ContainerRemoved: such a cgroup was removed (its container ended).
	ContainerRemoved
	// Trouble: something the watcher could not do for a pod (Err says what); it goes on with the rest.
	Trouble
)

var kindNames = map[Kind]string{PodFound: "pod found", PodRemoved: "pod removed", ContainerFound: "container found",
	ContainerRemoved: "container removed", Trouble: "trouble"}

func (k Kind) String() string { return kindNames[k] }

// Cgroup is one cgroup of the hierarchy.
type Cgroup struct {
	// Path is the cgroup's path from the hierarchy's root ("/swoll-a/kubepods/besteffort/pod<uid>").
	Path string
	// ID is the cgroup's id (see ID).
	ID uint64
	// Level is the cgroup's depth, the root's being 0: the argument of bpf_get_current_ancestor_cgroup_id()
	// that yields ID for the cgroup's tasks and descendants.
	Level int
}

// Event reports a pod's or a container's cgroup.
type Event struct {
	Kind   Kind
	PodUID string
	// QoS is the pod's class (pod events).
	QoS QoS
	// ContainerID is the id the container's cgroup name holds (container events; "" for a cgroup in the pod
	// that names no container).
	ContainerID string
	Cgroup      Cgroup
	Err         error // Trouble
}

// maxWatchDepth is how far below a pod's cgroup the watcher follows new cgroups: the container's and one
// level below it.
const maxWatchDepth = 2

// inotifyMask is what the watcher asks of every directory it watches: cgroups are made and removed with
// mkdir(2) and rmdir(2), which kernfs reports like any file system.
const inotifyMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_ONLYDIR

// inotifyBufBytes is the size of one read of the inotify queue.
const inotifyBufBytes = 64 << 10

// dirKind is the role of a watched directory.
type dirKind uint8

const (
	kindKubepods dirKind = iota + 1
	kindQoS
	kindPod
	kindContainer // a container's cgroup or one below it, down to maxWatchDepth
)

type watched struct {
	kind  dirKind
	rel   string    // the cgroup's path in the hierarchy
	kp    *Kubepods // kindKubepods, kindQoS
	qos   QoS       // kindQoS
	pod   *pod      // kindPod, kindContainer
	depth int       // kindContainer: 1 for a container's cgroup
}

// pod is the watcher's state of one wanted pod.
type pod struct {
	uid     string
	found   bool
	qos     QoS
	cg      Cgroup
	cgroups map[string]containerCgroup // the cgroups below it, by path
}

type containerCgroup struct {
	id          uint64
	containerID string
	wd          int32 // -1: not watched
}

type request struct {
	add bool
	uid string
}

type rawEvent struct {
	wd   int32
	mask uint32
	name string
}

// Watcher reports the cgroups of the pods it is told about, and of their containers, as they appear and
// disappear. Its state has one owner, the goroutine running Run; Add and Remove may be called from any
// goroutine (they hand the request to Run), and Events is read by one consumer.
type Watcher struct {
	h          *Hierarchy
	file       *os.File // the inotify instance
	fd         int      // its descriptor, for inotify_add_watch(2) and inotify_rm_watch(2)
	reqs       chan request
	events     chan Event
	raw        chan []rawEvent
	stop       chan struct{} // closed when Run returns
	readerDone chan struct{}

	// Owned by Run's goroutine (NewWatcher sets them up before it starts).
	watches map[int32]*watched
	qosDirs map[string]bool // watched QoS directories, by path
	pods    map[string]*pod // wanted pods, by UID
	pending []Event         // events not yet taken from Events
}

// NewWatcher watches the kubepods cgroups of h and their QoS classes' cgroups. Run it, then Add pods: Run
// releases the inotify instance when it returns (a watcher that will not run is released by Run with a done
// context). The watcher keeps h, which must not change.
func NewWatcher(h *Hierarchy) (*Watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("cgroups: inotify: %w", err)
	}
	w := &Watcher{
		h:          h,
		file:       os.NewFile(uintptr(fd), "inotify"), // non-blocking: reads wait in the runtime's poller
		fd:         fd,
		reqs:       make(chan request),
		events:     make(chan Event),
		raw:        make(chan []rawEvent),
		stop:       make(chan struct{}),
		readerDone: make(chan struct{}),
		watches:    map[int32]*watched{},
		qosDirs:    map[string]bool{},
		pods:       map[string]*pod{},
	}
	for i := range h.Kubepods {
		kp := &h.Kubepods[i]
		if _, err := w.watch(&watched{kind: kindKubepods, rel: kp.Path, kp: kp}); err != nil {
			_ = w.file.Close()
			return nil, err
		}
		w.watchQoS(kp)
	}
	return w, nil
}

// Events delivers what the watcher found, in order; it is closed when Run returns.
func (w *Watcher) Events() <-chan Event { return w.events }

// Add asks for the cgroups of the pod with this UID: a PodFound event follows at once when its cgroup exists,
// else the moment the kubelet creates it, then a ContainerFound for each cgroup in it. It returns once Run has
// the request (so Run must be running), or with ctx's error.
func (w *Watcher) Add(ctx context.Context, uid string) error {
	if err := ValidUID(uid); err != nil {
		return err
	}
	return w.request(ctx, request{add: true, uid: uid})
}

// Remove forgets a pod: no event about it follows but those already queued.
func (w *Watcher) Remove(ctx context.Context, uid string) error {
	return w.request(ctx, request{uid: uid})
}

// ErrStopped is returned by Add and Remove once Run has returned.
var ErrStopped = errors.New("cgroups: the watcher has stopped")

func (w *Watcher) request(ctx context.Context, r request) error {
	select {
	case w.reqs <- r:
		return nil
	case <-w.stop:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run owns the watcher's state until ctx is done (it then returns nil) or reading inotify fails. It closes
// Events and the inotify instance before it returns. Call it once.
func (w *Watcher) Run(ctx context.Context) error {
	defer close(w.events)
	readErr := make(chan error, 1)
	go w.read(readErr)
	defer func() {
		close(w.stop)
		_ = w.file.Close() // ends the reader's wait
		<-w.readerDone
	}()
	for {
		var out chan<- Event
		var next Event
		if len(w.pending) > 0 {
			out, next = w.events, w.pending[0]
		}
		select {
		case <-ctx.Done():
			return nil
		case out <- next:
			w.pending = w.pending[1:]
			if len(w.pending) == 0 {
				w.pending = nil // let the backing array go
			}
		case r := <-w.reqs:
			if r.add {
				w.add(r.uid)
			} else {
				w.remove(r.uid)
			}
		case batch := <-w.raw:
			for _, ev := range batch {
				w.handle(ev)
			}
		case err := <-readErr:
			return fmt.Errorf("cgroups: reading inotify: %w", err)
		}
	}
}

// read parses the inotify queue into batches for Run, until the instance is closed.
func (w *Watcher) read(errc chan<- error) {
	defer close(w.readerDone)
	buf := make([]byte, inotifyBufBytes)
	for {
		n, err := w.file.Read(buf)
		if err != nil {
			select {
			case <-w.stop:
			default:
				errc <- err
			}
			return
		}
		batch := parseInotify(buf[:n])
		select {
		case w.raw <- batch:
		case <-w.stop:
			return
		}
	}
}

// parseInotify splits a read of the inotify queue into events.
func parseInotify(buf []byte) []rawEvent {
	var out []rawEvent
	for len(buf) >= unix.SizeofInotifyEvent {
		ie := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		end := unix.SizeofInotifyEvent + int(ie.Len)
		if end > len(buf) {
			break
		}
		name := buf[unix.SizeofInotifyEvent:end]
		for len(name) > 0 && name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		out = append(out, rawEvent{wd: ie.Wd, mask: ie.Mask, name: string(name)})
		buf = buf[end:]
	}
	return out
}

func (w *Watcher) emit(ev Event) { w.pending = append(w.pending, ev) }

func (w *Watcher) abs(rel string) string { return filepath.Join(w.h.Dir, rel) }

// watch adds an inotify watch for a directory.
func (w *Watcher) watch(d *watched) (int32, error) {
	wd, err := unix.InotifyAddWatch(w.fd, w.abs(d.rel), inotifyMask)
	if err != nil {
		return -1, fmt.Errorf("cgroups: watching %s: %w", d.rel, err)
	}
	w.watches[int32(wd)] = d
	return int32(wd), nil
}

func (w *Watcher) unwatch(wd int32) {
	if wd < 0 {
		return
	}
	delete(w.watches, wd)
	_, _ = unix.InotifyRmWatch(w.fd, uint32(wd)) // fails only when the directory is gone, which removed it
}

// watchQoS watches the QoS classes' cgroups of a kubepods cgroup that exist and are not watched yet, and
// looks in each for the wanted pods not found yet (they may have been created before the watch).
func (w *Watcher) watchQoS(kp *Kubepods) {
	l := kp.layout()
	for _, q := range qosClasses {
		name := l.qosDir(kp.base, q)
		if name == "" {
			continue
		}
		rel := path.Join(kp.Path, name)
		if w.qosDirs[rel] || !exists(w.abs(rel)) {
			continue
		}
		if _, err := w.watch(&watched{kind: kindQoS, rel: rel, kp: kp, qos: q}); err != nil {
			continue // removed meanwhile, or out of watches: pods in it are still found when added
		}
		w.qosDirs[rel] = true
		for _, p := range w.pods {
			if !p.found {
				w.lookInto(p, kp, q)
			}
		}
	}
}

// add starts following a pod: its cgroup is looked for now, and will be on inotify's word.
func (w *Watcher) add(uid string) {
	if _, ok := w.pods[uid]; ok {
		return
	}
	p := &pod{uid: uid, cgroups: map[string]containerCgroup{}}
	w.pods[uid] = p
	w.lookup(p)
}

// lookup looks for a pod's cgroup under every kubepods cgroup and class.
func (w *Watcher) lookup(p *pod) {
	for i := range w.h.Kubepods {
		for _, q := range qosClasses {
			if w.lookInto(p, &w.h.Kubepods[i], q); p.found {
				return
			}
		}
	}
}

// lookInto looks for a pod's cgroup in one class's cgroup of one kubepods cgroup.
func (w *Watcher) lookInto(p *pod, kp *Kubepods, q QoS) {
	l := kp.layout()
	rel := path.Join(kp.Path, l.qosDir(kp.base, q), l.podDir(kp.base, q, p.uid))
	if exists(w.abs(rel)) {
		w.podCreated(p, rel, q)
	}
}

func (w *Watcher) remove(uid string) {
	p, ok := w.pods[uid]
	if !ok {
		return
	}
	delete(w.pods, uid)
	for wd, d := range w.watches {
		if d.pod == p {
			w.unwatch(wd)
		}
	}
}

// handle acts on one inotify event.
func (w *Watcher) handle(ev rawEvent) {
	if ev.mask&unix.IN_Q_OVERFLOW != 0 {
		w.resync()
		return
	}
	d, ok := w.watches[ev.wd]
	if !ok {
		return // a watch removed since
	}
	if ev.mask&unix.IN_IGNORED != 0 {
		delete(w.watches, ev.wd) // the directory is gone
		if d.kind == kindQoS {
			delete(w.qosDirs, d.rel)
		}
		return
	}
	if ev.mask&unix.IN_ISDIR == 0 || ev.name == "" {
		return
	}
	rel := path.Join(d.rel, ev.name)
	created := ev.mask&unix.IN_CREATE != 0
	switch d.kind {
	case kindKubepods:
		if created && w.isQoSDir(d.kp, ev.name) {
			w.watchQoS(d.kp)
			return
		}
		w.podEvent(d.kp, Guaranteed, ev.name, rel, created)
	case kindQoS:
		w.podEvent(d.kp, d.qos, ev.name, rel, created)
	case kindPod, kindContainer:
		depth := 1
		if d.kind == kindContainer {
			depth = d.depth + 1
		}
		if created {
			w.cgroupCreated(d.pod, rel, depth)
		} else {
			w.cgroupRemoved(d.pod, rel)
		}
	}
}

func (w *Watcher) isQoSDir(kp *Kubepods, name string) bool {
	l := kp.layout()
	for _, q := range qosClasses {
		if q != Guaranteed && l.qosDir(kp.base, q) == name {
			return true
		}
	}
	return false
}

// podEvent handles a directory made or removed where pods of class q live.
func (w *Watcher) podEvent(kp *Kubepods, q QoS, name, rel string, created bool) {
	l := kp.layout()
	uid := l.podUID(name)
	p, ok := w.pods[uid]
	if uid == "" || !ok || name != l.podDir(kp.base, q, uid) {
		return
	}
	switch {
	case created:
		w.podCreated(p, rel, q)
	case p.found && p.cg.Path == rel:
		w.podRemoved(p)
	}
}

// podCreated reports a wanted pod's cgroup, watches it and reports the cgroups already in it.
func (w *Watcher) podCreated(p *pod, rel string, q QoS) {
	id, err := ID(w.abs(rel))
	if err != nil {
		return // removed already
	}
	if p.found {
		if p.cg.ID == id {
			return // reported already
		}
		w.podRemoved(p) // recreated while the removal was not seen (an overflow)
	}
	p.found, p.qos, p.cg = true, q, Cgroup{Path: rel, ID: id, Level: level(rel)}
	w.emit(Event{Kind: PodFound, PodUID: p.uid, QoS: q, Cgroup: p.cg})
	if _, err := w.watch(&watched{kind: kindPod, rel: rel, pod: p}); err != nil {
		w.emit(Event{Kind: Trouble, PodUID: p.uid, Err: fmt.Errorf("%w: its containers' cgroups are found when their events are read", err)})
	}
	w.scanBelow(p, rel, 1)
}

func (w *Watcher) podRemoved(p *pod) {
	for rel := range p.cgroups {
		w.cgroupRemoved(p, rel)
	}
	p.found = false
	w.emit(Event{Kind: PodRemoved, PodUID: p.uid, QoS: p.qos, Cgroup: p.cg})
}

// scanBelow reports the cgroups in dir (at depth below the pod's cgroup) that inotify may not have reported:
// those made before the watch on dir was added.
func (w *Watcher) scanBelow(p *pod, dir string, depth int) {
	entries, err := os.ReadDir(w.abs(dir))
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			w.cgroupCreated(p, path.Join(dir, e.Name()), depth)
		}
	}
}

// cgroupCreated reports a cgroup in a pod's, and follows it down to maxWatchDepth.
func (w *Watcher) cgroupCreated(p *pod, rel string, depth int) {
	if _, ok := p.cgroups[rel]; ok || !p.found {
		return
	}
	id, err := ID(w.abs(rel))
	if err != nil {
		return // gone already: a container that lived less than the time to read its event
	}
	below, _, _ := strings.Cut(strings.TrimPrefix(rel, p.cg.Path+"/"), "/")
	c := containerCgroup{id: id, containerID: ContainerIDFromName(below), wd: -1}
	if depth < maxWatchDepth {
		if wd, err := w.watch(&watched{kind: kindContainer, rel: rel, pod: p, depth: depth}); err == nil {
			c.wd = wd
		}
	}
	p.cgroups[rel] = c
	w.emit(Event{Kind: ContainerFound, PodUID: p.uid, QoS: p.qos, ContainerID: c.containerID,
		Cgroup: Cgroup{Path: rel, ID: id, Level: level(rel)}})
	if depth < maxWatchDepth {
		w.scanBelow(p, rel, depth+1)
	}
}

func (w *Watcher) cgroupRemoved(p *pod, rel string) {
	c, ok := p.cgroups[rel]
	if !ok {
		return
	}
	delete(p.cgroups, rel)
	if c.wd >= 0 {
		delete(w.watches, c.wd) // the kernel removed it with the directory
	}
	w.emit(Event{Kind: ContainerRemoved, PodUID: p.uid, QoS: p.qos, ContainerID: c.containerID,
		Cgroup: Cgroup{Path: rel, ID: c.id, Level: level(rel)}})
}

// resync catches up after the inotify queue overflowed: events were lost, so what exists is read again.
func (w *Watcher) resync() {
	for i := range w.h.Kubepods {
		w.watchQoS(&w.h.Kubepods[i])
	}
	for _, p := range w.pods {
		if !p.found {
			w.lookup(p)
			continue
		}
		if id, err := ID(w.abs(p.cg.Path)); err != nil || id != p.cg.ID {
			w.podRemoved(p)
			w.lookup(p)
			continue
		}
		for rel, c := range p.cgroups {
			if id, err := ID(w.abs(rel)); err != nil || id != c.id {
				w.cgroupRemoved(p, rel)
			}
		}
		w.rescan(p, p.cg.Path, 1)
	}
}

// rescan is scanBelow through the levels already followed.
func (w *Watcher) rescan(p *pod, dir string, depth int) {
	w.scanBelow(p, dir, depth)
	if depth >= maxWatchDepth {
		return
	}
	for rel := range p.cgroups {
		if path.Dir(rel) == dir {
			w.rescan(p, rel, depth+1)
		}
	}
}

// level is a cgroup's depth from its path ("/" is 0, "/a/b" is 2).
func level(rel string) int {
	n := 0
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && i+1 < len(rel) {
			n++
		}
	}
	return n
}
