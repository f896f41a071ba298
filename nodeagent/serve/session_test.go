//go:build linux

package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/callfilter"
	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/eventline"
	"github.com/swoll-dev/swoll/nodeagent/cri"
	"github.com/swoll-dev/swoll/nodeagent/decode"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/protocol"
	"github.com/swoll-dev/swoll/syscalls"
	"github.com/swoll-dev/swoll/wire"
)

// fakeTracer serves records pushed on feed and remembers the filters it was given.
type fakeTracer struct {
	feed     chan record.Record
	lost     atomic.Uint64
	filtered atomic.Uint64
	mu       sync.Mutex
	selected []*syscalls.Syscall
	mountNS  map[uint64]uint32
	// hierarchy and cgroups are what SetCgroupHierarchy and AddCgroup set
	hierarchy string
	cgroups   map[uint64]cgroupTarget
	closed    bool
	addErr    error
}

type cgroupTarget struct {
	level  int
	target uint32
}

func newFakeTracer() *fakeTracer {
	return &fakeTracer{feed: make(chan record.Record), mountNS: map[uint64]uint32{}, cgroups: map[uint64]cgroupTarget{}}
}

func (f *fakeTracer) Select(calls []*syscalls.Syscall) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.selected = calls
	return nil
}

func (f *fakeTracer) AddMountNS(nsID uint64, targetID uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.addErr != nil {
		return f.addErr
	}
	f.mountNS[nsID] = targetID
	return nil
}

func (f *fakeTracer) RemoveMountNS(nsID uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.mountNS, nsID)
	return nil
}

func (f *fakeTracer) SetCgroupHierarchy(controller string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hierarchy = controller
	return nil
}

func (f *fakeTracer) AddCgroup(id uint64, level int, targetID uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.addErr != nil {
		return f.addErr
	}
	f.cgroups[id] = cgroupTarget{level: level, target: targetID}
	return nil
}

func (f *fakeTracer) RemoveCgroup(id uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.cgroups, id)
	return nil
}

func (f *fakeTracer) cgroupTargets() map[uint64]cgroupTarget {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[uint64]cgroupTarget, len(f.cgroups))
	for k, v := range f.cgroups {
		m[k] = v
	}
	return m
}

func (f *fakeTracer) Read(ctx context.Context, fn func(rec *record.Record) bool) error {
	var rec record.Record // reused, like the real reader
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-f.feed:
			rec = r
			if !fn(&rec) {
				return nil
			}
		}
	}
}

func (f *fakeTracer) Lost() uint64     { return f.lost.Load() }
func (f *fakeTracer) Filtered() uint64 { return f.filtered.Load() }

// DroppedCalls says the dropped events were all openat calls, one in five failing with ENOENT.
func (f *fakeTracer) DroppedCalls() ([]event.DroppedCall, error) {
	n := f.lost.Load()
	return []event.DroppedCall{{Syscall: "openat", Calls: n, Errors: map[string]uint64{"ENOENT": n / 5}}}, nil
}

func (f *fakeTracer) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeTracer) state() (map[uint64]uint32, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[uint64]uint32, len(f.mountNS))
	for k, v := range f.mountNS {
		m[k] = v
	}
	return m, f.closed
}

// fakeDecoder writes a small event with the target's container id.
type fakeDecoder struct {
	node, session string
	targets       map[uint32]*protocol.Target
}

func (d *fakeDecoder) SetTarget(id uint32, t *protocol.Target) { d.targets[id] = t }
func (d *fakeDecoder) RemoveTarget(id uint32)                  { delete(d.targets, id) }
func (d *fakeDecoder) AppendJSON(dst []byte, rec *record.Record) []byte {
	return append(d.AppendJSONOpen(dst, rec), "}\n"...)
}

func (d *fakeDecoder) AppendJSONOpen(dst []byte, rec *record.Record) []byte {
	dst = append(dst, `{"syscall":{"nr":`...)
	dst = strconv.AppendUint(dst, uint64(rec.Nr), 10)
	dst = append(dst, `,"name":"openat"},"pid":`...)
	dst = strconv.AppendUint(dst, uint64(rec.Pid), 10)
	dst = append(dst, `,"session":`...)
	dst = strconv.AppendQuote(dst, d.session)
	if t := d.targets[rec.TargetID]; t != nil {
		dst = append(dst, `,"container":{"id":`...)
		dst = strconv.AppendQuote(dst, t.ContainerID)
		dst = append(dst, `,"pod":`...)
		dst = strconv.AppendQuote(dst, t.Pod)
		if t.Container != "" {
			dst = append(dst, `,"name":`...)
			dst = strconv.AppendQuote(dst, t.Container)
		}
		if t.RestartCount != nil {
			dst = append(dst, `,"restart_count":`...)
			dst = strconv.AppendInt(dst, int64(*t.RestartCount), 10)
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `,"node":`...)
	return strconv.AppendQuote(dst, d.node)
}

// fakeResolver maps container ids (as sent) to pids, and answers status from a table (statuses, which a test
// may change while the session runs).
type fakeResolver struct {
	pids     map[string]int
	statuses *statusTable
}

// statusTable is what the fake runtime says of containers, by normalized id.
type statusTable struct {
	mu sync.Mutex
	m  map[string]cri.Status
	// the next lookup of an id with a gate waits for it
	gates map[string]gate
}

func (t *statusTable) set(id string, st cri.Status) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st.ID = id
	t.m[id] = st
}

// hold makes the next lookup of id wait until release is called; asked is closed when that lookup begins.
func (t *statusTable) hold(id string) (release func(), asked <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := gate{release: make(chan struct{}), asked: make(chan struct{})}
	t.gates[id] = g
	return func() { close(g.release) }, g.asked
}

type gate struct{ release, asked chan struct{} }

func (t *statusTable) get(ctx context.Context, id string) (*cri.Status, bool) {
	t.mu.Lock()
	g, gated := t.gates[id]
	delete(t.gates, id)
	t.mu.Unlock()
	if gated {
		close(g.asked)
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, false
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.m[id]
	return &st, ok
}

func (r *fakeResolver) Status(ctx context.Context, id string) (*cri.Status, error) {
	if r.statuses == nil {
		return nil, cri.ErrNoRuntime
	}
	if st, ok := r.statuses.get(ctx, cri.NormalizeID(id)); ok {
		return st, nil
	}
	return nil, &cri.NotFoundError{ID: id}
}

func (r *fakeResolver) ContainerPID(_ context.Context, id string) (int, error) {
	if pid, ok := r.pids[strings.TrimPrefix(id, "containerd://")]; ok {
		return pid, nil
	}
	return 0, fmt.Errorf("container %q not found", id)
}
func (r *fakeResolver) Close() error { return nil }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness runs a session with fakes, feeding stdin and collecting stdout lines.
type harness struct {
	t        *testing.T
	tracer   *fakeTracer
	stdin    *io.PipeWriter
	lines    chan event.Line
	rawMu    sync.Mutex
	raw      [][]byte // every stdout line as read (events joined from a binary framing), in order
	stderr   *syncBuffer
	done     chan error
	cancel   context.CancelFunc
	criAsked []string
	tracers  atomic.Int32
	runtime  *statusTable
}

func newHarness(t *testing.T, tweak func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, tracer: newFakeTracer(), lines: make(chan event.Line, 100), stderr: &syncBuffer{}, done: make(chan error, 1),
		runtime: &statusTable{m: map[string]cri.Status{}, gates: map[string]gate{}}}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	h.stdin = inW
	table := syscalls.Native()
	cfg := Config{
		Deps: Deps{
			Syscalls: table.Resolve,
			NewTracer: func(*protocol.Start) (Tracer, error) {
				h.tracers.Add(1)
				return h.tracer, nil
			},
			NewDecoder: func(start *protocol.Start) Decoder {
				return &fakeDecoder{node: start.Node, session: start.Session, targets: map[uint32]*protocol.Target{}}
			},
			NewResolver: func(sock string) (Resolver, error) {
				h.criAsked = append(h.criAsked, sock)
				if sock == "/missing.sock" {
					return nil, errors.New("CRI socket /missing.sock: not found or not a socket")
				}
				return &fakeResolver{pids: map[string]int{"c1": 100, "c2": 200, "c3": 300}, statuses: h.runtime}, nil
			},
			MountNSID: func(pid int) (uint64, error) {
				if pid == 300 {
					return 0, errors.New("opening mount namespace of pid 300: permission denied")
				}
				return uint64(pid) * 1000, nil
			},
		},
		Stdin:         inR,
		Stdout:        outW,
		Stderr:        h.stderr,
		FlushInterval: 5 * time.Millisecond,
		LostInterval:  5 * time.Millisecond,
		// no stats notice in the middle of what a test expects, however slow the machine (a test sets it)
		StatsInterval: time.Hour,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	ended := make(chan struct{}) // Run returned (h.done may have been taken by the test)
	go func() {
		defer close(ended)
		err := Run(ctx, cfg)
		_ = outW.Close()
		_ = inR.Close() // later commands fail instead of blocking on a pipe nobody reads
		h.done <- err
	}()
	go func() {
		defer close(h.lines)
		// JSON lines, and after a ready notice that names a binary framing its frames, as the plugin reads them
		br := bufio.NewReader(outR)
		var dec *wire.Decoder
		var join eventline.Joiner
		for {
			var line []byte
			if dec == nil {
				var err error
				if line, err = br.ReadBytes('\n'); err != nil {
					return
				}
			} else {
				k, err := dec.Next()
				switch {
				case errors.Is(err, io.EOF):
					return
				case err != nil:
					t.Errorf("binary stdout: %v", err)
					return
				case k == wire.Event:
					line = join.Append(nil, dec.Parts())
				default:
					line = append([]byte(nil), dec.Line()...)
				}
			}
			h.rawMu.Lock()
			h.raw = append(h.raw, line)
			h.rawMu.Unlock()
			var l event.Line
			if err := json.Unmarshal(line, &l); err != nil {
				t.Errorf("stdout line %q: %v", line, err)
				continue
			}
			if l.Notice != nil && l.Notice.Kind == event.NoticeReady && wire.IsBinary(l.Notice.Framing) {
				dec = wire.NewDecoder(br)
			}
			h.lines <- l
		}
	}()
	t.Cleanup(func() {
		// the session and its goroutines are over before the test is (goleak checks after the last test, once)
		cancel()
		_ = inW.Close()
		over := make(chan struct{})
		go func() {
			for range h.lines { // until Run closed stdout: the reader never waits on a test that stopped reading
			}
			<-ended
			close(over)
		}()
		select {
		case <-over:
		case <-time.After(30 * time.Second):
			t.Errorf("the session did not end within 30 s of its test; stderr:\n%s", h.stderr.String())
		}
	})
	return h
}

// manualClock is a session's wall clock that only the test moves: the heartbeat then depends on the commands
// a test sends and the time it lets pass, not on how fast a loaded machine runs it.
type manualClock struct{ ns atomic.Int64 }

func newManualClock() *manualClock {
	c := &manualClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *manualClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *manualClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Run lets the clock run from now on, step at every tick of real time, until the test ends.
func (c *manualClock) Run(t *testing.T, step time.Duration) {
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				c.Advance(step)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-stopped })
}

func (h *harness) send(cmd string) {
	h.t.Helper()
	if _, err := io.WriteString(h.stdin, cmd+"\n"); err != nil {
		h.t.Fatalf("writing command: %v", err)
	}
}

func (h *harness) start(extra string) {
	h.t.Helper()
	h.send(`{"op":"start","start":{"version":2,"node":"node-a","session":"s1","syscalls":["openat"]` + extra + `}}`)
	h.expectNotice(event.NoticeReady)
}

// feed hands the session's reader one record.
func (h *harness) feed(rec record.Record) {
	h.t.Helper()
	select {
	case h.tracer.feed <- rec:
	case <-time.After(10 * time.Second):
		h.t.Fatalf("the session does not read events; stderr:\n%s", h.stderr.String())
	}
}

// next returns the next stdout line, failing after a generous deadline.
func (h *harness) next() event.Line {
	h.t.Helper()
	select {
	case l, ok := <-h.lines:
		if !ok {
			h.t.Fatalf("stdout closed; stderr:\n%s", h.stderr.String())
		}
		return l
	case <-time.After(10 * time.Second):
		h.t.Fatalf("no output; stderr:\n%s", h.stderr.String())
	}
	panic("unreachable")
}

func (h *harness) expectNotice(kind event.NoticeKind) *event.Notice {
	h.t.Helper()
	l := h.next()
	if l.Notice == nil || l.Notice.Kind != kind {
		h.t.Fatalf("got %+v (event %+v), want notice %q; stderr:\n%s", l.Notice, l.Event, kind, h.stderr.String())
	}
	if l.Notice.Time == 0 {
		h.t.Errorf("notice %q has no time", kind)
	}
	return l.Notice
}

func (h *harness) wait() error {
	h.t.Helper()
	select {
	case err := <-h.done:
		return err
	case <-time.After(10 * time.Second):
		h.t.Fatalf("session did not end; stderr:\n%s", h.stderr.String())
	}
	return nil
}

func TestSessionLifecycle(t *testing.T) {
	h := newHarness(t, nil)
	h.start("")
	if len(h.tracer.selected) != 1 || h.tracer.selected[0].Name != "openat" {
		t.Fatalf("selected %v, want openat", h.tracer.selected)
	}

	h.send(`{"op":"add","target":{"container_id":"containerd://c1","pod":"web-1","namespace":"default","container":"nginx"}}`)
	n := h.expectNotice(event.NoticeTargetAttached)
	if n.ContainerID != "containerd://c1" || n.Node != "node-a" {
		t.Fatalf("attached notice %+v", n)
	}
	ns, _ := h.tracer.state()
	if ns[100000] != 1 {
		t.Fatalf("mount namespaces %v, want 100000 -> target 1", ns)
	}

	h.feed(record.Record{Nr: 257, Pid: 4242, TargetID: 1})
	l := h.next()
	if l.Event == nil || l.Pid != 4242 || l.Session != "s1" || l.Node != "node-a" || l.Container == nil || l.Container.Pod != "web-1" {
		t.Fatalf("event %+v, want pid 4242 of pod web-1", l.Event)
	}

	// A second add of the same container only refreshes its metadata.
	h.send(`{"op":"add","target":{"container_id":"c1","pod":"web-1-renamed"}}`)
	h.expectNotice(event.NoticeTargetAttached)
	h.feed(record.Record{Nr: 257, Pid: 1, TargetID: 1})
	if l := h.next(); l.Container == nil || l.Container.Pod != "web-1-renamed" {
		t.Fatalf("event %+v, want the new pod name", l.Event)
	}

	h.send(`{"op":"ping"}`)
	h.send(`{"op":"remove","container_id":"containerd://c1"}`)
	if n := h.expectNotice(event.NoticeTargetDetached); n.ContainerID != "containerd://c1" || n.Message != "" {
		t.Fatalf("detached notice %+v", n)
	}
	if ns, _ := h.tracer.state(); len(ns) != 0 {
		t.Fatalf("mount namespaces after remove: %v", ns)
	}

	h.send(`{"op":"stop"}`)
	exit := h.expectNotice(event.NoticeExit)
	if exit.Events != 2 || exit.Message != "stopped by the plugin" {
		t.Fatalf("exit notice %+v, want 2 events, stopped by the plugin", exit)
	}
	if err := h.wait(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if _, closed := h.tracer.state(); !closed {
		t.Fatal("the tracer was not closed")
	}
}

func TestTargetErrors(t *testing.T) {
	h := newHarness(t, nil)
	h.start("")
	tests := []struct {
		cmd, wantID, wantMsg string
	}{
		{`{"op":"add","target":{"container_id":"containerd://nope"}}`, "containerd://nope", `container "containerd://nope" not found`},
		{`{"op":"add","target":{"container_id":"c3"}}`, "c3", "permission denied"},
	}
	for _, tt := range tests {
		h.send(tt.cmd)
		n := h.expectNotice(event.NoticeTargetError)
		if n.ContainerID != tt.wantID || !strings.Contains(n.Message, tt.wantMsg) {
			t.Errorf("notice %+v, want %s: %s", n, tt.wantID, tt.wantMsg)
		}
	}
	// The plugin re-sends a restarted container under its new id.
	h.send(`{"op":"add","target":{"container_id":"c2"}}`)
	h.expectNotice(event.NoticeTargetAttached)
	// Two targets in one mount namespace would mislabel events.
	h.tracer.mu.Lock()
	h.tracer.addErr = errors.New("map full")
	h.tracer.mu.Unlock()
	h.send(`{"op":"add","target":{"container_id":"c1"}}`)
	if n := h.expectNotice(event.NoticeTargetError); !strings.Contains(n.Message, "map full") {
		t.Errorf("notice %+v, want the tracer's error", n)
	}
	h.send(`{"op":"remove","container_id":"c9"}`)
	if n := h.expectNotice(event.NoticeTargetDetached); n.Message != "not traced" {
		t.Errorf("removing an unknown container: %+v", n)
	}
	_ = h.stdin.Close()
	h.expectNotice(event.NoticeExit)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
}

func TestExitedContainerIsDetached(t *testing.T) {
	var exited atomic.Bool
	h := newHarness(t, func(c *Config) {
		c.MountNSID = func(pid int) (uint64, error) {
			if pid == 200 && exited.Load() {
				return 0, errors.New("opening mount namespace of pid 200: no such file or directory")
			}
			return uint64(pid) * 1000, nil
		}
	})
	h.start("")
	h.send(`{"op":"add","target":{"container_id":"c1"}}`)
	h.expectNotice(event.NoticeTargetAttached)
	h.send(`{"op":"add","target":{"container_id":"containerd://c2"}}`)
	h.expectNotice(event.NoticeTargetAttached)
	exited.Store(true)
	n := h.expectNotice(event.NoticeTargetDetached)
	if n.ContainerID != "containerd://c2" || n.Message != "container exited" {
		t.Fatalf("notice %+v", n)
	}
	if ns, _ := h.tracer.state(); len(ns) != 1 || ns[100000] != 1 {
		t.Fatalf("mount namespaces %v, want only c1's", ns)
	}
	// The plugin's own remove, which follows, needs no second notice.
	h.send(`{"op":"remove","container_id":"containerd://c2"}`)
	h.send(`{"op":"remove","container_id":"c1"}`)
	if n := h.expectNotice(event.NoticeTargetDetached); n.ContainerID != "c1" {
		t.Fatalf("notice %+v, want c1 detached", n)
	}
}

func TestSharedMountNamespaceIsRefused(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.MountNSID = func(int) (uint64, error) { return 7, nil }
	})
	h.start("")
	h.send(`{"op":"add","target":{"container_id":"c1"}}`)
	h.expectNotice(event.NoticeTargetAttached)
	h.send(`{"op":"add","target":{"container_id":"c2"}}`)
	if n := h.expectNotice(event.NoticeTargetError); !strings.Contains(n.Message, `shares its mount namespace with container "c1"`) {
		t.Fatalf("notice %+v", n)
	}
}

func TestBadFirstCommand(t *testing.T) {
	tests := map[string]struct{ line, want string }{
		"add first":     {`{"op":"add","target":{"container_id":"c1"}}`, `the first command must be "start" with its settings, got "add"`},
		"start no body": {`{"op":"start"}`, `the first command must be "start"`},
		"not json":      {`hello`, `malformed command "hello"`},
		// a plugin of protocol 1, and one of a later protocol: one line naming both versions
		"protocol 1":      {`{"op":"start","start":{"node":"n","session":"s"}}`, `this agent speaks protocol 2 and the plugin protocol 1: use a plugin and an agent image of one release`},
		"protocol 3":      {`{"op":"start","start":{"version":3,"node":"n"}}`, `this agent speaks protocol 2 and the plugin protocol 3`},
		"unknown syscall": {`{"op":"start","start":{"version":2,"syscalls":["opnat"]}}`, `syscalls: `},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.send(tt.line)
			n := h.expectNotice(event.NoticeError)
			if !strings.Contains(n.Message, tt.want) {
				t.Fatalf("error notice %q, want %q", n.Message, tt.want)
			}
			if err := h.wait(); err == nil {
				t.Fatal("Run succeeded")
			}
			if h.tracers.Load() != 0 {
				t.Fatal("a tracer was loaded for a session that never started")
			}
		})
	}
}

func TestTracerFailureIsReported(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.NewTracer = func(*protocol.Start) (Tracer, error) {
			return nil, errors.New("loading BPF programs requires root (CAP_BPF and CAP_PERFMON)")
		}
	})
	h.send(`{"op":"start","start":{"version":2,"node":"n","session":"s"}}`)
	if n := h.expectNotice(event.NoticeError); !strings.Contains(n.Message, "requires root") || n.Node != "n" {
		t.Fatalf("notice %+v", n)
	}
	if err := h.wait(); err == nil {
		t.Fatal("Run succeeded")
	}
}

func TestStaleCRISocketFallsBackToDetection(t *testing.T) {
	h := newHarness(t, nil)
	h.start(`,"cri_socket":"/missing.sock"`)
	if len(h.criAsked) != 2 || h.criAsked[0] != "/missing.sock" || h.criAsked[1] != "" {
		t.Fatalf("resolvers asked for %q", h.criAsked)
	}
}

func TestEOFEndsSession(t *testing.T) {
	h := newHarness(t, nil)
	h.start("")
	h.send(`{"op":"add","target":{"container_id":"c1"}}`)
	h.expectNotice(event.NoticeTargetAttached)
	_ = h.stdin.Close()
	if n := h.expectNotice(event.NoticeExit); n.Message != "the plugin closed the session" {
		t.Fatalf("exit notice %+v", n)
	}
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if _, closed := h.tracer.state(); !closed {
		t.Fatal("the tracer was not closed")
	}
}

func TestEOFBeforeStart(t *testing.T) {
	h := newHarness(t, nil)
	_ = h.stdin.Close()
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if h.tracers.Load() != 0 {
		t.Fatal("a tracer was loaded")
	}
}

func TestSignalEndsSession(t *testing.T) {
	h := newHarness(t, nil)
	h.start("")
	h.cancel()
	if n := h.expectNotice(event.NoticeExit); n.Message != "stopped by signal" {
		t.Fatalf("exit notice %+v", n)
	}
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
}

func TestHeartbeatTimeout(t *testing.T) {
	// The session's clock moves only when the test moves it: a ping every 20 ms of it, with the timer checking
	// every 100 ms of real time, however slowly a loaded machine runs the test. (A ping's arrival lags the clock
	// by at most two steps, 40 ms: the pipe hands the reader one line at a time.)
	clock := newManualClock()
	h := newHarness(t, func(c *Config) { c.HeartbeatTimeout, c.Now = 100*time.Millisecond, clock.Now })
	h.start("")
	// Pings keep it alive well past the timeout (1 s of its clock, 10 timeouts)...
	ticker := time.NewTicker(5 * time.Millisecond) // pacing only: real time lets the timer fire in between
	for range 50 {
		<-ticker.C
		clock.Advance(20 * time.Millisecond)
		h.send(`{"op":"ping"}`)
	}
	ticker.Stop()
	select {
	case err := <-h.done:
		t.Fatalf("session ended while pinged: %v; stderr:\n%s", err, h.stderr.String())
	default:
	}
	// ...and silence ends it: the clock runs on (the last ping may reach the session only after this point)
	clock.Run(t, 10*time.Millisecond)
	if n := h.expectNotice(event.NoticeExit); n.Message != ErrHeartbeat.Error() {
		t.Fatalf("exit notice %+v", n)
	}
	if err := h.wait(); !errors.Is(err, ErrHeartbeat) {
		t.Fatalf("Run = %v, want ErrHeartbeat", err)
	}
	if _, closed := h.tracer.state(); !closed {
		t.Fatal("the tracer was not closed")
	}
}

func TestHeartbeatTimeoutBeforeStart(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.HeartbeatTimeout = 20 * time.Millisecond })
	if err := h.wait(); !errors.Is(err, ErrHeartbeat) {
		t.Fatalf("Run = %v, want ErrHeartbeat", err)
	}
}

func TestMaxEvents(t *testing.T) {
	h := newHarness(t, nil)
	h.start(`,"max_events":3`)
	stopFeeding := make(chan struct{})
	defer close(stopFeeding)
	go func() {
		for i := range 5 {
			select {
			case h.tracer.feed <- record.Record{Nr: 257, Pid: uint32(i + 1)}:
			case <-stopFeeding:
				return
			}
		}
	}()
	for i := range 3 {
		if l := h.next(); l.Event == nil || l.Pid != i+1 {
			t.Fatalf("line %d: %+v", i, l)
		}
	}
	n := h.expectNotice(event.NoticeExit)
	if n.Events != 3 || n.Message != "reached the limit of 3 events" {
		t.Fatalf("exit notice %+v", n)
	}
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
}

func TestLostNotices(t *testing.T) {
	h := newHarness(t, nil)
	h.start("")
	h.tracer.lost.Store(5)
	if n := h.expectNotice(event.NoticeLost); n.Lost != 5 || n.LostTotal != 5 {
		t.Fatalf("lost notice %+v", n)
	}
	h.tracer.lost.Store(7)
	dropped := []event.DroppedCall{{Syscall: "openat", Calls: 7, Errors: map[string]uint64{"ENOENT": 1}}}
	if n := h.expectNotice(event.NoticeLost); n.Lost != 2 || n.LostTotal != 7 || !reflect.DeepEqual(n.DroppedCalls, dropped) {
		t.Fatalf("lost notice %+v", n)
	}
	h.send(`{"op":"stop"}`)
	// No repeated notice for an unchanged count: the next line is the exit, with what was dropped.
	if n := h.expectNotice(event.NoticeExit); n.LostTotal != 7 || !reflect.DeepEqual(n.DroppedCalls, dropped) {
		t.Fatalf("exit notice %+v", n)
	}
}

func TestUnknownOpIsIgnored(t *testing.T) {
	h := newHarness(t, nil)
	h.start("")
	h.send(`{"op":"frobnicate"}`)
	h.send(`not json`)
	h.send(``)
	h.send(`{"op":"start","start":{"version":2}}`)
	h.send(`{"op":"add"}`)
	h.send(`{"op":"stop"}`)
	if n := h.expectNotice(event.NoticeExit); n.Message != "stopped by the plugin" {
		t.Fatalf("exit notice %+v", n)
	}
	_ = h.wait()
	stderr := h.stderr.String()
	for _, want := range []string{`ignoring unknown command "frobnicate"`, `malformed command "not json"`, `the session has started already`, `without a target container id`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// failingWriter stands for a plugin that went away while the agent was writing.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestClosedStdoutEndsSession(t *testing.T) {
	tr := newFakeTracer()
	inR, inW := io.Pipe()
	defer func() { _ = inW.Close() }()
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Config{
			Deps: Deps{
				Syscalls:    syscalls.Native().Resolve,
				NewTracer:   func(*protocol.Start) (Tracer, error) { return tr, nil },
				NewDecoder:  func(*protocol.Start) Decoder { return &fakeDecoder{targets: map[uint32]*protocol.Target{}} },
				NewResolver: func(string) (Resolver, error) { return &fakeResolver{}, nil },
				MountNSID:   func(int) (uint64, error) { return 1, nil },
			},
			Stdin: inR, Stdout: failingWriter{}, OutputBytes: 64,
		})
	}()
	_, _ = io.WriteString(inW, `{"op":"start","start":{"version":2}}`+"\n")
	rec := record.Record{Nr: 1}
	for {
		select {
		case tr.feed <- rec:
			continue
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "broken pipe") {
				t.Fatalf("Run = %v, want the write error", err)
			}
			return
		case <-time.After(10 * time.Second):
			t.Fatal("session kept running with a dead stdout")
		}
	}
}

func TestEventPathDoesNotAllocate(t *testing.T) {
	s := &session{
		dec:   &fakeDecoder{targets: map[uint32]*protocol.Target{1: {ContainerID: "c1", Pod: "p"}}},
		start: &protocol.Start{},
	}
	s.cfg.setDefaults()
	s.out = newDiscardWriter()
	defer func() { _ = s.out.Close() }()
	rec := &record.Record{Nr: 257, Pid: 1, TargetID: 1}
	if allocs := testing.AllocsPerRun(1000, func() { s.onRecord(rec) }); allocs != 0 {
		t.Fatalf("%v allocations per event, want 0", allocs)
	}
}

// realEventPath is a session with the real decoder, writing to nowhere, and a container's openat record.
func realEventPath(t testing.TB) (*session, *record.Record) {
	table := syscalls.Native()
	openat, ok := table.ByName("openat")
	if !ok {
		t.Fatal("no openat in the native table")
	}
	dec := decode.New(decode.Options{Arch: table.Arch(), Node: "node-a", Session: "s1", MonoToWall: 1})
	dec.SetTarget(1, &protocol.Target{ContainerID: "containerd://c1", Pod: "web-0", Namespace: "shop", Container: "nginx",
		Labels: map[string]string{"app": "web"}})
	s := &session{dec: dec, start: &protocol.Start{}}
	s.cfg.setDefaults()
	s.out = newDiscardWriter()
	rec := &record.Record{Nr: uint32(openat.Nr), TargetID: 1, Ret: 3, Pid: 10, Tid: 10, Start: 1, Finish: 2,
		Args: [record.MaxArgs]uint64{uint64(0xffffff9c), 0, 0o2000000}}
	copy(rec.Comm[:], "nginx")
	rec.Captures[1] = record.Capture{Present: true, Data: []byte("/etc/nginx/nginx.conf")}
	return s, rec
}

// TestRealDecoderPathDoesNotAllocate runs the per-event path with the real decoder on a container's openat.
func TestRealDecoderPathDoesNotAllocate(t *testing.T) {
	s, rec := realEventPath(t)
	defer func() { _ = s.out.Close() }()
	if allocs := testing.AllocsPerRun(1000, func() { s.onRecord(rec) }); allocs != 0 {
		t.Fatalf("%v allocations per event, want 0", allocs)
	}
	if s.events.Load() == 0 {
		t.Fatal("no event counted")
	}
}

// stallingWriter is a stdout whose reader stopped reading (a stopped or partitioned plugin): every write
// blocks until the test ends.
type stallingWriter struct {
	release chan struct{}
	once    sync.Once
	wrote   chan struct{}
}

func newStallingWriter(t *testing.T) *stallingWriter {
	w := &stallingWriter{release: make(chan struct{}), wrote: make(chan struct{}, 1)}
	t.Cleanup(func() { w.once.Do(func() { close(w.release) }) })
	return w
}

func (w *stallingWriter) Write(p []byte) (int, error) {
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	<-w.release
	return 0, errors.New("reader gone")
}

// stalledSession runs a started session whose stdout stalls at once, with events pouring in, so that the
// event reader and the control loop both wait on the output.
func stalledSession(t *testing.T, tweak func(*Config)) (tr *fakeTracer, stdin *io.PipeWriter, done chan error, hardStop chan error) {
	t.Helper()
	tr = newFakeTracer()
	inR, inW := io.Pipe()
	out := newStallingWriter(t)
	done = make(chan error, 1)
	hardStop = make(chan error, 1)
	cfg := Config{
		Deps: Deps{
			Syscalls:    syscalls.Native().Resolve,
			NewTracer:   func(*protocol.Start) (Tracer, error) { return tr, nil },
			NewDecoder:  func(*protocol.Start) Decoder { return &fakeDecoder{targets: map[uint32]*protocol.Target{}} },
			NewResolver: func(string) (Resolver, error) { return &fakeResolver{pids: map[string]int{"c1": 100}}, nil },
			MountNSID:   func(pid int) (uint64, error) { return uint64(pid), nil },
		},
		Stdin: inR, Stdout: out, Stderr: out, OutputBytes: 256,
		FlushInterval: time.Millisecond, LostInterval: time.Millisecond,
		AbortGrace: 100 * time.Millisecond, HardStopAfter: 5 * time.Second,
		HardStop: func(why error) { hardStop <- why },
	}
	if tweak != nil {
		tweak(&cfg)
	}
	go func() { done <- Run(context.Background(), cfg) }()
	if _, err := io.WriteString(inW, `{"op":"start","start":{"version":2,"node":"n","session":"s"}}`+"\n"); err != nil {
		t.Fatal(err)
	}
	<-out.wrote // the ready notice is stuck in write(2)
	stopFeeding := make(chan struct{})
	t.Cleanup(func() { close(stopFeeding) })
	go func() {
		for i := 0; ; i++ {
			select {
			case tr.feed <- record.Record{Nr: 257, Pid: uint32(i)}:
			case <-stopFeeding:
				return
			}
		}
	}()
	// the buffer fills and the reader blocks; commands keep the control loop writing notices
	for range 50 {
		if _, err := io.WriteString(inW, `{"op":"add","target":{"container_id":"c1"}}`+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	return tr, inW, done, hardStop
}

// waitDetached waits for Run to return with the probes detached, within limit.
func waitDetached(t *testing.T, tr *fakeTracer, done chan error, hardStop chan error, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		if _, closed := tr.state(); !closed {
			t.Fatal("Run returned with the tracer still open")
		}
		return err
	case why := <-hardStop:
		t.Fatalf("the session needed the hard stop: %v", why)
	case <-time.After(limit):
		t.Fatalf("the session did not end within %s of the dead-man switch with its stdout stalled", limit)
	}
	return nil
}

// Pass: with stdout stalled, stdin EOF (the plugin killed) still detaches the probes within AbortGrace.
func TestEOFDetachesWithStalledStdout(t *testing.T) {
	tr, stdin, done, hard := stalledSession(t, nil)
	_ = stdin.Close()
	_ = waitDetached(t, tr, done, hard, 5*time.Second)
}

// Pass: with stdout stalled and stdin open but silent (the plugin stopped with SIGSTOP), the heartbeat
// timeout still detaches the probes.
func TestHeartbeatDetachesWithStalledStdout(t *testing.T) {
	tr, stdin, done, hard := stalledSession(t, func(c *Config) { c.HeartbeatTimeout = 300 * time.Millisecond })
	defer func() { _ = stdin.Close() }()
	if err := waitDetached(t, tr, done, hard, 5*time.Second); !errors.Is(err, ErrHeartbeat) {
		t.Fatalf("Run = %v, want ErrHeartbeat", err)
	}
}

// blockingResolver never answers and ignores its context: a session stuck in a lookup.
type blockingResolver struct{ release chan struct{} }

func (r blockingResolver) ContainerPID(context.Context, string) (int, error) {
	<-r.release
	return 0, errors.New("released")
}
func (r blockingResolver) Status(context.Context, string) (*cri.Status, error) {
	<-r.release
	return nil, errors.New("released")
}
func (blockingResolver) Close() error { return nil }

// Pass: a session stuck where the abort cannot reach calls HardStop (the agent then exits, which detaches
// everything) HardStopAfter after the abort.
func TestHardStopWhenTheSessionIsStuck(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	hardStop := make(chan error, 1)
	h := newHarness(t, func(c *Config) {
		c.NewResolver = func(string) (Resolver, error) { return blockingResolver{release}, nil }
		c.AbortGrace, c.HardStopAfter = 50*time.Millisecond, 50*time.Millisecond
		c.HardStop = func(why error) { hardStop <- why }
	})
	h.start("")
	h.send(`{"op":"add","target":{"container_id":"c1"}}`)
	_ = h.stdin.Close()
	select {
	case why := <-hardStop:
		if !errors.Is(why, errInputClosed) {
			t.Fatalf("HardStop(%v), want the input's end as the cause", why)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("HardStop was not called")
	}
}

// Pass: pings keep a session alive while its control loop is stuck (they are counted on arrival).
func TestPingsCountWhileTheControlLoopIsBusy(t *testing.T) {
	release := make(chan struct{})
	clock := newManualClock() // moved by the test only: see TestHeartbeatTimeout
	h := newHarness(t, func(c *Config) {
		c.NewResolver = func(string) (Resolver, error) { return blockingResolver{release}, nil }
		c.HeartbeatTimeout, c.Now = 100*time.Millisecond, clock.Now
		c.ResolveTimeout = time.Hour
	})
	h.start("")
	h.send(`{"op":"add","target":{"container_id":"c1"}}`)
	// 5 timeouts of the session's clock while the control loop waits on the resolver
	ticker := time.NewTicker(5 * time.Millisecond) // pacing only: real time lets the timer fire in between
	for range 25 {
		<-ticker.C
		clock.Advance(20 * time.Millisecond)
		h.send(`{"op":"ping"}`)
	}
	ticker.Stop()
	close(release)
	h.expectNotice(event.NoticeTargetError)
	h.send(`{"op":"stop"}`)
	if n := h.expectNotice(event.NoticeExit); n.Message != "stopped by the plugin" {
		t.Fatalf("exit notice %+v", n)
	}
}

// Pass: --max-rate drops what exceeds the rate, counts it apart from kernel drops, and reports it.
func TestMaxRateDropsAndCounts(t *testing.T) {
	h := newHarness(t, nil)
	h.start(`,"max_rate":5`)
	// 20 events within 1 ms of kernel time: the one-second burst (5) passes, the rest is dropped
	for i := range 20 { // each one is taken by the reader before the next: all 20 count before the stop
		h.feed(record.Record{Nr: 257, Pid: uint32(i + 1), Finish: uint64(1e9 + i*1000)})
	}
	h.send(`{"op":"stop"}`)
	// the drops are reported as the timer sees them, in one notice or several; the exit sums them up
	events, notices := 0, 0
	var limited uint64
	var exit *event.Notice
	for exit == nil {
		switch l := h.next(); {
		case l.Event != nil:
			events++
		case l.Notice.Kind == event.NoticeRateLimited:
			notices++
			limited += l.Notice.Limited
		case l.Notice.Kind == event.NoticeExit:
			exit = l.Notice
		default:
			t.Fatalf("unexpected notice %+v", l.Notice)
		}
	}
	if events != 5 || exit.LimitedTotal != 15 || exit.LostTotal != 0 {
		t.Fatalf("%d events written, exit %+v; want 5 written and 15 limited, none lost", events, exit)
	}
	if notices == 0 || limited != 15 {
		t.Fatalf("%d rate_limited notices saying %d in all, want at least one and 15", notices, limited)
	}
}

func TestBucket(t *testing.T) {
	b := newBucket(10)
	passed := 0
	for i := range 100 { // 100 events in 10 ms: the burst
		if b.take(uint64(1e9 + i*100_000)) {
			passed++
		}
	}
	if passed != 10 {
		t.Fatalf("burst: %d passed, want 10", passed)
	}
	passed = 0
	for i := range 100 { // 100 events over the next 10 s: the rate
		if b.take(uint64(2e9 + i*100_000_000)) {
			passed++
		}
	}
	if passed < 99 || passed > 101 {
		t.Fatalf("steady: %d passed, want about 100", passed)
	}
}

// Pass: a target's labels are bounded in bytes; whole labels are kept in key order and the notice says so.
func TestLabelBytesAreBounded(t *testing.T) {
	h := newHarness(t, nil)
	h.start(`,"max_label_bytes":10`)
	h.send(`{"op":"add","target":{"container_id":"c1","labels":{"a":"1234","b":"12345678","c":"1"}}}`)
	n := h.expectNotice(event.NoticeTargetAttached)
	if !strings.Contains(n.Message, "1 label(s) left out") {
		t.Fatalf("notice %+v", n)
	}
	kept, left := boundLabels(map[string]string{"a": "1234", "b": "12345678", "c": "1"}, 10)
	if left != 1 || len(kept) != 2 || kept["a"] != "1234" || kept["c"] != "1" {
		t.Fatalf("kept %v, left %d", kept, left)
	}
}

// OpStart's incident filters and fd display reach the tracer and the decoder; what they dropped is in the stats
// and exit notices, apart from the lost count.
func TestFilterReachesTracerAndNotices(t *testing.T) {
	var tracerStart, decoderStart *protocol.Start
	h := newHarness(t, func(c *Config) {
		newTracer, newDecoder := c.NewTracer, c.NewDecoder
		c.NewTracer = func(s *protocol.Start) (Tracer, error) { tracerStart = s; return newTracer(s) }
		c.NewDecoder = func(s *protocol.Start) Decoder { decoderStart = s; return newDecoder(s) }
		c.StatsInterval = 10 * time.Millisecond
	})
	h.start(`,"filter":{"failed":true,"errnos":["ENOENT"],"paths":["/etc/hostname"],"fds":2}`)
	want := callfilter.Spec{Failed: true, Errnos: []string{"ENOENT"}, Paths: []string{"/etc/hostname"}, Fds: 2}
	if tracerStart == nil || decoderStart == nil || !reflect.DeepEqual(tracerStart.Filter, want) ||
		decoderStart.Filter.Fds != 2 {
		t.Fatalf("tracer got %+v, decoder %+v", tracerStart, decoderStart)
	}
	h.tracer.filtered.Store(42)
	for n := h.expectNotice(event.NoticeStats); n.FilteredTotal != 42; n = h.expectNotice(event.NoticeStats) {
	}
	h.send(`{"op":"stop"}`)
	if n := h.expectNotice(event.NoticeExit); n.FilteredTotal != 42 || n.LostTotal != 0 {
		t.Fatalf("exit notice %+v", n)
	}
}
