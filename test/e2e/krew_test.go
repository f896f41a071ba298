//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/swoll-dev/swoll/syscalls"
)

// krewTimeout bounds one krew or kubectl command of the install test (no network: the archive is local).
const krewTimeout = 2 * time.Minute

// krewUser is a user's shell after `kubectl krew install swoll`: a scratch KREW_ROOT whose bin/ comes first on
// PATH, then krew itself (as kubectl-krew, the way krew installs itself) and kubectl. The repository's bin/ is not
// on it: kubectl can only find the plugin krew installed.
type krewUser struct {
	root    string // KREW_ROOT
	kubectl string
	env     []string
}

func newKrewUser(t *testing.T) *krewUser {
	t.Helper()
	krew := os.Getenv("SWOLL_KREW")
	if krew == "" {
		t.Fatal("SWOLL_KREW is not set: run make e2e (it builds krew from the Go module proxy)")
	}
	tools := t.TempDir()
	if err := os.Symlink(krew, filepath.Join(tools, "kubectl-krew")); err != nil {
		t.Fatal(err)
	}
	u := &krewUser{root: t.TempDir(), kubectl: filepath.Join(suite.clusterBin, "kubectl")}
	path := strings.Join([]string{filepath.Join(u.root, "bin"), tools, suite.clusterBin,
		"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, string(os.PathListSeparator))
	u.env = []string{"PATH=" + path, "HOME=" + t.TempDir(), "KUBECONFIG=" + suite.kubeconfig,
		"KREW_ROOT=" + u.root, "KREW_NO_UPGRADE_CHECK=1"}
	return u
}

// command is `kubectl ARGS` in the user's environment.
func (u *krewUser) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, u.kubectl, args...)
	cmd.Env = u.env
	return cmd
}

// swoll is `kubectl swoll ARGS`: kubectl's plugin discovery finds kubectl-swoll on PATH and execs it.
func (u *krewUser) swoll(ctx context.Context, args ...string) *exec.Cmd {
	return u.command(ctx, append([]string{"swoll"}, args...)...)
}

// run runs `kubectl ARGS` to completion, failing the test on a non-zero exit; it returns stdout.
func (u *krewUser) run(t *testing.T, args ...string) string {
	t.Helper()
	out, _ := u.runErr(t, args...)
	return out
}

// runErr is run returning stderr too (krew reports there).
func (u *krewUser) runErr(t *testing.T, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), krewTimeout)
	defer cancel()
	cmd := u.command(ctx, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out), stderr.String()
}

// TestKrewInstall installs the plugin the way a user does and traces through it: krew installs this platform's
// archive from make dist with the plugins.yaml rendered for it, kubectl finds the plugin, `kubectl swoll version`
// names the agent image by digest, and a real session runs with that image pulled from the cluster's registry.
//
// Not parallel: it removes the agent image from the nodes so that the session has to pull it, and the parallel
// tests (which would pull it again in the meantime) wait until it is done.
func TestKrewInstall(t *testing.T) {
	f := newF(t)
	dist, image := distImage(t)
	repo, digest, _ := strings.Cut(image, "@")
	archives, _ := filepath.Glob(filepath.Join(dist, fmt.Sprintf("kubectl-swoll_*_%s_%s.tar.gz", runtime.GOOS, runtime.GOARCH)))
	if len(archives) != 1 {
		t.Fatalf("want one %s/%s archive in %s, found %v", runtime.GOOS, runtime.GOARCH, dist, archives)
	}
	archive := archives[0]
	version := strings.TrimPrefix(filepath.Base(archive), "kubectl-swoll_")
	version = version[:strings.Index(version, "_")]

	u := newKrewUser(t)
	start := time.Now()
	out, msgs := u.runErr(t, "krew", "install", "--manifest="+filepath.Join(dist, "plugins.yaml"), "--archive="+archive)
	t.Logf("krew install: %s", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(out+msgs, "Installed plugin: swoll") || !strings.Contains(out+msgs, "kubectl_complete-swoll") {
		t.Errorf("krew install printed no success and no caveats:\n%s%s", out, msgs)
	}
	if list := u.run(t, "plugin", "list"); !strings.Contains(list, filepath.Join(u.root, "bin", "kubectl-swoll")) {
		t.Errorf("kubectl plugin list does not show the krew-installed plugin:\n%s", list)
	}
	ver := u.run(t, "swoll", "version")
	if !strings.Contains(ver, "kubectl-swoll "+version+"\n") || !strings.Contains(ver, "agent image: "+image+"\n") {
		t.Errorf("kubectl swoll version:\n%s\nwant version %s and agent image %s", ver, version, image)
	}
	if got := u.run(t, "swoll", "image"); got != image+"\n" {
		t.Errorf("kubectl swoll image = %q, want %q", got, image)
	}

	// completion goes through the shim once it is on PATH, as the caveats say
	u.linkCompletionShim(t, version)
	if got := u.run(t, "__complete", "swoll", "tr"); !strings.HasPrefix(got, "trace\t") {
		t.Errorf("kubectl __complete swoll tr (through kubectl_complete-swoll) = %q, want trace", got)
	}

	removeAgentImage(t, repo, digest)
	logStart := registryLogSize(t)
	pod := f.createPod(podSpec{name: "web", node: suite.nodes[0], labels: labels("app", "krew", "tier", "front")})
	checkCompletion(t, u, f.ns, pod.Name)
	f.traffic(pod, "web", openURL(webPort, page))
	start = time.Now()
	s := f.traceWith(u.swoll, "-n", f.ns, pod.Name, "-s", "openat", "--agent-namespace", f.ns)
	s.waitEvents(3, firstEventTimeout, "through kubectl swoll", both(fromPod(pod), opened(page)))
	t.Logf("kubectl swoll trace: first events %s after the start (agent image pulled first)", time.Since(start).Round(time.Millisecond))
	s.stop(syscall.SIGINT)
	checkTagged(t, s.Events(), []*corev1.Pod{pod}, "openat")

	// The node pulled the image by digest from the registry: the registry served that manifest and blobs, and the
	// kubelet reported pulling exactly the pinned reference.
	served := registryLogSince(t, logStart)
	path := repo[strings.Index(repo, "/")+1:]
	for _, want := range []string{"GET /v2/" + path + "/manifests/" + digest, "GET /v2/" + path + "/blobs/sha256:"} {
		if !strings.Contains(served, want) {
			t.Errorf("the registry log has no %q during the session:\n%s", want, served)
		}
	}
	evs, err := suite.cs.CoreV1().Events(f.ns).List(f.ctx, metav1.ListOptions{FieldSelector: "reason=Pulled"})
	if err != nil {
		t.Fatal(err)
	}
	var pulled, present []string
	for _, e := range evs.Items {
		switch {
		case strings.Contains(e.Message, "Successfully pulled image \""+image+"\""):
			pulled = append(pulled, e.InvolvedObject.Name+": "+e.Message)
		case strings.Contains(e.Message, "\""+image+"\" already present on machine"):
			present = append(present, e.InvolvedObject.Name+": "+e.Message)
		}
	}
	if len(pulled) == 0 {
		t.Errorf("no agent pod event says it pulled %s", image)
	}
	if len(present) > 0 {
		t.Errorf("the kubelet found the agent image already on the node, although the test removed it: %v", present)
	}
	t.Logf("pulled: %v", pulled)
}

// linkCompletionShim does what the caveats tell a krew user: link the shim krew unpacked next to the plugin into
// krew's bin directory (krew links only the plugin itself).
func (u *krewUser) linkCompletionShim(t *testing.T, version string) {
	t.Helper()
	shim := filepath.Join(u.root, "store", "swoll", version, "kubectl_complete-swoll")
	if err := os.Symlink(shim, filepath.Join(u.root, "bin", "kubectl_complete-swoll")); err != nil {
		t.Fatal(err)
	}
}

// distImage returns the directory of make dist's output (SWOLL_DIST) and the agent image its plugins schedule.
func distImage(t *testing.T) (dir, image string) {
	t.Helper()
	dir = os.Getenv("SWOLL_DIST")
	if dir == "" {
		t.Fatal("SWOLL_DIST is not set: run make e2e (it runs make dist)")
	}
	text, err := os.ReadFile(filepath.Join(dir, "agent-image"))
	if err != nil {
		t.Fatal(err)
	}
	image = strings.TrimSpace(string(text))
	if _, digest, ok := strings.Cut(image, "@"); !ok || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("make dist pinned the agent image as %q, want REPO@sha256:…", image)
	}
	return dir, image
}

// removeAgentImage removes the agent image from every node, so that the next agent pulls its manifest and blobs
// from the registry: every image record of the agent repository, and every other record with the same target (the
// CRI names each image it pulled by its ID too, "sha256:<config>", and that record alone keeps the content: the
// next pull then only asks the registry whether the manifest exists). ctr removes by record (crictl rmi would be
// the CRI's way, but the nodes have no crictl); --sync waits for containerd's garbage collection. It then checks
// that no node still holds the manifest digest, and fails the test when one does: a session would not pull it.
func removeAgentImage(t *testing.T, repo, digest string) {
	t.Helper()
	socks := strings.Fields(os.Getenv("CONTAINERD_SOCKS"))
	if len(socks) == 0 {
		t.Fatal("CONTAINERD_SOCKS is not set: run make e2e (it exports the nodes' containerd sockets)")
	}
	for _, sock := range socks {
		refs := agentImageRefs(t, sock, repo, digest)
		if len(refs) > 0 {
			args := append([]string{"-a", sock, "-n", "k8s.io", "images", "rm", "--sync"}, refs...)
			if out, err := exec.Command("ctr", args...).CombinedOutput(); err != nil {
				t.Fatalf("removing the agent image (%v) from %s: %v: %s", refs, sock, err, out)
			}
			t.Logf("%s: removed %v", sock, refs)
		}
		if left := agentImageRefs(t, sock, repo, digest); len(left) > 0 {
			t.Fatalf("%s still names the agent image after removing it: %v", sock, left)
		}
		content, err := exec.Command("ctr", "-a", sock, "-n", "k8s.io", "content", "ls", "-q").Output()
		if err != nil {
			t.Fatalf("listing the content of %s: %v", sock, err)
		}
		if slices.Contains(strings.Fields(string(content)), digest) {
			t.Fatalf("%s still holds the agent image's manifest %s after its image records were removed (a lease or "+
				"another record keeps it): its next agent would not pull from the registry, which this test checks", sock, digest)
		}
	}
}

// agentImageRefs lists the image records of a node's containerd (the CRI's namespace) that are the agent image:
// named after its repository, or pointing at the same target as one of those or as the pinned digest.
func agentImageRefs(t *testing.T, sock, repo, digest string) []string {
	t.Helper()
	ls, err := exec.Command("ctr", "-a", sock, "-n", "k8s.io", "images", "ls").Output()
	if err != nil {
		t.Fatalf("listing the images of %s: %v", sock, err)
	}
	type record struct{ ref, target string }
	var records []record
	targets := map[string]bool{digest: true}
	for i, line := range strings.Split(strings.TrimSpace(string(ls)), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 3 { // the header: REF TYPE DIGEST SIZE PLATFORMS LABELS
			continue
		}
		r := record{ref: f[0], target: f[2]}
		records = append(records, r)
		if strings.HasPrefix(r.ref, repo+"@") || strings.HasPrefix(r.ref, repo+":") {
			targets[r.target] = true
		}
	}
	var refs []string
	for _, r := range records {
		if targets[r.target] || strings.HasPrefix(r.ref, repo+"@") || strings.HasPrefix(r.ref, repo+":") {
			refs = append(refs, r.ref)
		}
	}
	return refs
}

func registryLogFile(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SWOLL_REGISTRY_LOG")
	if p == "" {
		t.Fatal("SWOLL_REGISTRY_LOG is not set: run make e2e")
	}
	return p
}

func registryLogSize(t *testing.T) int64 {
	t.Helper()
	st, err := os.Stat(registryLogFile(t))
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func registryLogSince(t *testing.T, offset int64) string {
	t.Helper()
	data, err := os.ReadFile(registryLogFile(t))
	if err != nil {
		t.Fatal(err)
	}
	return string(data[offset:])
}

// completions runs `kubectl __complete swoll ARGS` (kubectl hands it to the kubectl_complete-swoll shim) and
// returns the candidates without their descriptions.
func (u *krewUser) completions(t *testing.T, args ...string) []string {
	t.Helper()
	out := u.run(t, append([]string{"__complete", "swoll"}, args...)...)
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, ":") { // the directive
			break
		}
		name, _, _ := strings.Cut(l, "\t")
		names = append(names, name)
	}
	return names
}

// checkCompletion completes through the shim what the cluster and the syscall tables hold.
func checkCompletion(t *testing.T, u *krewUser, ns, pod string) {
	t.Helper()
	var ops []string
	seen := map[string]bool{}
	for _, a := range syscalls.Arches {
		table, err := syscalls.ForArch(a)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range table.All() {
			if strings.HasPrefix(s.Name, "op") && !seen[s.Name] {
				seen[s.Name] = true
				ops = append(ops, s.Name)
			}
		}
	}
	slices.Sort(ops)
	for _, tt := range []struct {
		args []string
		want []string
		all  bool // want exactly these, in this order
	}{
		{args: []string{"trace", "-n", ""}, want: []string{ns, "default", "kube-system"}},
		{args: []string{"trace", "-n", ns, ""}, want: []string{pod}, all: true},
		{args: []string{"trace", "-n", ns, "-l", ""}, want: []string{"app=", "tier="}, all: true},
		{args: []string{"trace", "-n", ns, "-l", "app="}, want: []string{"app=krew"}, all: true},
		{args: []string{"trace", "--node", ""}, want: suite.nodes},
		{args: []string{"trace", "-n", ns, pod, "-c", ""}, want: []string{"web"}, all: true},
		{args: []string{"trace", "-s", "op"}, want: ops, all: true},
		{args: []string{"trace", "-s", "class:"}, want: prefixed("class:", syscalls.Classes()), all: true},
		{args: []string{"trace", "-s", "openat,group:"}, want: prefixed("openat,group:", syscalls.Groups()), all: true},
	} {
		got := u.completions(t, tt.args...)
		ok := !tt.all || slices.Equal(got, tt.want)
		for _, w := range tt.want {
			ok = ok && slices.Contains(got, w)
		}
		if !ok {
			t.Errorf("kubectl swoll %s<TAB> completes to %q, want %q", strings.Join(tt.args, " "), got, tt.want)
		}
	}
}

func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}
