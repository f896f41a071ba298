//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/swoll-dev/swoll/plugin/seccomp"
	"github.com/swoll-dev/swoll/syscalls"
)

const (
	// seccompLearn is how long advise counts; seccompCheck how long check traces. Each is several rounds of
	// the workloads' loops.
	seccompLearn = 30 * time.Second
	seccompCheck = 20 * time.Second
	// seccompRun bounds a whole advise or check run: agents start, the session, teardown.
	seccompRun = 3 * time.Minute
	// profileDir is the kubelets' seccomp subdirectory the tests install Localhost profiles in.
	profileDir = "swoll-e2e"
	// extraCall is the one call the second shell workload makes beyond the recorded ones: busybox stat -f is
	// statfs(2), and it prints the error it gets.
	extraCall = "statfs"
)

// shellLoop is the shell workload: every second it runs a few programs (each a fork and an execve of
// busybox, so their start-up calls are seen while it runs), tries a closed port, and says which round it
// is on. extra goes into the loop as is.
func shellLoop(extra string) string {
	return `i=0; while :; do i=$((i+1)); cat /etc/hostname >/dev/null; ls /bin >/dev/null; ` +
		`wget -q -O /dev/null http://127.0.0.1:9/ 2>/dev/null; ` + extra + `echo "round $i"; sleep 1; done`
}

// seccompDeployment creates a Deployment of replicas pods of c, one per node (spread), confined by the
// Localhost profile when it is not empty, and waits for them to run.
func (f *F) seccompDeployment(name string, replicas int32, c corev1.Container, profile string) []*corev1.Pod {
	f.t.Helper()
	labels := f.createSeccompDeployment(name, replicas, c, profile)
	return f.waitRunningPods(labels, int(replicas))
}

// createSeccompDeployment is seccompDeployment without the wait; it returns the pods' labels.
func (f *F) createSeccompDeployment(name string, replicas int32, c corev1.Container, profile string) map[string]string {
	f.t.Helper()
	labels := map[string]string{"app": name}
	tmpl := podSpec{labels: labels, containers: []corev1.Container{c}}.pod(f.ns)
	tmpl.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: hostnameLabel,
		WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: labels}}}
	if profile != "" {
		tmpl.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{
			Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: &profile}}
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec},
		},
	}
	if _, err := suite.cs.AppsV1().Deployments(f.ns).Create(f.ctx, d, metav1.CreateOptions{}); err != nil {
		f.t.Fatalf("creating deployment %s/%s: %v", f.ns, name, err)
	}
	return labels
}

// waitStartFails waits until a container of a pod with labels has failed to start or exited with an error.
func (f *F) waitStartFails(labels map[string]string) string {
	f.t.Helper()
	sel := metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: labels})
	why := ""
	err := within(podStartTimeout, func(ctx context.Context) (bool, error) {
		list, err := suite.cs.CoreV1().Pods(f.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return false, nil
		}
		for _, p := range list.Items {
			for _, c := range p.Status.ContainerStatuses {
				if t := c.LastTerminationState.Terminated; t != nil && t.ExitCode != 0 {
					why = fmt.Sprintf("%s exited %d (%s), restarted %d times", p.Name, t.ExitCode, t.Reason, c.RestartCount)
					return true, nil
				}
				if t := c.State.Terminated; t != nil && t.ExitCode != 0 {
					why = fmt.Sprintf("%s exited %d (%s)", p.Name, t.ExitCode, t.Reason)
					return true, nil
				}
				if w := c.State.Waiting; w != nil && w.Reason == "CreateContainerError" {
					why = fmt.Sprintf("%s: %s: %s", p.Name, w.Reason, w.Message)
					return true, nil
				}
			}
		}
		return false, nil
	}, "a container of %s to fail", sel)
	if err != nil {
		f.t.Fatal(err)
	}
	return why
}

// podLog is a container's log.
func (f *F) podLog(p *corev1.Pod, container string) string {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	b, err := suite.cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
	if err != nil {
		f.t.Fatalf("logs of %s/%s: %v", p.Namespace, p.Name, err)
	}
	return string(b)
}

// waitRounds waits until each pod's shell loop has logged n more rounds, and fails when a container restarts
// (a profile that stops it).
func (f *F) waitRounds(pods []*corev1.Pod, n int) {
	f.t.Helper()
	for _, p := range pods {
		start := strings.Count(f.podLog(p, "sh"), "round ")
		err := within(time.Duration(n)*5*time.Second+30*time.Second, func(ctx context.Context) (bool, error) {
			cur, err := suite.cs.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, s := range cur.Status.ContainerStatuses {
				if s.RestartCount > 0 {
					return false, fmt.Errorf("container %s restarted: %+v", s.Name, s.LastTerminationState.Terminated)
				}
			}
			return strings.Count(f.podLog(p, "sh"), "round ") >= start+n, nil
		}, "%d more rounds of %s", n, p.Name)
		if err != nil {
			f.t.Fatalf("%v\nlog:\n%s", err, f.podLog(p, "sh"))
		}
	}
}

// installProfile writes a Localhost profile into every node's kubelet seccomp directory and returns its name
// for localhostProfile; the files go when the test ends.
func (f *F) installProfile(name string, data []byte) string {
	f.t.Helper()
	state := os.Getenv("CLUSTER_STATE")
	if state == "" {
		f.t.Fatal(`CLUSTER_STATE is not set: run make e2e, or eval "$(make -s cluster-env)" first`)
	}
	rel := filepath.Join(profileDir, name)
	for _, n := range suite.nodes {
		path := filepath.Join(state, "nodes", n, "kubelet", "seccomp", rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			f.t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			f.t.Fatal(err)
		}
		f.t.Cleanup(func() {
			_ = os.Remove(path)
			_ = os.Remove(filepath.Dir(path)) // once the last test's profile is gone
		})
	}
	return rel
}

// advise runs advise seccomp to its end and returns what it printed.
func (f *F) advise(args ...string) result {
	f.t.Helper()
	r := f.run(seccompRun, append([]string{"advise", "seccomp", "-n", f.ns, "--duration", seccompLearn.String()}, args...)...)
	if r.code != 0 {
		f.t.Fatalf("advise seccomp %v: exit %d\nstderr:\n%s", args, r.code, r.stderr)
	}
	return r
}

// check runs check seccomp PROFILE to its end.
func (f *F) check(profile string, args ...string) result {
	f.t.Helper()
	r := f.run(seccompRun, append([]string{"check", "seccomp", profile, "-n", f.ns, "--duration", seccompCheck.String()}, args...)...)
	f.t.Logf("check seccomp %s %v: exit %d\n%s%s", profile, args, r.code, r.stdout, r.stderr)
	return r
}

// profiles decodes advise's JSON profiles (one object after the other).
func profiles(t *testing.T, out string) []*seccomp.Profile {
	t.Helper()
	var ps []*seccomp.Profile
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var p seccomp.Profile
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("advise's output is not JSON profiles: %v\n%s", err, out)
		}
		ps = append(ps, &p)
	}
	return ps
}

// checkNames checks a learned profile's names against both architectures' tables: each is a call of one,
// and every amd64 call arm64 lacks comes with its arm64 counterpart; it returns how many arm64 calls it allows.
func checkNames(t *testing.T, p *seccomp.Profile) int {
	t.Helper()
	amd, _ := syscalls.ForArch(syscalls.AMD64)
	arm, _ := syscalls.ForArch(syscalls.ARM64)
	names := p.Syscalls[0].Names
	onARM := 0
	for _, n := range names {
		_, a := amd.ByName(n)
		_, b := arm.ByName(n)
		if b {
			onARM++
		}
		if !a && !b {
			t.Errorf("%q is a call of neither table", n)
		}
		if a && !b {
			if r, ok := syscalls.Replacement(n); ok && !slices.Contains(names, r) {
				t.Errorf("amd64's %s is allowed without its arm64 counterpart %s", n, r)
			}
		}
	}
	return onARM
}

// TestSeccompAdviseEnforce: a shell script recorded by advise seccomp across two replicas runs under the
// profile it learned, and check finds nothing to deny; the same script with one more call (statfs) is
// predicted by check and gets EPERM for exactly that call once the profile is enforced.
func TestSeccompAdviseEnforce(t *testing.T) {
	t.Parallel()
	f := newF(t)
	pods := f.seccompDeployment("loop", 2, shellContainer("sh", shellLoop("")), "")
	f.waitRounds(pods, 2)

	r := f.advise("-l", "app=loop")
	ps := profiles(t, r.stdout)
	if len(ps) != 1 {
		t.Fatalf("%d profiles, want one for the Deployment's container (merged across its replicas):\n%s", len(ps), r.stdout)
	}
	p := ps[0]
	l := p.Learned
	if l.Workload != "Deployment/loop" || l.Container != "sh" || len(l.Pods) != 2 {
		t.Fatalf("learned from %s %s pods %v, want Deployment/loop, sh, both replicas", l.Workload, l.Container, l.Pods)
	}
	if p.DefaultAction != "SCMP_ACT_ERRNO" || len(p.Architectures) != 2 {
		t.Errorf("defaultAction %s, architectures %v", p.DefaultAction, p.Architectures)
	}
	names := p.Syscalls[0].Names
	for _, want := range []string{"execve", "wait4", "socket", "connect", "clone", "capset", "prctl"} {
		if !slices.Contains(names, want) {
			t.Errorf("the profile lacks %s", want)
		}
	}
	if slices.Contains(names, extraCall) {
		t.Fatalf("the loop is not supposed to call %s, yet the profile allows it", extraCall)
	}
	onARM := checkNames(t, p)
	t.Logf("shell loop: %d calls allowed (%d seen, %d for the runtime's start; %d valid on arm64): %s\nseen: %v",
		len(names), len(l.Calls), len(l.Runtime), onARM, p.Comment, l.Calls)

	// the runtime's default profile would let the loop run
	if c := f.check("runtime/default", "-l", "app=loop"); c.code != 0 || !strings.Contains(c.stdout, "no call") {
		t.Errorf("check seccomp runtime/default on the loop: exit %d\n%s%s", c.code, c.stdout, c.stderr)
	}

	// enforced: the same loop runs, and check finds nothing the profile would deny
	data, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	local := f.installProfile(f.ns+".json", data)
	profileFile := filepath.Join(t.TempDir(), "loop.json")
	if err := os.WriteFile(profileFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	enforced := f.seccompDeployment("enforced", 2, shellContainer("sh", shellLoop("")), local)
	f.waitRounds(enforced, 3)
	if c := f.check(profileFile, "-l", "app=enforced"); c.code != 0 {
		t.Errorf("check seccomp on the enforced loop: exit %d, want 0\n%s%s", c.code, c.stdout, c.stderr)
	}

	// one more call: check predicts it, and once enforced it is the one call that fails, with EPERM
	extra := shellLoop("stat -f / >/dev/null; ")
	free := f.seccompDeployment("extra", 1, shellContainer("sh", extra), "")
	f.waitRounds(free, 2)
	c := f.check(profileFile, "-l", "app=extra")
	if c.code == 0 || !strings.Contains(c.stdout, " "+extraCall+" would get EPERM") {
		t.Fatalf("check seccomp did not predict %s's EPERM: exit %d\n%s%s", extraCall, c.code, c.stdout, c.stderr)
	}
	var denied []string
	for _, line := range nonEmptyLines(c.stdout) {
		if strings.Contains(line, " would get ") {
			denied = append(denied, line)
		}
	}
	if len(denied) != 1 {
		t.Errorf("check reported %d calls, want only %s:\n%s", len(denied), extraCall, strings.Join(denied, "\n"))
	}
	confined := f.seccompDeployment("extra-enforced", 1, shellContainer("sh", extra), local)
	f.waitRounds(confined, 3)
	log := f.podLog(confined[0], "sh")
	var errs []string
	for _, line := range nonEmptyLines(log) {
		if !strings.HasPrefix(line, "round ") {
			errs = append(errs, line)
		}
	}
	if len(errs) == 0 || !strings.Contains(errs[0], "stat: can't read file system information for '/': Operation not permitted") {
		t.Fatalf("the enforced extra call did not fail with EPERM; log:\n%s", log)
	}
	for _, e := range errs {
		if !strings.Contains(e, "can't read file system information") {
			t.Errorf("another call failed under the profile: %q", e)
		}
	}
}

// TestSeccompAdviseWebserver: the e2e webserver, two replicas serving a client each, recorded with advise
// seccomp -o spo: the SeccompProfile resource validates against the Security Profiles Operator's CRD
// (server-side dry run), check seccomp finds nothing to deny in the same traffic, nor does runtime/default.
// The webserver runs under its profile once the trace sees a container's first calls (the Go runtime's start,
// the listener's set-up); until the agents do, it fails to start under it, and the test asserts that instead.
func TestSeccompAdviseWebserver(t *testing.T) {
	t.Parallel()
	f := newF(t)
	clients := map[string]*corev1.Pod{}
	for _, n := range suite.nodes[:2] {
		clients[n] = f.createPod(podSpec{name: "client-" + n, node: n, containers: []corev1.Container{shellContainer("sh", "sleep 3600")}})
	}
	serve := func(f *F, pods []*corev1.Pod) {
		for _, p := range pods {
			url := fmt.Sprintf("http://%s:%d/open?path=/srv/index.html", p.Status.PodIP, webPort)
			f.traffic(clients[p.Spec.NodeName], "sh", url).waitRequests()
		}
	}
	serve(f, f.seccompDeployment("web", 2, webContainer("web"), ""))
	r := f.advise("-l", "app=web", "-o", "spo")
	var sp seccomp.SeccompProfile
	if err := yaml.UnmarshalStrict([]byte(r.stdout), &sp); err != nil {
		t.Fatalf("advise -o spo: %v\n%s", err, r.stdout)
	}
	if sp.APIVersion != seccomp.SPOAPIVersion || sp.Kind != seccomp.SPOKind || len(sp.Spec.Syscalls) != 1 {
		t.Fatalf("not one SeccompProfile:\n%s", r.stdout)
	}
	names := sp.Spec.Syscalls[0].Names
	var calls map[string]uint64
	if err := json.Unmarshal([]byte(sp.Metadata.Annotations[seccomp.AnnotationCalls]), &calls); err != nil {
		t.Fatalf("annotation %s: %v", seccomp.AnnotationCalls, err)
	}
	if pods := strings.Split(sp.Metadata.Annotations[seccomp.AnnotationPods], ","); len(pods) != 2 {
		t.Errorf("learned from pods %v, want both replicas", pods)
	}
	for _, want := range []string{"accept4", "openat", "read", "write", "epoll_pwait"} {
		if calls[want] == 0 {
			t.Errorf("no %s counted for the webserver under traffic", want)
		}
	}
	t.Logf("webserver: %d calls allowed, %d seen: %s\nseen: %v", len(names), len(calls),
		sp.Metadata.Annotations[seccomp.AnnotationComment], calls)

	f.applySPOCRD()
	f.dryRunApply(r.stdout)

	if c := f.check("runtime/default", "-l", "app=web"); c.code != 0 || !strings.Contains(c.stdout, "no call") {
		t.Errorf("check seccomp runtime/default on the webserver: exit %d\n%s%s", c.code, c.stdout, c.stderr)
	}

	// the same traffic checked against the profile: nothing to deny
	p := seccomp.Profile{}
	p.DefaultAction, p.Architectures, p.Syscalls = sp.Spec.DefaultAction, sp.Spec.Architectures, sp.Spec.Syscalls
	data, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	profileFile := filepath.Join(t.TempDir(), "web.json")
	if err := os.WriteFile(profileFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if c := f.check(profileFile, "-l", "app=web"); c.code != 0 {
		t.Errorf("check seccomp of the learned profile on the webserver: exit %d\n%s%s", c.code, c.stdout, c.stderr)
	}

	// Enforced. The webserver listens once, as it starts: with its listen counted, the trace saw the container
	// from its first call (the Go runtime's start, the listener's set-up) and the webserver runs under the
	// profile. Without it (the agents do not trace a container from its first call yet), the profile lacks the
	// start, and the container fails under it: this branch shows it, and turns into the other one by itself.
	local := f.installProfile(f.ns+"-web.json", data)
	if calls["listen"] > 0 {
		serve(f, f.seccompDeployment("web-enforced", 2, webContainer("web"), local))
		if c := f.check(profileFile, "-l", "app=web-enforced"); c.code != 0 {
			t.Errorf("check seccomp on the enforced webserver: exit %d\n%s%s", c.code, c.stdout, c.stderr)
		}
		return
	}
	why := f.waitStartFails(f.createSeccompDeployment("web-enforced", 1, webContainer("web"), local))
	t.Logf("webserver under its profile without its start traced (first-call tracing needed): %s", why)
}

// applySPOCRD installs the Security Profiles Operator's SeccompProfile CRD (the version hack/seccomp/spo pins)
// and waits until it is served.
func (f *F) applySPOCRD() {
	f.t.Helper()
	crd := filepath.Join(suite.root, "test", "e2e", "testdata", "spo-seccompprofile-crd.yaml")
	if out, err := kubectl("apply", "--server-side", "--force-conflicts", "-f", crd).CombinedOutput(); err != nil {
		f.t.Fatalf("installing the SPO CRD: %v\n%s", err, out)
	}
	f.t.Cleanup(func() { _ = kubectl("delete", "--wait=false", "-f", crd).Run() })
	if out, err := kubectl("wait", "--for=condition=Established", "--timeout=60s",
		"crd/seccompprofiles.security-profiles-operator.x-k8s.io").CombinedOutput(); err != nil {
		f.t.Fatalf("the SPO CRD is not served: %v\n%s", err, out)
	}
}

// dryRunApply has the API server validate manifests against their CRD without storing them.
func (f *F) dryRunApply(manifests string) {
	f.t.Helper()
	cmd := kubectl("apply", "--dry-run=server", "-f", "-")
	cmd.Stdin = strings.NewReader(manifests)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		f.t.Fatalf("kubectl apply --dry-run=server of advise's SeccompProfile: %v\n%s\n%s", err, out.String(), manifests)
	}
	f.t.Logf("kubectl apply --dry-run=server: %s", strings.TrimSpace(out.String()))
}
