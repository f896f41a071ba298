//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/swoll-dev/swoll/event"
)

// Containers traced from their first instruction (issue 16): crash-looping, short-lived and just-started
// containers, init containers, Jobs and exec sessions, each run from its entrypoint's execve to its exit_group.

const (
	// missingFile is what the crashing containers fail to open: cat prints an error and exits 1 within ms.
	missingFile = "/swoll-e2e-missing"
	// crashCalls are the system calls a run is judged whole by.
	crashCalls = "execve,openat,exit_group"
	// runTimeout bounds the wait for the runs a test needs: the kubelet restarts a crashing container after
	// 10, 20, 40 s (CrashLoopBackOff), and a busy two-core machine adds its own delays.
	runTimeout = 3 * time.Minute
)

// crashContainer runs `cat missingFile`: it lives a few milliseconds and exits 1.
func crashContainer(name string) corev1.Container {
	return corev1.Container{Name: name, Image: busyboxImage, ImagePullPolicy: corev1.PullNever,
		Command: []string{"/bin/cat", missingFile}}
}

// keeperLoop keeps a selected pod alive on a node, so that its agent is up before the pod under test exists.
const keeperLoop = `while :; do sleep 1; done`

// Notices returns a copy of every notice received on stdout so far (the JSON output carries a container's
// start and end).
func (s *session) Notices() []event.Notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Notice(nil), s.notices...)
}

// waitStderrMatch waits until the plugin's stderr matches re, failing at once when the plugin exits.
func (s *session) waitStderrMatch(timeout time.Duration, re *regexp.Regexp) {
	s.t.Helper()
	err := within(timeout, func(context.Context) (bool, error) {
		if !s.running() {
			return false, fmt.Errorf("the plugin exited (code %d)", s.exitCode)
		}
		return re.MatchString(s.Stderr()), nil
	}, "stderr matching %s", re)
	if err != nil {
		s.t.Fatalf("%s: %v\nstderr:\n%s", s, err, s.Stderr())
	}
}

// agentsReady matches the plugin's line once every agent of the session is ready.
var agentsReady = regexp.MustCompile(`agents ready \d+/\d+.*tracing`)

// run is one run of a container (one container id) as the trace shows it.
type run struct {
	id       string
	name     string
	restarts int
	calls    []string // "execve /bin/cat", "openat /swoll-e2e-missing ENOENT", "exit_group 1", in time order
	started  *event.Notice
	ended    *event.Notice
}

func (r *run) String() string {
	end := "no end notice"
	if r.ended != nil {
		end = "ended"
		if r.ended.ExitCode != nil {
			end += fmt.Sprintf(" with %d", *r.ended.ExitCode)
		}
	}
	return fmt.Sprintf("%s run #%d (%.12s): %v, %s", r.name, r.restarts, r.id, r.calls, end)
}

// whole reports whether the trace holds the run from its entrypoint's execve to its exit_group, with its exit
// status: the calls want lists, in that order, from the execve of program (its argv[0]) on, the run's last call
// its exit_group, and the end notice's exit code. (The runtime's own calls in the container's cgroup come
// before the execve.)
func (r *run) whole(program string, want []string, exit int) bool {
	i := -1
	for j, c := range r.calls {
		if c == "execve "+program {
			i = j
			break
		}
	}
	if i < 0 || len(r.calls) == 0 || r.calls[len(r.calls)-1] != fmt.Sprintf("exit_group %d", exit) {
		return false
	}
	next := 0
	for _, c := range r.calls[i:] {
		if next < len(want) && c == want[next] {
			next++
		}
	}
	return next == len(want) && r.ended != nil && r.ended.ExitCode != nil && *r.ended.ExitCode == exit &&
		(r.started == nil || r.started.TracedFromNs == 0)
}

// runsOf groups a session's events and container notices of one pod's container by run.
func runsOf(s *session, pod *corev1.Pod, container string) []*run {
	byID := map[string]*run{}
	get := func(id string) *run {
		if byID[id] == nil {
			byID[id] = &run{id: id, name: container, restarts: -1}
		}
		return byID[id]
	}
	for _, ev := range s.Events() {
		c := ev.Container
		if c == nil || c.Pod != pod.Name || c.Namespace != pod.Namespace || c.Name != container {
			continue
		}
		r := get(c.ID)
		if c.RestartCount != nil {
			r.restarts = *c.RestartCount
		}
		call := ev.Syscall.Name
		switch call {
		case "execve":
			call += " " + argString(&ev, "pathname")
		case "openat":
			call += " " + argString(&ev, "pathname") + " " + ev.Error
		case "exit_group":
			call += " " + argValue(&ev, "status")
		}
		r.calls = append(r.calls, call)
	}
	for _, n := range s.Notices() {
		if n.Pod != pod.Name || n.Namespace != pod.Namespace || n.Container != container {
			continue
		}
		r := get(n.ContainerID)
		if n.RestartCount != nil {
			r.restarts = *n.RestartCount
		}
		switch n.Kind {
		case event.NoticeContainerStarted:
			r.started = &n
		case event.NoticeContainerEnded:
			r.ended = &n
		}
	}
	out := make([]*run, 0, len(byID))
	for _, r := range byID {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].restarts < out[j].restarts })
	return out
}

// argValue is an event's argument key as text, whatever its JSON type ("" when absent).
func argValue(ev *event.Event, key string) string {
	var args map[string]any
	if json.Unmarshal(ev.Args, &args) != nil || args[key] == nil {
		return ""
	}
	return fmt.Sprint(args[key])
}

// crashRunWant is what a whole run of crashContainer shows.
var crashRunWant = []string{"execve /bin/cat", "openat " + missingFile + " ENOENT", "exit_group 1"}

// runLog records when each run of a pod's container started, from the pod's status polled while the test
// runs: a run shows as the container's state (restart count N: run #N) or, once the next one started or while it
// waits for its restart, as its last state. A run lives milliseconds, a restart comes 10 s or more later: the
// status shows each run long enough to be seen.
type runLog struct {
	mu      sync.Mutex
	started map[int]time.Time // by restart count
	latest  int               // the highest restart count seen
}

// watchRuns polls the pod's status until the test ends.
func (f *F) watchRuns(pod *corev1.Pod, container string) *runLog {
	l := &runLog{started: map[int]time.Time{}, latest: -1}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	f.t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		_ = pollUntil(ctx, func(ctx context.Context) (bool, error) {
			p, err := suite.cs.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			if err == nil {
				l.record(p, container)
			}
			return false, nil
		}, "the runs of %s", pod.Name)
	}()
	return l
}

func (l *runLog) record(p *corev1.Pod, container string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, c := range list {
			if c.Name != container {
				continue
			}
			n := int(c.RestartCount)
			l.latest = max(l.latest, n)
			cur := n // the run the state shows
			if c.State.Waiting != nil {
				cur = -1 // waiting for run #n+1; the last state is run #n
			}
			if st := startedAt(c.State); cur >= 0 && !st.IsZero() {
				l.started[cur] = st
			}
			prev := n - 1
			if cur < 0 {
				prev = n
			}
			if st := startedAt(c.LastTerminationState); prev >= 0 && !st.IsZero() {
				l.started[prev] = st
			}
		}
	}
}

func startedAt(s corev1.ContainerState) time.Time {
	switch {
	case s.Running != nil:
		return s.Running.StartedAt.Time
	case s.Terminated != nil:
		return s.Terminated.StartedAt.Time
	}
	return time.Time{}
}

// after lists the runs that started after t (the status's times have a precision of a second: a run that
// started in t's second is left out), and how many runs were seen at all.
func (l *runLog) after(t time.Time) (runs []int, seen int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for n, st := range l.started {
		if st.After(t.Truncate(time.Second).Add(time.Second)) || st.Equal(t.Truncate(time.Second).Add(time.Second)) {
			runs = append(runs, n)
		}
	}
	sort.Ints(runs)
	return runs, l.latest + 1
}

// waitRunsAfter waits until the pod has made n runs that started after t and the trace has the end of each.
func (s *session) waitRunsAfter(pod *corev1.Pod, container string, l *runLog, t time.Time, n int) {
	s.t.Helper()
	err := within(runTimeout, func(context.Context) (bool, error) {
		if !s.running() {
			return false, fmt.Errorf("the plugin exited (code %d)", s.exitCode)
		}
		runs, _ := l.after(t)
		if len(runs) < n {
			return false, nil
		}
		ended := map[int]bool{}
		for _, r := range runsOf(s, pod, container) {
			ended[r.restarts] = r.ended != nil
		}
		for _, i := range runs[:n] {
			if !ended[i] {
				return false, nil
			}
		}
		return true, nil
	}, "%d runs of %s/%s[%s] after %s, ended in the trace", n, pod.Namespace, pod.Name, container, t.Format(time.TimeOnly))
	if err != nil {
		s.t.Fatalf("%s: %v\nruns: %v\nstderr:\n%s", s, err, runsOf(s, pod, container), s.Stderr())
	}
}

// waitRestarts waits until the pod's container has restarted at least n times.
func (f *F) waitRestarts(l *runLog, n int) {
	f.t.Helper()
	err := within(runTimeout, func(context.Context) (bool, error) {
		_, seen := l.after(time.Time{})
		return seen > n, nil
	}, "%d restarts", n)
	if err != nil {
		f.t.Fatal(err)
	}
}

// createRaw creates a pod without waiting for it to run (it will not: it crashes).
func (f *F) createRaw(p *corev1.Pod) *corev1.Pod {
	f.t.Helper()
	got, err := suite.cs.CoreV1().Pods(f.ns).Create(f.ctx, p, metav1.CreateOptions{})
	if err != nil {
		f.t.Fatalf("creating pod %s: %v", p.Name, err)
	}
	return got
}

// crashPod is a pod on node whose only container crashes at once, again and again.
func crashPod(name, node string, l map[string]string) *corev1.Pod {
	return podSpec{name: name, labels: l, node: node, containers: []corev1.Container{crashContainer("crash")}}.pod("")
}

// checkRuns requires every run of the pod's container that started after the node's agent was up (ready: when
// the plugin said so) to be whole in the trace, logs how many runs the pod made and how many the trace shows
// whole, and returns the trace's runs.
func (f *F) checkRuns(s *session, pod *corev1.Pod, container string, l *runLog, ready time.Time, program string, want []string, exit int) []*run {
	f.t.Helper()
	runs := runsOf(s, pod, container)
	after, made := l.after(ready)
	required := map[int]bool{}
	for _, i := range after {
		required[i] = true
	}
	whole, wholeAfter := 0, 0
	byRestarts := map[int]*run{}
	for _, r := range runs {
		byRestarts[r.restarts] = r
		if r.whole(program, want, exit) {
			whole++
			if required[r.restarts] {
				wholeAfter++
			}
		}
	}
	f.t.Logf("%s/%s[%s]: the pod made %d runs, %d of them (%v) after the node's agent was up; the trace shows %d whole (%d of those)",
		pod.Namespace, pod.Name, container, made, len(after), after, whole, wholeAfter)
	for _, i := range after {
		switch r := byRestarts[i]; {
		case r == nil:
			f.t.Errorf("run #%d of %s is not in the trace at all", i, container)
		case r.ended == nil:
			// the session stopped while it ran, or before its end was said
		case !r.whole(program, want, exit):
			f.t.Errorf("run #%d is not whole: %s (want %v, exit %d)", i, r, want, exit)
		}
	}
	for _, r := range runs {
		if !required[r.restarts] && r.started != nil && r.started.TracedFromNs == 0 && !r.whole(program, want, exit) {
			f.t.Errorf("run #%d is said to be traced from its start, but is not whole: %s", r.restarts, r)
		}
	}
	return runs
}

// A pod that already crash-loops when the session starts: every run after the node's agent is up is traced
// whole, from its entrypoint's execve to its exit_group, with its exit status; the runs from before are not
// claimed whole.
func TestFirstCallCrashLoopAlreadyLooping(t *testing.T) {
	t.Parallel()
	f := newF(t)
	node := suite.nodes[0]
	pod := f.createRaw(crashPod("crash", node, labels("tier", "crash")))
	runs := f.watchRuns(pod, "crash")
	f.waitRestarts(runs, 1)

	s := f.trace("-n", f.ns, "-l", "tier=crash", "-s", crashCalls, "--agent-namespace", f.agents)
	s.waitStderrMatch(firstEventTimeout, agentsReady)
	ready := time.Now()
	s.waitRunsAfter(pod, "crash", runs, ready, 2)
	s.stop(syscall.SIGINT)
	f.checkRuns(s, pod, "crash", runs, ready, "/bin/cat", crashRunWant, 1)
}

// A session started before its pod exists waits for it (--wait, saying so), then traces every run after the
// node's agent is up whole.
func TestFirstCallCrashLoopWait(t *testing.T) {
	t.Parallel()
	f := newF(t)
	node := suite.nodes[1]
	s := f.trace("-n", f.ns, "-l", "tier=crash", "-s", crashCalls, "--wait", "--agent-namespace", f.agents)
	s.waitStderrMatch(firstEventTimeout, regexp.MustCompile(`waiting for a pod`))
	pod := f.createRaw(crashPod("crash", node, labels("tier", "crash")))
	runs := f.watchRuns(pod, "crash")
	s.waitStderrMatch(firstEventTimeout, agentsReady)
	ready := time.Now()
	s.waitRunsAfter(pod, "crash", runs, ready, 2)
	s.stop(syscall.SIGINT)
	f.checkRuns(s, pod, "crash", runs, ready, "/bin/cat", crashRunWant, 1)
}

// Without --wait, a selection that matches no pod fails with one line that says how to wait.
func TestFirstCallNoPodSaysHowToWait(t *testing.T) {
	t.Parallel()
	f := newF(t)
	r := f.run(time.Minute, "trace", "-n", f.ns, "-l", "tier=nothing", "-s", "openat", "--agent-namespace", f.agents)
	if r.code != 1 || !strings.Contains(r.stderr, "no pods match -l tier=nothing") || !strings.Contains(r.stderr, "--wait") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and one line naming --wait", r.code, r.stderr)
	}
}

// With the node's agent already up (another selected pod there), a crash-looping pod's first run is traced
// whole too; a decoy that runs the same program on the same node and a hostPID pod get no events.
func TestFirstCallCrashLoopAgentUp(t *testing.T) {
	t.Parallel()
	f := newF(t)
	node := suite.nodes[0]
	pods := f.createPods(
		podSpec{name: "keeper", labels: labels("tier", "crash"), node: node, containers: []corev1.Container{shellContainer("keep", keeperLoop)}},
		podSpec{name: "hostpid", labels: labels("tier", "other"), node: node, hostPID: true,
			containers: []corev1.Container{shellContainer("loop", `while :; do cat /swoll-e2e-missing 2>/dev/null; sleep 0.2; done`)}},
	)
	hostpid := pods[1]
	s := f.trace("-n", f.ns, "-l", "tier=crash", "-s", crashCalls, "--agent-namespace", f.agents)
	s.waitStderrMatch(firstEventTimeout, agentsReady)
	ready := time.Time{} // its pod is created after the agent is up: every run counts
	decoy := f.createRaw(crashPod("decoy", node, labels("tier", "decoy")))
	pod := f.createRaw(crashPod("crash", node, labels("tier", "crash")))
	runs := f.watchRuns(pod, "crash")
	s.waitRunsAfter(pod, "crash", runs, ready, 2)
	s.stop(syscall.SIGINT)
	if got := f.checkRuns(s, pod, "crash", runs, ready, "/bin/cat", crashRunWant, 1); len(got) == 0 || got[0].restarts != 0 {
		t.Errorf("the trace's first run is not the pod's first: %v", got)
	}
	evs := s.Events()
	for _, p := range []*corev1.Pod{decoy, hostpid} {
		if n := count(evs, fromPod(p)); n > 0 {
			t.Errorf("%d events from %s, which -l tier=crash does not select", n, p.Name)
		}
	}
	for i := range evs {
		if c := evs[i].Container; c == nil || (c.Pod != "crash" && c.Pod != "keeper") {
			t.Errorf("an event of neither selected pod: %s", describe(&evs[i]))
			break
		}
	}
}

// A failing init container (the pod stays in Init:CrashLoopBackOff) is traced whole, named as an init
// container.
func TestFirstCallFailingInitContainer(t *testing.T) {
	t.Parallel()
	f := newF(t)
	node := suite.nodes[1]
	f.createPod(podSpec{name: "keeper", labels: labels("tier", "init"), node: node,
		containers: []corev1.Container{shellContainer("keep", keeperLoop)}})
	s := f.trace("-n", f.ns, "-l", "tier=init", "-s", crashCalls, "--agent-namespace", f.agents)
	s.waitStderrMatch(firstEventTimeout, agentsReady)
	ready := time.Time{} // its pod is created after the agent is up: every run counts
	p := podSpec{name: "initfail", labels: labels("tier", "init"), node: node,
		containers: []corev1.Container{shellContainer("main", keeperLoop)}}.pod("")
	p.Spec.InitContainers = []corev1.Container{crashContainer("setup")}
	pod := f.createRaw(p)
	log := f.watchRuns(pod, "setup")
	s.waitRunsAfter(pod, "setup", log, ready, 2)
	s.stop(syscall.SIGINT)
	runs := f.checkRuns(s, pod, "setup", log, ready, "/bin/cat", crashRunWant, 1)
	for _, r := range runs {
		if r.started != nil && r.started.ContainerKind != "init" {
			t.Errorf("run #%d of setup is said to be a %q container, want init", r.restarts, r.started.ContainerKind)
		}
	}
	if n := count(s.Events(), fromContainer(pod, "main")); n > 0 {
		t.Errorf("%d events from main, which never started", n)
	}
}

// A Job whose container runs about 50 ms is traced whole, from its execve to its exit_group 0.
func TestFirstCallShortJob(t *testing.T) {
	t.Parallel()
	f := newF(t)
	node := suite.nodes[0]
	f.createPod(podSpec{name: "keeper", labels: labels("tier", "job"), node: node,
		containers: []corev1.Container{shellContainer("keep", keeperLoop)}})
	s := f.trace("-n", f.ns, "-l", "tier=job", "-s", "execve,openat,exit_group", "--agent-namespace", f.agents)
	s.waitStderrMatch(firstEventTimeout, agentsReady)
	ready := time.Time{} // its pod is created after the agent is up: every run counts

	tmpl := podSpec{labels: labels("tier", "job"), node: node, containers: []corev1.Container{
		shellContainer("step", `cat /etc/hostname >/dev/null; usleep 50000`)}}.pod("")
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	backoff := int32(0)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "step", Namespace: f.ns},
		Spec:       batchv1.JobSpec{BackoffLimit: &backoff, Template: corev1.PodTemplateSpec{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}},
	}
	if _, err := suite.cs.BatchV1().Jobs(f.ns).Create(f.ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pod *corev1.Pod
	err := within(runTimeout, func(ctx context.Context) (bool, error) {
		list, err := suite.cs.CoreV1().Pods(f.ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=step"})
		if err != nil || len(list.Items) == 0 {
			return false, nil
		}
		pod = &list.Items[0]
		return pod.Status.Phase == corev1.PodSucceeded, nil
	}, "the Job's pod to succeed")
	if err != nil {
		t.Fatal(err)
	}
	runs := f.watchRuns(pod, "step")
	s.waitRunsAfter(pod, "step", runs, ready, 1)
	s.stop(syscall.SIGINT)
	want := []string{"execve /bin/sh", "openat /etc/hostname OK", "exit_group 0"}
	f.checkRuns(s, pod, "step", runs, ready, "/bin/sh", want, 0)
}

// A `kubectl exec` into a traced pod is traced as a process of its container: its execve and its opens.
func TestFirstCallExecIntoTracedPod(t *testing.T) {
	t.Parallel()
	f := newF(t)
	pod := f.createPod(podSpec{name: "target", labels: labels("tier", "exec"), node: suite.nodes[1],
		containers: []corev1.Container{shellContainer("main", keeperLoop)}})
	s := f.trace("-n", f.ns, "-l", "tier=exec", "-s", "execve,openat", "--agent-namespace", f.agents)
	s.waitStderrMatch(firstEventTimeout, agentsReady)
	out, err := kubectl("exec", "-n", f.ns, pod.Name, "-c", "main", "--", "cat", "/etc/hostname").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl exec: %v: %s", err, out)
	}
	execd := func(ev *event.Event) bool {
		return ev.Syscall.Name == "execve" && strings.HasSuffix(argString(ev, "pathname"), "cat")
	}
	s.waitEvents(1, firstEventTimeout, "the exec'd cat's execve", both(fromContainer(pod, "main"), execd))
	s.waitEvents(1, firstEventTimeout, "the exec'd cat's open of /etc/hostname", both(fromContainer(pod, "main"), opened("/etc/hostname")))
	s.stop(syscall.SIGINT)
	checkTagged(t, s.Events(), []*corev1.Pod{pod}, "execve", "openat")
}
