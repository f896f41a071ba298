package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/testutil"
	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/lifecycle"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/plugin/transport"
)

// The states an agent goes through, start to end.
const (
	whole    = "preparing creating created scheduled attaching streaming ending gone"
	upToLive = "preparing creating created scheduled attaching streaming"
)

var (
	jobA  = jobName("node-a", 1)
	jobA2 = jobName("node-a", 2)
	jobB  = jobName("node-b", 1)
)

// lifeCase is one agent's life: how the fleet is set up, what the test does to it, and what must come of it.
// Every case ends with a Stop; paths are then compared whole.
type lifeCase struct {
	name  string
	setup setup
	drive func(h *harness)
	// paths: "node/gen" -> the states it went through; said: messages that must be there (each once);
	// unsaid: messages that must not.
	paths  map[string]string
	said   []string
	unsaid []string
	// check looks at the end (the fleet stopped).
	check func(t *testing.T, h *harness)
}

func runLives(t *testing.T, cases []lifeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.setup)
			if tc.drive != nil {
				tc.drive(h)
			} else { // it ends on its own
				for key, want := range tc.paths {
					node, gen, _ := strings.Cut(key, "/")
					testutil.WaitFor(t, key+" to go through "+want, func() bool { return h.path(node, int(gen[0]-'0')) == want })
				}
			}
			h.stop()
			for key, want := range tc.paths {
				node, gen, _ := strings.Cut(key, "/")
				if got := h.path(node, int(gen[0]-'0')); got != want {
					t.Errorf("%s went through %q, want %q", key, got, want)
				}
			}
			if got := h.allPaths(); len(got) != len(tc.paths) {
				t.Errorf("agents %v, want only %v", got, tc.paths)
			}
			msgs := h.log.String()
			for _, want := range tc.said {
				if n := strings.Count(msgs, want); n != 1 {
					t.Errorf("%q said %d times, want once", want, n)
				}
			}
			for _, not := range tc.unsaid {
				if strings.Contains(msgs, not) {
					t.Errorf("%q said", not)
				}
			}
			if tc.check != nil {
				tc.check(t, h)
			}
		})
	}
}

// reports is the fleet's summary as "node:F" (failed), "node:R" (replaced) or "node:ok", by stream id.
func reports(h *harness) string {
	var out []string
	for _, r := range h.fleet.Reports() {
		state := "ok"
		switch {
		case r.Failed:
			state = "F"
		case r.Replaced:
			state = "R"
		}
		out = append(out, r.Node+":"+state)
	}
	return strings.Join(out, " ")
}

func wantReports(want string) func(t *testing.T, h *harness) {
	return func(t *testing.T, h *harness) {
		t.Helper()
		if got := reports(h); got != want {
			t.Errorf("reports %q, want %q", got, want)
		}
	}
}

func waiting(reason, message string) testutil.Kubelet {
	return func(pod *corev1.Pod) bool {
		testutil.Pending(pod)
		pod.Status.ContainerStatuses[0].State.Waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: message}
		return true
	}
}

// notOurs makes every read of an agent pod return it changed by change: what an exec would reach is another pod.
func notOurs(change func(*corev1.Pod)) func(h *harness) {
	return func(h *harness) {
		h.client.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
			ga := a.(k8stesting.GetAction)
			obj, err := h.client.Tracker().Get(ga.GetResource(), ga.GetNamespace(), ga.GetName())
			if err != nil {
				return true, nil, err
			}
			pod := obj.(*corev1.Pod).DeepCopy()
			change(pod)
			return true, pod, nil
		})
	}
}

// impostor is a pod with the session's labels, controlled by a Job named job with another UID (none: no
// controller).
func impostor(name, job string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: agentNS, UID: types.UID("uid-" + name),
		Labels: map[string]string{agentpod.LabelName: agentpod.NameValue, agentpod.LabelManagedBy: agentpod.ManagedByValue,
			agentpod.LabelSession: session}}}
	if job != "" {
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job, UID: "uid-other-job", Controller: &yes}}
	}
	testutil.SetRunning(p)
	return p
}

// TestLife drives one agent through each way its life can go, from its Job's creation to its end.
func TestLife(t *testing.T) {
	runLives(t, []lifeCase{{
		name: "streams until stopped",
		drive: func(h *harness) {
			h.reached("node-a", 1, streaming)
			h.ops(jobA, "start pod web-1")
		},
		paths: map[string]string{"node-a/1": whole},
		said:  []string{"agents ready 1/1 after "},
		check: func(t *testing.T, h *harness) {
			if got := h.agent(jobA).Ops(); got != "start pod web-1 stop" {
				t.Errorf("the agent received %q", got)
			}
			wantReports("node-a:ok")(t, h)
		},
	}, {
		name:  "its node is not ready",
		setup: setup{notReady: map[string]string{"node-a": "node is not Ready (NodeStatusUnknown)"}},
		drive: func(h *harness) { h.waitClosed("every agent ended", h.fleet.Ended()) },
		paths: map[string]string{"node-a/1": "preparing creating gone"},
		said:  []string{"node-a: node is not Ready (NodeStatusUnknown); its containers are not traced"},
		check: func(t *testing.T, h *harness) {
			if n := jobCount(t, h.client); n != 0 {
				t.Errorf("%d Jobs created for a node that is not ready", n)
			}
			wantReports("node-a:F")(t, h)
		},
	}, {
		name: "a Job of its name exists already",
		setup: setup{objects: []runtime.Object{&batchv1.Job{ObjectMeta: metav1.ObjectMeta{
			Name: jobA, Namespace: agentNS, UID: "uid-theirs"}}}},
		drive: func(h *harness) { h.waitClosed("every agent ended", h.fleet.Ended()) },
		paths: map[string]string{"node-a/1": "preparing creating gone"},
		said: []string{"node-a: a Job named " + jobA + " exists already in namespace swoll and was not created by this session: " +
			"refusing to use it"},
		check: func(t *testing.T, h *harness) {
			job, err := h.client.BatchV1().Jobs(agentNS).Get(t.Context(), jobA, metav1.GetOptions{})
			if err != nil || job.UID != "uid-theirs" || len(h.tr.Execs()) != 0 {
				t.Errorf("their Job: %v (uid %v); execs %v", err, job.GetUID(), h.tr.Execs())
			}
		},
	}, {
		name: "its Job's creation is refused",
		setup: setup{before: func(h *harness) {
			h.client.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "batch", Resource: "jobs"}, jobA, errors.New("no"))
			})
		}},
		paths: map[string]string{"node-a/1": "preparing creating gone"},
		said:  []string{`node-a: creating agent job ` + jobA + `: jobs.batch "` + jobA + `" is forbidden: no`},
	}, {
		name:  "its image cannot be pulled",
		setup: setup{kubelet: waiting("ImagePullBackOff", `Back-off pulling image "i"`)},
		paths: map[string]string{"node-a/1": "preparing creating created scheduled gone"},
		said:  []string{` cannot run: ImagePullBackOff: Back-off pulling image "i"`},
	}, {
		name: "it exits at its start",
		setup: setup{kubelet: func(p *corev1.Pod) bool {
			testutil.SetTerminated(p, 1, "")
			return true
		}},
		paths: map[string]string{"node-a/1": "preparing creating created scheduled ending gone"},
		said:  []string{" cannot run: the agent exited with code 1: fake logs"}, // the fake's log of every pod
	}, {
		name:  "its pod never comes",
		setup: setup{kubelet: testutil.Absent, startTimeout: 10 * time.Millisecond},
		paths: map[string]string{"node-a/1": "preparing creating created gone"},
		said: []string{"node-a: agent job/" + jobA + " not running after 10ms (last state: pod created); " +
			"see kubectl describe -n swoll job/" + jobA},
	}, {
		name:  "its pod is deleted while it starts",
		setup: setup{kubelet: testutil.Pending},
		drive: func(h *harness) {
			h.reached("node-a", 1, scheduled)
			if err := h.client.CoreV1().Pods(agentNS).Delete(h.t.Context(), h.pod(jobA).Name, metav1.DeleteOptions{}); err != nil {
				h.t.Fatal(err)
			}
			h.reached("node-a", 1, gone)
		},
		paths: map[string]string{"node-a/1": "preparing creating created scheduled gone"},
		said:  []string{" cannot run: the agent pod is being deleted"},
	}, {
		name:  "its start goes on step by step",
		setup: setup{kubelet: testutil.Pending},
		drive: func(h *harness) {
			h.said("agents ready 0/1; node-a: creating container")
			h.podNow(jobA, testutil.SetRunning)
			h.reached("node-a", 1, streaming)
		},
		paths: map[string]string{"node-a/1": whole},
		said:  []string{"agents ready 0/1; node-a: pod created", "agents ready 1/1 after "},
	}, {
		name:  "at the exec its pod is another pod of that name",
		setup: setup{before: notOurs(func(p *corev1.Pod) { p.UID = "uid-impostor" })},
		paths: map[string]string{"node-a/1": "preparing creating created scheduled attaching gone"},
		said:  []string{"(uid uid-impostor) is not the pod this session's Job created: refusing to exec into it"},
		check: func(t *testing.T, h *harness) {
			if len(h.tr.Execs()) != 0 {
				t.Errorf("exec'd into %v", h.tr.Execs())
			}
		},
	}, {
		name: "at the exec its pod is of another Job of that name",
		setup: setup{before: notOurs(func(p *corev1.Pod) {
			p.OwnerReferences[0].UID = "uid-other-job"
		})},
		paths: map[string]string{"node-a/1": "preparing creating created scheduled attaching gone"},
		said:  []string{"is not the pod this session's Job created: refusing to exec into it"},
		check: func(t *testing.T, h *harness) {
			if len(h.tr.Execs()) != 0 {
				t.Errorf("exec'd into %v", h.tr.Execs())
			}
		},
	}, {
		name: "a pod of another Job of its name comes while it streams",
		drive: func(h *harness) {
			h.reached("node-a", 1, streaming)
			p := impostor(jobA+"-zzzzz", jobA)
			h.pods <- lifecycle.Update{Pod: p}
			h.pods <- lifecycle.Update{Pod: p}
			h.said("ignoring pod swoll/" + jobA + "-zzzzz (uid uid-" + jobA + "-zzzzz): its Job has this session's agent name but was not created by it")
		},
		paths: map[string]string{"node-a/1": whole},
		check: func(t *testing.T, h *harness) {
			if got := h.tr.Execs(); len(got) != 1 || strings.HasSuffix(got[0].Pod, "-zzzzz") {
				t.Errorf("execs %v", got)
			}
		},
	}, {
		name: "a pod of another Job of its name comes while its Job is created",
		setup: setup{before: func(h *harness) {
			h.client.PrependReactor("create", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
				// the fleet has it before the create returns: it is held until the Job's UID is known
				h.pods <- lifecycle.Update{Pod: impostor(jobA+"-zzzzz", jobA)}
				return false, nil, nil
			})
		}},
		drive: func(h *harness) { h.reached("node-a", 1, streaming) },
		paths: map[string]string{"node-a/1": whole},
		said:  []string{"ignoring pod swoll/" + jobA + "-zzzzz (uid uid-" + jobA + "-zzzzz): its Job has this session's agent name but was not created by it"},
		check: func(t *testing.T, h *harness) {
			if got := h.tr.Execs(); len(got) != 1 || strings.HasSuffix(got[0].Pod, "-zzzzz") {
				t.Errorf("execs %v", got)
			}
		},
	}, {
		name:  "a pod of no Job of the session carries its labels",
		setup: setup{objects: []runtime.Object{impostor("lookalike", "")}},
		drive: func(h *harness) {
			h.reached("node-a", 1, streaming)
			h.said("ignoring pod swoll/lookalike (uid uid-lookalike): it carries this session's labels but none of its agent Jobs created it")
			h.pods <- lifecycle.Update{Pod: impostor("lookalike", "")}
		},
		paths: map[string]string{"node-a/1": whole},
		said:  []string{"ignoring pod swoll/lookalike"},
	}, {
		name: "another client deletes its pod",
		drive: func(h *harness) {
			h.reached("node-a", 1, streaming)
			if err := h.client.CoreV1().Pods(agentNS).Delete(h.t.Context(), h.pod(jobA).Name, metav1.DeleteOptions{}); err != nil {
				h.t.Fatal(err)
			}
			h.waitClosed("every agent ended", h.fleet.Ended())
		},
		paths: map[string]string{"node-a/1": whole},
		said: []string{" was deleted by another client (kubectl swoll cleanup?)",
			"node-a: its 1 pod(s) are no longer traced: its agent was deleted by another client"},
		unsaid: []string{"starting a replacement"},
		check:  wantReports("node-a:F"),
	}, {
		name: "it reaches its deadline",
		drive: func(h *harness) {
			h.reached("node-a", 1, streaming)
			job, err := h.client.BatchV1().Jobs(agentNS).Get(h.t.Context(), jobA, metav1.GetOptions{})
			if err != nil {
				h.t.Fatal(err)
			}
			job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue,
				Reason: batchv1.JobReasonDeadlineExceeded}}
			if _, err := h.client.BatchV1().Jobs(agentNS).UpdateStatus(h.t.Context(), job, metav1.UpdateOptions{}); err != nil {
				h.t.Fatal(err)
			}
			if err := h.client.CoreV1().Pods(agentNS).Delete(h.t.Context(), h.pod(jobA).Name, metav1.DeleteOptions{}); err != nil {
				h.t.Fatal(err)
			}
			h.reached("node-a", 2, streaming)
		},
		paths: map[string]string{"node-a/1": whole, "node-a/2": whole},
		said: []string{"node-a: the agent reached its deadline (activeDeadlineSeconds 1); use a larger --agent-deadline for longer sessions",
			"node-a: starting a replacement agent (1 of at most 3)"},
		check: wantReports("node-a:R node-a:ok"),
	}, {
		name: "it never gets ready",
		setup: setup{before: func(h *harness) {
			h.setServe(jobA, func(_ context.Context, _ transport.Request, stdio transport.Stdio) error {
				if err := testutil.WriteNotice(stdio.Stdout, event.Notice{Kind: event.NoticeError, Message: "cannot load probes"}); err != nil {
					return err
				}
				return testutil.WriteNotice(stdio.Stdout, event.Notice{Kind: event.NoticeExit})
			})
		}},
		drive:  func(h *harness) { h.waitClosed("every agent ended", h.fleet.Ended()) },
		paths:  map[string]string{"node-a/1": "preparing creating created scheduled attaching ending gone"},
		said:   []string{"node-a: agent error: cannot load probes"},
		unsaid: []string{"starting a replacement", "no longer traced", "agents ready 1/1"},
		check:  wantReports("node-a:F"),
	}, {
		name: "it ends on its own",
		setup: setup{before: func(h *harness) {
			h.setServe(jobA, func(_ context.Context, _ transport.Request, stdio transport.Stdio) error {
				for _, k := range []event.NoticeKind{event.NoticeReady, event.NoticeExit} {
					if err := testutil.WriteNotice(stdio.Stdout, event.Notice{Kind: k, Selection: event.SelectionCgroup}); err != nil {
						return err
					}
				}
				return nil
			})
		}},
		drive:  func(h *harness) { h.waitClosed("every agent ended", h.fleet.Ended()) },
		paths:  map[string]string{"node-a/1": whole},
		unsaid: []string{"node-a: the agent", "replacement"},
		check:  wantReports("node-a:ok"),
	}, {
		name: "its exec cannot be prepared",
		setup: setup{before: func(h *harness) {
			h.setServe(jobA, func(context.Context, transport.Request, transport.Stdio) error {
				return &transport.SetupError{Err: errors.New("no host")}
			})
		}},
		paths: map[string]string{"node-a/1": "preparing creating created scheduled attaching ending gone"},
		said:  []string{"node-a: preparing exec into " + jobA + "-"},
	}})
}

// killed plays the agent of generation gen of node being killed once it streams: its pod fails, then its
// stream breaks.
func killed(h *harness, node string, gen int) {
	h.t.Helper()
	h.reached(node, gen, streaming)
	h.podNow(jobName(node, gen), func(p *corev1.Pod) { testutil.SetTerminated(p, 137, "") })
	h.breaks(jobName(node, gen)) <- errors.New("connection reset by peer")
}

// longGrace keeps a stream open after its pod ended (the test breaks it).
func longGrace(w *waits) { w.podEndGrace = time.Hour }

// TestReplacement: an agent that fails after it had been streaming is replaced by the next generation, which
// is given the node's targets as they are then.
func TestReplacement(t *testing.T) {
	runLives(t, []lifeCase{{
		name: "a killed agent is replaced",
		setup: setup{
			targets: []targets.Target{target("node-a", "web-1", "a1"), target("node-a", "web-2", "a2")},
			waits:   longGrace,
		},
		drive: func(h *harness) {
			h.reached("node-a", 1, streaming)
			h.apply(removed(target("node-a", "web-1", "a1")), added(target("node-a", "web-3", "a3")))
			h.ops(jobA, "start pod web-1 pod web-2 forget a1 pod web-3")
			killed(h, "node-a", 1)
			h.reached("node-a", 2, streaming)
			h.ops(jobA2, "start pod web-2 pod web-3")
			h.said("node-a: replacement agent ready; the node was not traced from ")
		},
		paths: map[string]string{"node-a/1": whole, "node-a/2": whole},
		said: []string{"node-a: the agent's session ended: connection reset by peer",
			"node-a: starting a replacement agent (1 of at most 3)"},
		check: wantReports("node-a:R node-a:ok"),
	}, {
		name:  "replacements are bounded",
		setup: setup{maxReplacements: 1, waits: longGrace},
		drive: func(h *harness) {
			killed(h, "node-a", 1)
			killed(h, "node-a", 2)
			h.said("node-a: its 1 pod(s) are no longer traced: its agent failed 2 times")
			h.apply(added(target("node-a", "web-9", "a9")))
			h.said("node-a: not tracing shop/web-9: the node's agent failed (see above)")
		},
		paths: map[string]string{"node-a/1": whole, "node-a/2": whole},
		said:  []string{"starting a replacement agent (1 of at most 1)"},
		check: wantReports("node-a:R node-a:F"),
	}, {
		name: "a replacement that cannot be planned leaves the node untraced",
		setup: setup{waits: longGrace, prepare: func(context.Context, string, int) (Plan, error) {
			return Plan{}, errors.New("no system call table for riscv64")
		}},
		drive: func(h *harness) {
			killed(h, "node-a", 1)
			h.waitClosed("every agent ended", h.fleet.Ended())
		},
		paths: map[string]string{"node-a/1": whole, "node-a/2": "preparing gone"},
		said:  []string{"node-a: its 1 pod(s) are no longer traced: no system call table for riscv64"},
		check: wantReports("node-a:F"),
	}})
}

// gate holds a request until it is opened.
type gate struct {
	open chan struct{}
	once sync.Once
}

func newGate() *gate     { return &gate{open: make(chan struct{})} }
func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// TestReplacementRacingTheEnd: a Stop that comes while a failed agent's end is read, or while its replacement
// is planned or created, starts no agent after it, waits for the one being created, and leaves none behind.
func TestReplacementRacingTheEnd(t *testing.T) {
	var readEnd, plan2, create2 *gate
	runLives(t, []lifeCase{{
		name: "the stop comes while the failed agent's pod is read",
		setup: setup{waits: longGrace, before: func(h *harness) {
			readEnd = newGate()
			h.t.Cleanup(readEnd.release)
			h.client.PrependReactor("get", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				if strings.Contains(h.path("node-a", 1), "ending") {
					<-readEnd.open // while the fake's lock is held: nothing below needs the fake
				}
				return false, nil, nil
			})
		}},
		drive: func(h *harness) {
			killed(h, "node-a", 1)
			h.reached("node-a", 1, ending)
			h.stop()
			readEnd.release()
		},
		paths:  map[string]string{"node-a/1": whole},
		said:   []string{"node-a: the agent's session ended: connection reset by peer"},
		unsaid: []string{"replacement"},
		check:  wantReports("node-a:F"),
	}, {
		name: "the stop comes while the replacement is planned",
		setup: setup{waits: longGrace, before: func(h *harness) {
			plan2 = newGate()
			h.t.Cleanup(plan2.release)
		}, prepare: func(ctx context.Context, node string, gen int) (Plan, error) {
			<-plan2.open
			return plan(node, gen), nil
		}},
		drive: func(h *harness) {
			killed(h, "node-a", 1)
			h.reached("node-a", 2, preparing)
			h.stop()
			plan2.release()
		},
		paths: map[string]string{"node-a/1": whole, "node-a/2": "preparing gone"},
		said:  []string{"node-a: starting a replacement agent (1 of at most 3)"},
		check: func(t *testing.T, h *harness) {
			h.waitClosed("the fleet's end", h.fleet.Finished())
			if n := jobCount(t, h.client); n != 1 {
				t.Errorf("%d Jobs, want 1 (no replacement's)", n)
			}
			wantReports("node-a:F")(t, h)
		},
	}, {
		name: "the stop comes while the replacement's Job is created",
		setup: setup{
			nodes:   []string{"node-a", "node-b"},
			targets: []targets.Target{target("node-a", "web-1", "a1"), target("node-b", "web-2", "b1")},
			waits:   longGrace,
			before: func(h *harness) {
				create2 = newGate()
				h.t.Cleanup(create2.release)
				h.client.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
					if a.(k8stesting.CreateAction).GetObject().(*batchv1.Job).Name == jobA2 {
						<-create2.open // while the fake's lock is held: nothing below needs the fake
					}
					return false, nil, nil
				})
			},
		},
		drive: func(h *harness) {
			h.reached("node-b", 1, streaming)
			killed(h, "node-a", 1)
			h.reached("node-a", 2, creating)
			h.fleet.Stop()
			h.reached("node-b", 1, gone) // the stop was heard
			select {
			case <-h.fleet.Done():
				h.t.Error("done while a replacement's Job is being created")
			default:
			}
			create2.release()
			h.waitClosed("every agent gone", h.fleet.Done())
		},
		paths: map[string]string{"node-a/1": whole, "node-a/2": "preparing creating gone", "node-b/1": whole},
		check: func(t *testing.T, h *harness) {
			// the replacement's Job exists: the session's teardown deletes it with the others, by label
			if n := jobCount(t, h.client); n != 3 {
				t.Errorf("%d Jobs, want 3", n)
			}
			wantReports("node-a:R node-b:ok node-a:ok")(t, h)
		},
	}})
}

// TestStopInEveryState: a Stop ends an agent whatever state it is in, and the fleet then ends (preparing,
// creating and ending: TestReplacementRacingTheEnd; streaming: TestLife).
func TestStopInEveryState(t *testing.T) {
	runLives(t, []lifeCase{{
		name:  "created",
		setup: setup{kubelet: testutil.Absent},
		drive: func(h *harness) { h.reached("node-a", 1, created) },
		paths: map[string]string{"node-a/1": "preparing creating created gone"},
	}, {
		name:  "scheduled",
		setup: setup{kubelet: testutil.Pending},
		drive: func(h *harness) { h.reached("node-a", 1, scheduled) },
		paths: map[string]string{"node-a/1": "preparing creating created scheduled gone"},
	}, {
		name: "attaching",
		setup: setup{before: func(h *harness) {
			h.setServe(jobA, func(_ context.Context, _ transport.Request, stdio transport.Stdio) error {
				// not ready; leaves when its stdin ends (OpStop, then the end of stdin)
				_, err := stdio.Stdin.Read(make([]byte, 1<<16))
				for err == nil {
					_, err = stdio.Stdin.Read(make([]byte, 1<<16))
				}
				return testutil.WriteNotice(stdio.Stdout, event.Notice{Kind: event.NoticeExit})
			})
		}},
		drive: func(h *harness) { testutil.WaitFor(t, "the exec", func() bool { return len(h.tr.Execs()) == 1 }) },
		paths: map[string]string{"node-a/1": "preparing creating created scheduled attaching ending gone"},
	}})
}

// TestTargets: targets go to the agent of their node as they come and go; a node that gains targets gets an
// agent, which is given every target the node has when it attaches.
func TestTargets(t *testing.T) {
	var planC *gate
	runLives(t, []lifeCase{{
		name: "changes go to the streaming agent",
		drive: func(h *harness) {
			h.reached("node-a", 1, streaming)
			h.apply(added(target("node-a", "web-2", "a2")))
			h.said("node-a: tracing shop/web-2")
			h.apply(removed(target("node-a", "web-1", "a1")))
			h.said("node-a: no longer tracing shop/web-1")
			h.ops(jobA, "start pod web-1 pod web-2 forget a1")
		},
		paths:  map[string]string{"node-a/1": whole},
		unsaid: []string{"node-a: tracing shop/web-1"}, // an initial target is announced in the session's first line
	}, {
		name:  "targets that change while the agent starts are all given when it attaches",
		setup: setup{kubelet: testutil.Pending},
		drive: func(h *harness) {
			h.reached("node-a", 1, scheduled)
			h.apply(added(target("node-a", "web-2", "a2")), removed(target("node-a", "web-1", "a1")),
				added(target("node-a", "web-3", "a3")))
			h.podNow(jobA, testutil.SetRunning)
			h.ops(jobA, "start pod web-2 pod web-3")
		},
		paths: map[string]string{"node-a/1": whole},
	}, {
		name: "a node that gains targets gets its agent",
		setup: setup{
			before: func(h *harness) { planC = newGate(); h.t.Cleanup(planC.release) },
			prepare: func(ctx context.Context, node string, gen int) (Plan, error) {
				<-planC.open
				return plan(node, gen), nil
			},
		},
		drive: func(h *harness) {
			h.reached("node-a", 1, streaming)
			h.apply(added(target("node-c", "web-c", "c1")))
			h.reached("node-c", 1, preparing)
			h.apply(added(target("node-c", "web-d", "c2"))) // while it is planned
			planC.release()
			h.reached("node-c", 1, streaming)
			h.ops(jobName("node-c", 1), "start pod web-c pod web-d")
		},
		paths: map[string]string{"node-a/1": whole, "node-c/1": whole},
		said:  []string{"node-c: new node with targets; starting an agent", "node-c: agent ready after "},
		check: wantReports("node-a:ok node-c:ok"),
	}, {
		name:  "--max-nodes bounds the nodes with an agent",
		setup: setup{maxNodes: 1},
		drive: func(h *harness) {
			h.reached("node-a", 1, streaming)
			h.apply(added(target("node-c", "web-c", "c1")))
			h.said("node-c: cannot trace shop/web-c there: the session has agents on 1 nodes already (--max-nodes 1)")
		},
		paths: map[string]string{"node-a/1": whole},
	}, {
		name: "a node whose agent cannot be planned is tried again with its next target",
		setup: setup{prepare: func(_ context.Context, node string, gen int) (Plan, error) {
			return Plan{}, fmt.Errorf("no system call table for riscv64")
		}},
		drive: func(h *harness) {
			h.reached("node-a", 1, streaming)
			h.apply(added(target("node-x", "web-x", "x1")))
			h.said("node-x: cannot trace shop/web-x there: no system call table for riscv64")
			h.apply(added(target("node-x", "web-y", "x2")))
			h.said("node-x: cannot trace shop/web-y there: no system call table for riscv64")
		},
		paths: map[string]string{"node-a/1": whole, "node-x/1": "preparing gone preparing gone"},
	}})
}

// TestNotices: what an agent says is told, counted for the summary, or makes it a failure.
func TestNotices(t *testing.T) {
	speak := make(chan struct{})
	runLives(t, []lifeCase{{
		name: "losses, limits, targets and errors",
		setup: setup{before: func(h *harness) {
			h.setServe(jobA, notices([]event.Notice{
				{Kind: event.NoticeLost, Lost: 5, LostTotal: 5, DroppedCalls: []event.DroppedCall{{Syscall: "openat", Calls: 5}}},
				{Kind: event.NoticeRateLimited, Limited: 7, LimitedTotal: 7},
				{Kind: event.NoticeStats, Events: 2, FilteredTotal: 9},
				{Kind: event.NoticeTargetError, ContainerID: "containerd://a1", Message: "no such container"},
				{Kind: event.NoticeError, Message: "a probe detached"},
			}, nil))
		}},
		drive: func(h *harness) { h.said("node-a: agent error: a probe detached") },
		paths: map[string]string{"node-a/1": whole},
		said: []string{"node-a: 5 events lost in the kernel (total 5)", "node-a: 7 events over --max-rate dropped (total 7)",
			"node-a: cannot trace shop/web-1/app: no such container"},
		check: func(t *testing.T, h *harness) {
			r := h.fleet.Reports()
			if len(r) != 1 || r[0].Lost != 5 || r[0].Limited != 7 || r[0].Filtered != 9 || !r[0].Failed ||
				len(r[0].Dropped) != 1 || r[0].Dropped[0].Syscall != "openat" || r[0].Dropped[0].Calls != 5 {
				t.Errorf("reports %+v", r)
			}
		},
	}, {
		name: "a silent agent is named, and heard from again",
		setup: setup{waits: func(w *waits) { w.silentAfter = 20 * time.Millisecond }, before: func(h *harness) {
			h.setServe(jobA, func(ctx context.Context, req transport.Request, stdio transport.Stdio) error {
				if err := testutil.WriteNotice(stdio.Stdout, event.Notice{Kind: event.NoticeReady, Selection: event.SelectionCgroup}); err != nil {
					return err
				}
				select {
				case <-speak:
				case <-ctx.Done():
					return ctx.Err()
				}
				return notices([]event.Notice{{Kind: event.NoticeStats}}, nil)(ctx, req, stdio)
			})
		}},
		drive: func(h *harness) {
			h.said("node-a: silent for ")
			close(speak)
			h.said("node-a: its agent is heard from again after ")
		},
		paths: map[string]string{"node-a/1": whole},
	}, {
		name: "a container's start and end are told, and how the node selects pods",
		setup: setup{before: func(h *harness) {
			one, zero := 1, 0
			h.setServe(jobA, notices([]event.Notice{
				{Kind: event.NoticeContainerStarted, PodUID: "a1", Pod: "web-1", Namespace: "shop", Container: "app", ContainerKind: "init", RestartCount: &zero},
				{Kind: event.NoticeContainerEnded, PodUID: "a1", Pod: "web-1", Namespace: "shop", Container: "app", ContainerKind: "init", RestartCount: &zero, ExitCode: &one, Reason: "Error"},
			}, nil))
		}},
		drive: func(h *harness) { h.said("node-a: shop/web-1/app (init) run #0 ended: exit status 1 (Error)") },
		paths: map[string]string{"node-a/1": whole},
		said:  []string{"node-a: pods selected by cgroup: traced from their first call", "node-a: shop/web-1/app (init) run #0 started"},
	}, {
		name: "an agent of protocol 1 (its ready notice does not say how it selects pods) is refused",
		setup: setup{before: func(h *harness) {
			h.setServe(jobA, func(ctx context.Context, _ transport.Request, stdio transport.Stdio) error {
				if err := testutil.WriteNotice(stdio.Stdout, event.Notice{Kind: event.NoticeReady}); err != nil {
					return err
				}
				if _, err := io.Copy(io.Discard, stdio.Stdin); err != nil { // it ignores the pods, until it is stopped
					return err
				}
				return testutil.WriteNotice(stdio.Stdout, event.Notice{Kind: event.NoticeExit, Message: "stopped by the plugin"})
			})
		}},
		drive:  func(h *harness) { h.waitClosed("every agent ended", h.fleet.Ended()) },
		paths:  map[string]string{"node-a/1": "preparing creating created scheduled attaching ending gone"},
		said:   []string{"node-a: the agent image speaks protocol 1 and this plugin protocol 2: use a plugin and an agent image of one release"},
		unsaid: []string{"agents ready 1/1"},
		check:  wantReports("node-a:F"),
	}, {
		name: "warnings about its pod are shown, late steps of its start are not",
		drive: func(h *harness) {
			h.reached("node-a", 1, streaming)
			name := h.pod(jobA).Name
			h.pods <- lifecycle.Update{Object: name, Phrase: "container started"}
			h.pods <- lifecycle.Update{Object: name, Phrase: "Evicted: The node was low on resource: memory."}
			h.said("node-a: Evicted: The node was low on resource: memory.")
		},
		paths:  map[string]string{"node-a/1": whole},
		unsaid: []string{"node-a: container started"},
	}})
}

// TestReadiness: every agent that did not fail ready opens AllReady, and the count says where the start is.
func TestReadiness(t *testing.T) {
	runLives(t, []lifeCase{{
		name: "two nodes, one after the other",
		setup: setup{
			nodes:   []string{"node-a", "node-b"},
			targets: []targets.Target{target("node-a", "web-1", "a1"), target("node-b", "web-2", "b1")},
			kubelet: testutil.Pending,
		},
		drive: func(h *harness) {
			h.reached("node-a", 1, scheduled)
			h.reached("node-b", 1, scheduled)
			h.podNow(jobA, testutil.SetRunning)
			h.said("agents ready 1/2; node-a: ready after ")
			select {
			case <-h.fleet.AllReady():
				h.t.Error("all ready with node-b starting")
			default:
			}
			h.podNow(jobB, testutil.SetRunning)
			h.said("agents ready 2/2 after ")
			h.waitClosed("all ready", h.fleet.AllReady())
		},
		paths: map[string]string{"node-a/1": whole, "node-b/1": whole},
	}, {
		name: "a failed agent does not hold the others back",
		setup: setup{
			nodes:    []string{"node-a", "node-b"},
			targets:  []targets.Target{target("node-a", "web-1", "a1"), target("node-b", "web-2", "b1")},
			notReady: map[string]string{"node-b": "node is not Ready"},
		},
		drive: func(h *harness) { h.waitClosed("all ready", h.fleet.AllReady()) },
		paths: map[string]string{"node-a/1": whole, "node-b/1": "preparing creating gone"},
		said:  []string{"agents ready 1/1 after "},
	}})
}

// TestTransitionsTable: the table is the machine: every state but gone leads somewhere, gone leads nowhere, and
// every state can end (reach gone).
func TestTransitionsTable(t *testing.T) {
	for s := preparing; s <= gone; s++ {
		if s != gone && len(states[s].next) == 0 || s == gone && len(states[s].next) != 0 {
			t.Errorf("%s leads to %v", s, states[s].next)
		}
		seen, todo := map[state]bool{}, []state{s}
		for len(todo) > 0 {
			c := todo[0]
			todo = todo[1:]
			if !seen[c] {
				seen[c] = true
				todo = append(todo, states[c].next...)
			}
		}
		if !seen[gone] {
			t.Errorf("%s cannot end", s)
		}
	}
}
