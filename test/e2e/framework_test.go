//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	webImage     = "localhost/swoll-e2e/webserver:v1"
	busyboxImage = "localhost/swoll-e2e/busybox:v1"
	webPort      = 8080

	// agentLabel is on every pod the plugin creates.
	agentLabel    = "app.kubernetes.io/name=swoll-agent"
	sessionLabel  = "swoll.dev/session"
	hostnameLabel = "kubernetes.io/hostname"

	podStartTimeout = 90 * time.Second
	nsDeleteTimeout = 3 * time.Minute
)

// F is one test's view of the shared cluster: a namespace of its own for its pods and one for the agents of its
// sessions, deleted (and awaited) when the test ends, and everything the test started, saved to an artifacts
// folder when it fails.
type F struct {
	t  *testing.T
	ns string
	// agents is the agent namespace of the test's sessions (SWOLL_AGENT_NAMESPACE of its plugin runs): the
	// tracer user may write there and only there.
	agents string
	ctx    context.Context

	mu       sync.Mutex
	sessions []*session
}

// newF creates the test's namespace.
func newF(t *testing.T) *F {
	t.Helper()
	f := &F{t: t, ctx: context.Background()}
	f.ns = f.createNamespace(uniqueName("e2e-"+t.Name()), nil)
	f.agents = f.createAgentNamespace(f.ns + "-agents")
	t.Cleanup(func() {
		if t.Failed() {
			dir := saveArtifacts(f)
			t.Logf("FAILED: pod logs, plugin output and cluster logs saved in %s", dir)
		}
	})
	return f
}

// createNamespace makes a namespace that disappears with the test and waits for its default ServiceAccount
// (pods are refused until the controller-manager has made it).
func (f *F) createNamespace(name string, labels map[string]string) string {
	f.t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := suite.cs.CoreV1().Namespaces().Create(f.ctx, ns, metav1.CreateOptions{}); err != nil {
		f.t.Fatalf("creating namespace %s: %v", name, err)
	}
	f.t.Cleanup(func() { f.deleteNamespace(name) })
	err := within(time.Minute, func(ctx context.Context) (bool, error) {
		_, err := suite.cs.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}, "the default ServiceAccount of %s", name)
	if err != nil {
		f.t.Fatal(err)
	}
	return name
}

func (f *F) deleteNamespace(name string) {
	err := suite.cs.CoreV1().Namespaces().Delete(f.ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		f.t.Errorf("deleting namespace %s: %v", name, err)
		return
	}
	err = within(nsDeleteTimeout, func(ctx context.Context) (bool, error) {
		_, err := suite.cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}, "namespace %s to be deleted", name)
	if err != nil {
		f.t.Error(err)
	}
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// uniqueName turns s into a DNS label with a random suffix: tests run in parallel and reruns must not collide.
func uniqueName(s string) string {
	s = strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return s + "-" + hex.EncodeToString(b)
}

// podSpec describes a test pod; zero values mean "one webserver container named web, placed by the scheduler".
type podSpec struct {
	name       string
	labels     map[string]string
	node       string // spec.nodeName: bypasses the scheduler
	hostname   string // nodeSelector kubernetes.io/hostname: the scheduler places it on that node
	hostPID    bool
	containers []corev1.Container
}

// webContainer runs the webserver on webPort: every GET /open?path=P opens P.
func webContainer(name string) corev1.Container { return webContainerOn(name, webPort) }

// webContainerOn runs the webserver on port (containers of one pod share the network namespace).
func webContainerOn(name string, port int) corev1.Container {
	return corev1.Container{
		Name:            name,
		Image:           webImage,
		ImagePullPolicy: corev1.PullNever,
		Env:             []corev1.EnvVar{{Name: "WEBSERVER_PORT", Value: fmt.Sprint(port)}},
	}
}

// shellContainer runs script with the busybox image's sh.
func shellContainer(name, script string) corev1.Container {
	return corev1.Container{
		Name:            name,
		Image:           busyboxImage,
		ImagePullPolicy: corev1.PullNever,
		Command:         []string{"sh", "-c", script},
	}
}

func (p podSpec) pod(ns string) *corev1.Pod {
	grace := int64(1)
	containers := p.containers
	if len(containers) == 0 {
		containers = []corev1.Container{webContainer("web")}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: ns, Labels: p.labels},
		Spec: corev1.PodSpec{
			NodeName:                      p.node,
			HostPID:                       p.hostPID,
			TerminationGracePeriodSeconds: &grace,
			Containers:                    containers,
		},
	}
	if p.hostname != "" {
		pod.Spec.NodeSelector = map[string]string{hostnameLabel: p.hostname}
	}
	return pod
}

// createPods creates the pods in the test's namespace at once and waits until every container of each runs;
// it returns them as the API server sees them then (node, container ids).
func (f *F) createPods(specs ...podSpec) []*corev1.Pod {
	f.t.Helper()
	return f.createPodsIn(f.ns, specs...)
}

func (f *F) createPodsIn(ns string, specs ...podSpec) []*corev1.Pod {
	f.t.Helper()
	for _, p := range specs {
		if _, err := suite.cs.CoreV1().Pods(ns).Create(f.ctx, p.pod(ns), metav1.CreateOptions{}); err != nil {
			f.t.Fatalf("creating pod %s/%s: %v", ns, p.name, err)
		}
	}
	pods := make([]*corev1.Pod, len(specs))
	for i, p := range specs {
		pods[i] = f.waitPodRunning(ns, p.name)
	}
	return pods
}

func (f *F) createPod(p podSpec) *corev1.Pod {
	f.t.Helper()
	return f.createPods(p)[0]
}

// waitPodRunning waits until every container of the pod runs, and fails at once on a state that will not heal.
func (f *F) waitPodRunning(ns, name string) *corev1.Pod {
	f.t.Helper()
	var pod *corev1.Pod
	err := within(podStartTimeout, func(ctx context.Context) (bool, error) {
		p, err := suite.cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		pod = p
		if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			return false, fmt.Errorf("pod %s/%s ended: %s %s", ns, name, p.Status.Phase, p.Status.Message)
		}
		if len(p.Status.ContainerStatuses) != len(p.Spec.Containers) {
			return false, nil
		}
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil {
				switch w.Reason {
				case "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "CrashLoopBackOff",
					"CreateContainerError", "CreateContainerConfigError", "InvalidImageName":
					return false, fmt.Errorf("container %s of %s/%s: %s: %s", c.Name, ns, name, w.Reason, w.Message)
				}
			}
			if c.State.Running == nil || c.ContainerID == "" {
				return false, nil
			}
		}
		return true, nil
	}, "pod %s/%s to run", ns, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return pod
}

// webPods is a shorthand for n webserver pods named prefix-0.. with the given labels, pinned to nodes[i%len].
func webPods(prefix string, labels map[string]string, nodes ...string) []podSpec {
	specs := make([]podSpec, len(nodes))
	for i, node := range nodes {
		specs[i] = podSpec{name: fmt.Sprintf("%s-%d", prefix, i), labels: labels, node: node}
	}
	return specs
}

// containerID strips the runtime prefix ("containerd://") of a pod status's container id.
func containerID(pod *corev1.Pod, container string) string {
	for _, c := range pod.Status.ContainerStatuses {
		if c.Name == container {
			_, id, _ := strings.Cut(c.ContainerID, "://")
			return id
		}
	}
	return ""
}

func (f *F) track(s *session) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions = append(f.sessions, s)
}

// createDeployment creates a Deployment of webserver pods with labels, placed on node when it is not empty
// (nodeSelector: the scheduler still decides, as for a real replica), and waits for its replicas to run.
func (f *F) createDeployment(name string, labels map[string]string, replicas int32, node string) []*corev1.Pod {
	f.t.Helper()
	tmpl := podSpec{labels: labels, hostname: node}.pod(f.ns)
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
	return f.waitRunningPods(labels, int(replicas))
}

// scaleDeployment sets the replica count and waits until that many pods run.
func (f *F) scaleDeployment(name string, labels map[string]string, replicas int32) []*corev1.Pod {
	f.t.Helper()
	scale, err := suite.cs.AppsV1().Deployments(f.ns).GetScale(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("scaling %s: %v", name, err)
	}
	scale.Spec.Replicas = replicas
	if _, err := suite.cs.AppsV1().Deployments(f.ns).UpdateScale(f.ctx, name, scale, metav1.UpdateOptions{}); err != nil {
		f.t.Fatalf("scaling %s: %v", name, err)
	}
	return f.waitRunningPods(labels, int(replicas))
}

// waitRunningPods waits until exactly n pods with labels exist in the test's namespace and all of them run.
func (f *F) waitRunningPods(labels map[string]string, n int) []*corev1.Pod {
	f.t.Helper()
	sel := metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: labels})
	var names []string
	err := within(podStartTimeout, func(ctx context.Context) (bool, error) {
		list, err := suite.cs.CoreV1().Pods(f.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return false, nil
		}
		names = names[:0]
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil {
				names = append(names, p.Name)
			}
		}
		return len(names) == n, nil
	}, "%d pods %s in %s", n, sel, f.ns)
	if err != nil {
		f.t.Fatalf("%v (have %v)", err, names)
	}
	pods := make([]*corev1.Pod, len(names))
	for i, name := range names {
		pods[i] = f.waitPodRunning(f.ns, name)
	}
	return pods
}

// deletePod deletes a pod and waits until it is gone.
func (f *F) deletePod(p *corev1.Pod) {
	f.t.Helper()
	if err := suite.cs.CoreV1().Pods(p.Namespace).Delete(f.ctx, p.Name, metav1.DeleteOptions{}); err != nil {
		f.t.Fatalf("deleting pod %s/%s: %v", p.Namespace, p.Name, err)
	}
	err := within(time.Minute, func(ctx context.Context) (bool, error) {
		_, err := suite.cs.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}, "pod %s/%s to be deleted", p.Namespace, p.Name)
	if err != nil {
		f.t.Fatal(err)
	}
}
