package seccomp

import (
	"fmt"
	"sort"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/syscalls"
)

// Recorder is advise's sink: it keeps, from a counting session's snapshots, which calls each container of
// each pod made on each node. The session's merge loop feeds it (one goroutine); Build reads it after the
// session ended.
type Recorder struct {
	calls    map[recordKey]map[string]uint64 // by call name
	from, to int64
	overflow uint64
}

type recordKey struct {
	Namespace, Pod, Container, Node string
	Arch                            syscalls.Arch // from the row when the agent says; else the node's
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{calls: map[recordKey]map[string]uint64{}}
}

// Event implements output.Sink: counting mode sends none.
func (r *Recorder) Event([]byte) error { return nil }

// Notice implements output.Sink: the session reports notices itself.
func (r *Recorder) Notice(*event.Notice) error { return nil }

// Flush implements output.Sink.
func (r *Recorder) Flush() error { return nil }

// Snapshot implements output.SnapshotSink: it adds the snapshot's rows, but for those of the calls a container's
// processes made before they exec'd its program (event.Count.PreExec: the runtime's setup of the container,
// which happens before the runtime installs the profile).
func (r *Recorder) Snapshot(s *event.Snapshot) error {
	r.overflow += s.Overflow
	if len(s.Rows) > 0 {
		if r.from == 0 || s.From < r.from {
			r.from = s.From
		}
		r.to = max(r.to, s.To)
	}
	for i := range s.Rows {
		c := &s.Rows[i]
		if c.Container == nil || c.Calls == 0 || c.PreExec {
			continue
		}
		k := recordKey{Namespace: c.Container.Namespace, Pod: c.Container.Pod, Container: c.Container.Name,
			Node: c.Node, Arch: syscalls.Arch(c.Syscall.Arch)}
		if k.Node == "" {
			k.Node = s.Node
		}
		m, ok := r.calls[k]
		if !ok {
			m = map[string]uint64{}
			r.calls[k] = m
		}
		m[c.Syscall.Name] += c.Calls
	}
	return nil
}

// Overflow is how many calls the agents could not count (their kernel tables were full): a profile learned
// with overflow may miss calls.
func (r *Recorder) Overflow() uint64 { return r.overflow }

// Empty tells whether nothing was recorded.
func (r *Recorder) Empty() bool { return len(r.calls) == 0 }

// Lookup tells Build what a snapshot does not say: the workload that owns a pod ("Deployment/web";
// "Pod/<name>" for a pod without one) and a node's architecture (Go's name).
type Lookup struct {
	Workload func(namespace, pod string) string
	NodeArch func(node string) syscalls.Arch
}

// Built is one container's profile and what could not go into it.
type Built struct {
	Profile *Profile
	// Unknown are calls seen by number only (the agent's table did not name them): a profile lists names.
	Unknown []string
}

// Build merges what was recorded by workload and container name (the replicas of a Deployment, StatefulSet,
// DaemonSet or Job, across nodes and architectures) and returns one profile for each, in order of namespace,
// workload and container.
func (r *Recorder) Build(l Lookup) []Built {
	type group struct {
		ns, workload, container string
		pods                    map[string]bool
		calls                   map[syscalls.Arch]map[string]uint64
	}
	groups := map[string]*group{}
	for k, m := range r.podLevel() {
		w := l.Workload(k.Namespace, k.Pod)
		id := k.Namespace + "\x00" + w + "\x00" + k.Container
		g, ok := groups[id]
		if !ok {
			g = &group{ns: k.Namespace, workload: w, container: k.Container, pods: map[string]bool{},
				calls: map[syscalls.Arch]map[string]uint64{}}
			groups[id] = g
		}
		g.pods[k.Pod] = true
		arch := k.Arch
		if arch == "" {
			arch = l.NodeArch(k.Node)
		}
		if g.calls[arch] == nil {
			g.calls[arch] = map[string]uint64{}
		}
		for name, n := range m {
			g.calls[arch][name] += n
		}
	}
	out := make([]Built, 0, len(groups))
	for _, id := range sortedKeys(groups) {
		g := groups[id]
		b := buildOne(g.calls)
		l := b.Profile.Learned
		l.Namespace, l.Workload, l.Container, l.Pods = g.ns, g.workload, g.container, sortedKeys(g.pods)
		l.From, l.To = time.Unix(0, r.from).UTC(), time.Unix(0, r.to).UTC()
		l.Duration = time.Duration(r.to - r.from).Round(time.Second).String()
		b.Profile.Comment = comment(b.Profile)
		out = append(out, b)
	}
	return out
}

// podLevel is what was recorded, with the rows of no container (a pod traced from its first call counts under
// the pod until the agent knows its containers' cgroups) given to each container of that pod that was recorded:
// which of them made the calls is unknown, and a profile that misses a call breaks its container. A pod with no
// container recorded keeps them under no container.
func (r *Recorder) podLevel() map[recordKey]map[string]uint64 {
	type podKey struct{ ns, pod string }
	named := map[podKey][]recordKey{}
	for k := range r.calls {
		if k.Container != "" {
			named[podKey{k.Namespace, k.Pod}] = append(named[podKey{k.Namespace, k.Pod}], k)
		}
	}
	out := make(map[recordKey]map[string]uint64, len(r.calls))
	add := func(k recordKey, m map[string]uint64) {
		if out[k] == nil {
			out[k] = map[string]uint64{}
		}
		for name, n := range m {
			out[k][name] += n
		}
	}
	for k, m := range r.calls {
		ctrs := named[podKey{k.Namespace, k.Pod}]
		if k.Container != "" || len(ctrs) == 0 {
			add(k, m)
			continue
		}
		for _, c := range ctrs {
			c.Node, c.Arch = k.Node, k.Arch
			add(c, m)
		}
	}
	return out
}

// buildOne makes the profile of one container from its calls by architecture.
func buildOne(byArch map[syscalls.Arch]map[string]uint64) Built {
	names := map[string]bool{}
	calls := map[string]uint64{}
	var arches []string
	var unknown []string
	for arch, m := range byArch {
		arches = append(arches, string(arch))
		t, err := syscalls.ForArch(arch)
		for name, n := range m {
			if err != nil {
				unknown = append(unknown, string(arch)+":"+name)
				continue
			}
			s, ok := t.ByName(name)
			if !ok {
				unknown = append(unknown, name)
				continue
			}
			calls[s.Name] += n
			for _, x := range crossArch(arch, s.Name) {
				names[x] = true
			}
		}
	}
	sort.Strings(arches)
	sort.Strings(unknown)
	var runtime []string
	for _, c := range runtimeCalls {
		for _, x := range crossArch(syscalls.AMD64, c.name) {
			if !names[x] {
				names[x] = true
				runtime = append(runtime, x)
			}
		}
	}
	sort.Strings(runtime)
	p := &Profile{
		LinuxSeccomp: specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno,
			Architectures: profileArches(),
			Syscalls:      []specs.LinuxSyscall{{Names: sortedKeys(names), Action: specs.ActAllow}},
		},
		Learned: &Learned{Calls: calls, Arches: arches, Runtime: runtime},
	}
	return Built{Profile: p, Unknown: unknown}
}

// comment is the profile's one-sentence provenance.
func comment(p *Profile) string {
	l := p.Learned
	var total uint64
	for _, n := range l.Calls {
		total += n
	}
	return fmt.Sprintf("learned by kubectl swoll advise seccomp from %d pod(s) of %s in namespace %s, container %s, "+
		"over %s from %s on %s: %d system calls seen (%d calls), %d more for the container runtime's start",
		len(l.Pods), l.Workload, l.Namespace, l.Container, l.Duration, l.From.Format(time.RFC3339),
		strings.Join(l.Arches, ","), len(l.Calls), total, len(l.Runtime))
}
