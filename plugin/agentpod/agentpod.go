// Package agentpod builds the Job that runs swoll's node agent on one node for one session.
//
// Why it looks the way it does:
//   - A Job with ttlSecondsAfterFinished 0, because nothing must be left behind without anyone's help: when
//     the plugin dies (SIGKILL, a laptop that lost its network), the agent's session ends on its own (stdin
//     EOF or the heartbeat), its pod's main process (`swoll-agent hold`) exits, the Job finishes, and the
//     cluster's TTL controller deletes the Job and its pod. No `cleanup`, nothing needed from the plugin.
//     backoffLimit 0: a failed agent is reported (and replaced by the plugin), never silently retried.
//   - nodeName is set directly: the agent must run on the node of its targets, and the scheduler would only add
//     latency (and could refuse a full node). Tolerating every taint lets it reach tainted nodes too.
//   - Least privilege instead of privileged: every capability is dropped and only what the probe needs is
//     added: BPF and PERFMON (load and attach the tracing programs, read user memory from them) and
//     SYS_PTRACE (open other processes' /proc/<pid>/ns, to find a container's mount namespace); on kernels
//     before 5.11 also SYS_RESOURCE (BPF memory counts against RLIMIT_MEMLOCK there). The root file
//     system is read-only (the hold lock lives in a small in-memory /tmp). Privileged is a fallback the user
//     asks for (--privileged), for kernels without CAP_BPF (before 5.8) or runtimes that refuse the set.
//   - hostPID lets it map container ids to host pids and pid namespaces; host /proc is therefore not mounted.
//   - Two host paths are mounted, read-only. The node's CRI socket, and only a path on AllowedCRISockets (or
//     one the user allowed): a node annotation can pick among them but never name another host path. And the
//     node's cgroup hierarchies (/sys/fs/cgroup, at HostRoot/sys/fs/cgroup), where the agent finds a pod's
//     cgroup from its UID the moment the kubelet makes it (nodeagent/cgroups): the container's own
//     /sys/fs/cgroup shows only its own cgroup, and the host's through /proc/1/root is out of reach where
//     the agent may not ptrace the host's init (AppArmor's default container profile, some sandboxes). It is
//     read-only recursively where the runtime can (recursiveReadOnly IfPossible); where it cannot, the
//     hierarchies below the top mount stay writable for root, which CAP_SYS_PTRACE with hostPID outweighs
//     anyway. /sys/kernel/btf comes with the container's own sysfs.
//   - The process is `swoll-agent hold`, which only waits for the plugin's exec of `swoll-agent session`; it
//     exits on its own when no session arrives within HoldWait, and activeDeadlineSeconds bounds the life of
//     the Job and its pod even if every other mechanism failed.
package agentpod

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// LabelName and LabelManagedBy mark every agent Job and pod of every session (what `kubectl swoll
	// cleanup` finds).
	LabelName      = "app.kubernetes.io/name"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelSession names the session that owns the Job and its pod.
	LabelSession = "swoll.dev/session"

	NameValue      = "swoll-agent"
	ManagedByValue = "kubectl-swoll"

	// AnnotationNode keeps the full node name (label values are limited to 63 characters, node names are not).
	AnnotationNode = "swoll.dev/node"
	// AnnotationRequestedBy, AnnotationCreatedAt and AnnotationCommand say who started the session, when, and
	// with which command line (the trace's own flags only: never a connection flag such as --token), for
	// whoever finds an agent.
	AnnotationRequestedBy = "swoll.dev/requested-by"
	AnnotationCreatedAt   = "swoll.dev/created-at"
	AnnotationCommand     = "swoll.dev/command"
	// AnnotationExpires is when the agent's deadline passes (RFC 3339): `cleanup` removes anything past it.
	AnnotationExpires = "swoll.dev/expires"
	// AnnotationRequestedFrom, AnnotationSyscalls and AnnotationCaptureData complete the audit record the
	// traced pods' Events hold too (package audit): the host the session runs on, the system calls it traces
	// ("all" for every one) and how many bytes of data it copies from each read or write ("0": none).
	AnnotationRequestedFrom = "swoll.dev/requested-from"
	AnnotationSyscalls      = "swoll.dev/syscalls"
	AnnotationCaptureData   = "swoll.dev/capture-data"

	// ContainerName is the agent's container in the pod.
	ContainerName = "agent"
	// AgentBinary is the agent's path in its image.
	AgentBinary = "/swoll-agent"

	// HostRoot is where host paths (the CRI socket, the cgroup hierarchies) appear in the agent's container: a
	// host path P is mounted at HostRoot+P, which is where the agent looks for it first.
	HostRoot = "/host"
	// CgroupHostPath is where nodes mount their cgroup hierarchies; the agent sees them at HostRoot+CgroupHostPath.
	CgroupHostPath = "/sys/fs/cgroup"

	// DefaultHoldWait is how long the pod waits for the plugin's exec after its container started. It bounds
	// the life of a pod whose plugin died before it attached.
	DefaultHoldWait = 20 * time.Second

	maxCommandAnnotation = 1024
	// ttlAfterFinished: the Job and its pod go as soon as the agent exits.
	ttlAfterFinished = 0
)

// Capabilities are the capabilities the agent container gets (all others are dropped).
var Capabilities = []corev1.Capability{"BPF", "PERFMON", "SYS_PTRACE"}

// capabilitiesFor adds SYS_RESOURCE on kernels before 5.11, which charge BPF memory to RLIMIT_MEMLOCK (the
// agent raises it) rather than to the memory cgroup. kernel is the node's kernelVersion ("" when unknown: a
// current kernel is assumed, since a runtime without SYS_RESOURCE in its own bounding set refuses it).
func capabilitiesFor(kernel string) []corev1.Capability {
	var major, minor int
	if _, err := fmt.Sscanf(kernel, "%d.%d", &major, &minor); err == nil && (major < 5 || major == 5 && minor < 11) {
		return append(append([]corev1.Capability(nil), Capabilities...), "SYS_RESOURCE")
	}
	return Capabilities
}

// AllowedCRISockets are the host paths an agent may mount as its node's CRI socket: the sockets of the
// common runtimes and distributions (path.Match patterns; /var/run is /run). Users add others with
// --cri-socket.
var AllowedCRISockets = []string{
	"/run/containerd/containerd.sock",
	"/run/*/containerd.sock", // one directory of /run per runtime instance (docker's, test clusters')
	"/run/k3s/containerd/containerd.sock",
	"/run/docker/containerd/containerd.sock",
	"/var/snap/microk8s/common/run/containerd.sock",
	"/run/crio/crio.sock",
	"/run/cri-dockerd.sock",
}

// AllAgentsSelector selects every agent Job and pod of every session.
var AllAgentsSelector = LabelName + "=" + NameValue + "," + LabelManagedBy + "=" + ManagedByValue

// SessionSelector selects the agent Jobs and pods of one session.
func SessionSelector(session string) string {
	return AllAgentsSelector + "," + LabelSession + "=" + session
}

// Params are the inputs of one agent Job.
type Params struct {
	Session    string
	Node       string
	Namespace  string
	Image      string
	PullPolicy corev1.PullPolicy
	// Deadline becomes activeDeadlineSeconds of the Job and its pod: the hard upper bound on their life.
	Deadline time.Duration
	// HoldWait is how long the agent's hold process waits for the plugin's exec before it exits
	// (DefaultHoldWait when zero).
	HoldWait    time.Duration
	RequestedBy string
	// RequestedFrom is the host the session runs on; Syscalls what it traces as the user gave it (empty: all);
	// CaptureData the bytes of data it copies from each read or write (0: none).
	RequestedFrom string
	Syscalls      []string
	CaptureData   int
	CreatedAt     time.Time
	// Command is the trace's command line as the user typed it, without connection flags.
	Command string
	// CRISocket is the node's CRI socket, a host path already checked against the allow-list (see
	// ChooseCRISocket); "" mounts nothing and the agent finds containers through /proc.
	CRISocket string
	// Generation > 1 names a replacement of the session's agent on the same node.
	Generation int
	// Privileged runs the agent privileged instead of with Capabilities (the --privileged fallback).
	Privileged bool
	// KernelVersion is the node's kernel (status.nodeInfo.kernelVersion): older kernels need one more capability.
	KernelVersion string
}

// NewSessionID returns a short random id: lower-case letters and digits, valid in names and label values.
func NewSessionID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on supported platforms; a time-based id still works.
		return fmt.Sprintf("%x", time.Now().UnixNano())[:6]
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Name is swoll-<session>-<short hash of the node>: stable per session and node, short, valid whatever the
// node is called. A replacement's Job adds -<generation>; the Job's pod is named by the Job controller after
// its Job (<job>-<5 characters>).
func Name(session, node string) string {
	h := sha256.Sum256([]byte(node))
	return "swoll-" + session + "-" + hex.EncodeToString(h[:])[:6]
}

// JobName is the name of the agent Job for p.
func JobName(p Params) string {
	n := Name(p.Session, p.Node)
	if p.Generation > 1 {
		n += fmt.Sprintf("-%d", p.Generation)
	}
	return n
}

// Build returns the agent Job for p.
func Build(p Params) *batchv1.Job {
	deadline := int64(p.Deadline / time.Second)
	if deadline < 1 {
		deadline = 1
	}
	backoff := int32(0)
	ttl := int32(ttlAfterFinished)
	cmd := p.Command
	if len(cmd) > maxCommandAnnotation {
		cmd = cmd[:maxCommandAnnotation-3] + "..."
	}
	labels := map[string]string{
		LabelName:      NameValue,
		LabelManagedBy: ManagedByValue,
		LabelSession:   p.Session,
	}
	annotations := map[string]string{
		AnnotationNode:        p.Node,
		AnnotationRequestedBy: p.RequestedBy,
		AnnotationCreatedAt:   p.CreatedAt.UTC().Format(time.RFC3339),
		AnnotationExpires:     p.CreatedAt.Add(time.Duration(deadline) * time.Second).UTC().Format(time.RFC3339),
		AnnotationCommand:     cmd,
		AnnotationSyscalls:    SyscallsAnnotation(p.Syscalls),
		AnnotationCaptureData: fmt.Sprint(p.CaptureData),
	}
	if p.RequestedFrom != "" {
		annotations[AnnotationRequestedFrom] = p.RequestedFrom
	}
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        JobName(p),
			Namespace:   p.Namespace,
			Labels:      labels,
			Annotations: annotations,
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:            &backoff,
			ActiveDeadlineSeconds:   &deadline,
			TTLSecondsAfterFinished: &ttl,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
				Spec:       podSpec(p, deadline),
			},
		},
	}
}

// SyscallsAnnotation is the system calls as the annotation (and the audit Events) show them: as given,
// comma-separated, "all" when none was named, cut to a readable length.
func SyscallsAnnotation(syscalls []string) string {
	if len(syscalls) == 0 {
		return "all"
	}
	s := strings.Join(syscalls, ",")
	if len(s) > maxCommandAnnotation {
		s = s[:maxCommandAnnotation-3] + "..."
	}
	return s
}

// Pod is the pod the Job's controller creates (its template as a pod), for admission dry runs.
func Pod(job *batchv1.Job) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        job.Name,
			Namespace:   job.Namespace,
			Labels:      job.Spec.Template.Labels,
			Annotations: job.Spec.Template.Annotations,
		},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
}

func podSpec(p Params, deadline int64) corev1.PodSpec {
	grace := int64(2)
	no := false
	yes := true
	root := int64(0)
	mounts := []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}}
	volumes := []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
		Medium: corev1.StorageMediumMemory, SizeLimit: resource.NewQuantity(1<<20, resource.BinarySI),
	}}}}
	if sock := cleanSocket(p.CRISocket); sock != "" {
		mounts = append(mounts, corev1.VolumeMount{Name: "cri-socket", MountPath: HostRoot + sock, ReadOnly: true})
		t := corev1.HostPathSocket
		volumes = append(volumes, corev1.Volume{Name: "cri-socket",
			VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: sock, Type: &t}}})
	}
	dir := corev1.HostPathDirectory
	rro := corev1.RecursiveReadOnlyIfPossible
	mounts = append(mounts, corev1.VolumeMount{Name: "cgroup", MountPath: HostRoot + CgroupHostPath, ReadOnly: true,
		RecursiveReadOnly: &rro})
	volumes = append(volumes, corev1.Volume{Name: "cgroup",
		VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: CgroupHostPath, Type: &dir}}})
	sc := &corev1.SecurityContext{
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: capabilitiesFor(p.KernelVersion)},
		ReadOnlyRootFilesystem:   &yes,
		AllowPrivilegeEscalation: &no,
		RunAsUser:                &root,
		RunAsNonRoot:             &no,
		// The runtime's default profile may refuse bpf(2) and perf_event_open(2), which the probe needs.
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined},
	}
	if p.Privileged {
		sc = &corev1.SecurityContext{Privileged: &yes, ReadOnlyRootFilesystem: &yes, RunAsUser: &root}
	}
	return corev1.PodSpec{
		NodeName: p.Node,
		HostPID:  true,
		// the agent resolves no names; Default also avoids the kubelet's "missing cluster DNS" warnings
		DNSPolicy:                     corev1.DNSDefault,
		RestartPolicy:                 corev1.RestartPolicyNever,
		ActiveDeadlineSeconds:         &deadline,
		TerminationGracePeriodSeconds: &grace,
		AutomountServiceAccountToken:  &no,
		EnableServiceLinks:            &no,
		Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		Containers: []corev1.Container{{
			Name:            ContainerName,
			Image:           p.Image,
			ImagePullPolicy: p.PullPolicy,
			Command:         []string{AgentBinary, "hold", "--wait", holdWait(p.HoldWait)},
			Env: []corev1.EnvVar{{
				Name:      "NODE_NAME",
				ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}},
			}},
			SecurityContext: sc,
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("50m"),
					corev1.ResourceMemory: resource.MustParse("64Mi"),
				},
				Limits: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("1"),
					corev1.ResourceMemory: resource.MustParse("256Mi"),
				},
			},
			VolumeMounts:             mounts,
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		}},
		Volumes: volumes,
	}
}

// cleanSocket is a socket path in canonical form: no unix:// scheme, /var/run as /run ("" when not absolute).
func cleanSocket(socket string) string {
	socket = strings.TrimSpace(strings.TrimPrefix(socket, "unix://"))
	if socket == "" || !path.IsAbs(socket) {
		return ""
	}
	socket = path.Clean(socket)
	if rest, ok := strings.CutPrefix(socket, "/var/run/"); ok {
		socket = "/run/" + rest
	}
	return socket
}

// SocketAllowed reports whether socket (a host path) is on AllowedCRISockets or in extra (the user's own).
func SocketAllowed(socket string, extra []string) bool {
	socket = cleanSocket(socket)
	if socket == "" {
		return false
	}
	for _, pattern := range AllowedCRISockets {
		if ok, _ := path.Match(pattern, socket); ok {
			return true
		}
	}
	for _, e := range extra {
		if cleanSocket(e) == socket {
			return true
		}
	}
	return false
}

// ChooseCRISocket picks the host path to mount as a node's CRI socket: the user's --cri-socket when given
// (user, not cluster, input), else the node's annotation when it names an allowed socket, else the default of
// the node's runtime (containerRuntimeVersion, "containerd://1.7.2"). warning says why an annotation was
// not followed.
func ChooseCRISocket(user, annotation, runtimeVersion string) (socket, warning string) {
	if s := cleanSocket(user); s != "" {
		return s, ""
	}
	if annotation != "" {
		if SocketAllowed(annotation, nil) {
			return cleanSocket(annotation), ""
		}
		warning = fmt.Sprintf("its annotation names CRI socket %q, which is not on swoll's allow-list; pass --cri-socket to use it", annotation)
	}
	scheme, _, _ := strings.Cut(runtimeVersion, "://")
	switch scheme {
	case "cri-o":
		return "/run/crio/crio.sock", warning
	case "docker":
		return "/run/cri-dockerd.sock", warning
	default:
		return "/run/containerd/containerd.sock", warning
	}
}

func holdWait(d time.Duration) string {
	if d <= 0 {
		d = DefaultHoldWait
	}
	return fmt.Sprintf("%ds", int64((d+time.Second-1)/time.Second))
}
