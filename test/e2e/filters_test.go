//go:build e2e

package e2e

import (
	"encoding/json"
	"regexp"
	"strconv"
	"syscall"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/swoll-dev/swoll/event"
)

// failingLoop is the replicas' script: every 0.2 s, opens that succeed (/etc/hostname, and the shell's
// redirections), and one call that fails: cat of a missing file (openat: ENOENT), or, once the test created
// /tmp/refuse in the pod, a connection to a port nobody listens on (connect: ECONNREFUSED).
const failingLoop = `while :; do
  cat /etc/hostname >/dev/null
  if [ -e /tmp/refuse ]; then nc 127.0.0.1 1 </dev/null >/dev/null 2>&1; else cat /swoll-missing 2>/dev/null; fi
  sleep 0.2
done`

// createShellReplicas creates a Deployment (one ReplicaSet) of n busybox replicas running script, and waits for them.
func (f *F) createShellReplicas(name string, lbls map[string]string, n int32, script string) []*corev1.Pod {
	f.t.Helper()
	tmpl := podSpec{labels: lbls, containers: []corev1.Container{shellContainer("loop", script)}}.pod(f.ns)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: lbls},
			Template: corev1.PodTemplateSpec{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec},
		},
	}
	if _, err := suite.cs.AppsV1().Deployments(f.ns).Create(f.ctx, d, metav1.CreateOptions{}); err != nil {
		f.t.Fatalf("creating deployment %s/%s: %v", f.ns, name, err)
	}
	return f.waitRunningPods(lbls, int(n))
}

// args decodes an event's arguments.
func args(ev *event.Event) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(ev.Args, &m)
	return m
}

// fdPath is the path of an FdFile object ("" when there is none).
func fdPath(raw json.RawMessage) string {
	var f event.FdFile
	if json.Unmarshal(raw, &f) != nil {
		return ""
	}
	return f.Path
}

// filteredRe matches the plugin's closing per-node line when calls were filtered out.
var filteredRe = regexp.MustCompile(`(?m)^swoll:\s+\S+: \d+ events, (\d+) lost, (\d+) filtered out`)

// --failed over a replica set in which one pod's calls fail with ENOENT and the other's with ECONNREFUSED: the
// trace shows exactly those, with the missing path and the refused address (-y: and the fds they were made on),
// and none of the calls that succeeded, which the kernel counted as filtered out.
func TestFailedOverReplicas(t *testing.T) {
	t.Parallel()
	f := newF(t)
	pods := f.createShellReplicas("failing", labels("app", "failing"), 2, failingLoop)
	enoent, refused := pods[0], pods[1]
	if out, err := kubectl("exec", "-n", f.ns, refused.Name, "-c", "loop", "--", "touch", "/tmp/refuse").CombinedOutput(); err != nil {
		t.Fatalf("marking %s: %v: %s", refused.Name, err, out)
	}
	s := f.trace("-n", f.ns, "-l", "app=failing", "-s", "openat,connect", "--failed", "-y", "--agent-namespace", f.agents)
	missing := func(ev *event.Event) bool {
		return ev.Syscall.Name == "openat" && ev.Error == "ENOENT" && argString(ev, "pathname") == "/swoll-missing"
	}
	refusedTo := func(ev *event.Event) bool {
		if ev.Syscall.Name != "connect" || ev.Error != "ECONNREFUSED" {
			return false
		}
		var a struct {
			Addr struct {
				Family string `json:"family"`
				Addr   string `json:"addr"`
				Port   int    `json:"port"`
			} `json:"addr"`
		}
		return json.Unmarshal(ev.Args, &a) == nil && a.Addr.Family == "AF_INET" && a.Addr.Addr == "127.0.0.1" && a.Addr.Port == 1
	}
	s.waitEvents(5, firstEventTimeout, "ENOENT opens in "+enoent.Name, both(fromPod(enoent), missing))
	s.waitEvents(5, firstEventTimeout, "ECONNREFUSED connects in "+refused.Name, both(fromPod(refused), refusedTo))
	s.stop(syscall.SIGINT)

	evs := s.Events()
	checkTagged(t, evs, pods, "openat", "connect")
	for i := range evs {
		ev := &evs[i]
		a := args(ev)
		switch {
		case fromPod(enoent)(ev) && missing(ev):
			if fdPath(a["dirfd_file"]) != "/" {
				t.Errorf("openat's AT_FDCWD shows no working directory (/): %s", describe(ev))
			}
		case fromPod(refused)(ev) && refusedTo(ev):
			if p := fdPath(a["sockfd_file"]); !regexp.MustCompile(`^socket:\[\d+\]$`).MatchString(p) {
				t.Errorf("connect's socket shows as %q, want socket:[ino]: %s", p, describe(ev))
			}
		default:
			t.Errorf("an event --failed should have dropped, or from the wrong pod: %s %s", ev.Error, describe(ev))
		}
	}
	// The successful opens and connects were counted as filtered out, on each node that ran a replica.
	m := filteredRe.FindAllStringSubmatch(s.Stderr(), -1)
	if len(m) == 0 {
		t.Fatalf("no node line with calls filtered out in the summary:\n%s", s.Stderr())
	}
	for _, l := range m {
		if lost, _ := strconv.Atoi(l[1]); lost != 0 {
			t.Errorf("%s: events lost", l[0])
		}
		if n, _ := strconv.Atoi(l[2]); n == 0 {
			t.Errorf("%s: nothing filtered out", l[0])
		}
	}
}

// hostnameLoop reads /etc/hostname (with cat, and with the shell's read builtin on a redirected stdin) and
// other files, every 0.2 s.
const hostnameLoop = `while :; do
  cat /etc/hostname >/dev/null
  read -r name </etc/hostname
  cat /etc/hosts /etc/resolv.conf >/dev/null
  sleep 0.2
done`

// -P /etc/hostname shows only the calls on that file, every system call of the pod selected: the opens of
// its path, and the reads and closes of the fds that name it (-y shows which).
func TestPathFilter(t *testing.T) {
	t.Parallel()
	f := newF(t)
	pod := f.createPod(podSpec{name: "reader", labels: labels("app", "reader"),
		containers: []corev1.Container{shellContainer("loop", hostnameLoop)}})
	s := f.trace("-n", f.ns, "-l", "app=reader", "-P", "/etc/hostname", "-y", "--agent-namespace", f.agents)
	onHostname := func(ev *event.Event) bool {
		a := args(ev)
		for k, v := range a {
			switch {
			case k == "pathname" || k == "path" || k == "filename":
				var p string
				if json.Unmarshal(v, &p) == nil && p == "/etc/hostname" {
					return true
				}
			case len(k) > len(event.FdFileSuffix) && k[len(k)-len(event.FdFileSuffix):] == event.FdFileSuffix:
				if fdPath(v) == "/etc/hostname" {
					return true
				}
			}
		}
		return false
	}
	for _, name := range []string{"openat", "read", "close"} {
		name := name
		s.waitEvents(3, firstEventTimeout, name+" on /etc/hostname", func(ev *event.Event) bool {
			return ev.Syscall.Name == name && onHostname(ev)
		})
	}
	s.stop(syscall.SIGINT)
	evs := s.Events()
	checkTagged(t, evs, []*corev1.Pod{pod})
	seen := map[string]int{}
	for i := range evs {
		ev := &evs[i]
		seen[ev.Syscall.Name]++
		if !onHostname(ev) {
			t.Errorf("a call not on /etc/hostname: %s", describe(ev))
		}
	}
	t.Logf("calls on /etc/hostname by system call: %v", seen)
	if len(filteredRe.FindAllString(s.Stderr(), -1)) == 0 {
		t.Errorf("no node line with calls filtered out in the summary:\n%s", s.Stderr())
	}
}
