// Package agentpod builds the pod that runs swoll's node agent on one node for one session.
//
// Why the pod looks the way it does:
//   - nodeName is set directly: the agent must run on the node of its targets, and the scheduler would only add
//     latency (and could refuse a full node). Tolerating every taint lets it reach tainted nodes too.
//   - The agent loads eBPF programs and reads other processes' memory (strings, sockaddrs): it needs
//     CAP_BPF + CAP_PERFMON (load/attach tracing programs), CAP_SYS_ADMIN (older kernels, BTF and cgroup
//     lookups) and CAP_SYS_PTRACE (/proc/<pid> of other containers). privileged is the simplest setting that
//     grants all of these on every runtime and kernel, including ones without CAP_BPF.
//   - hostPID lets it map container ids to host pids and pid namespaces; host /proc is therefore not mounted.
//   - host /run (read-only) holds the CRI sockets; /sys/kernel/btf (read-only) feeds CO-RE relocation.
//   - The process is `swoll-agent hold`, which only waits for the plugin's exec of `swoll-agent session`; it
//     exits on its own when no session arrives, and activeDeadlineSeconds bounds the pod's life even if the
//     plugin is killed: nothing outlives a session for long.
package agentpod

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// LabelName and LabelManagedBy mark every agent pod of every session (what `kubectl swoll cleanup` finds).
	LabelName      = "app.kubernetes.io/name"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelSession names the session that owns the pod.
	LabelSession = "swoll.dev/session"

	NameValue      = "swoll-agent"
	ManagedByValue = "kubectl-swoll"

	// AnnotationNode keeps the full node name (label values are limited to 63 characters, node names are not).
	AnnotationNode = "swoll.dev/node"
	// AnnotationRequestedBy, AnnotationCreatedAt and AnnotationCommand say who started the session, when, and
	// with which command line, for whoever finds a pod left behind.
	AnnotationRequestedBy = "swoll.dev/requested-by"
	AnnotationCreatedAt   = "swoll.dev/created-at"
	AnnotationCommand     = "swoll.dev/command"

	// ContainerName is the agent's container in the pod.
	ContainerName = "agent"
	// AgentBinary is the agent's path in its image.
	AgentBinary = "/swoll-agent"

	// HostRunMount is where the host's /run (CRI sockets) appears in the agent.
	HostRunMount = "/host/run"
	btfPath      = "/sys/kernel/btf"

	maxCommandAnnotation = 1024
)

// AllAgentsSelector selects every agent pod of every session.
var AllAgentsSelector = LabelName + "=" + NameValue + "," + LabelManagedBy + "=" + ManagedByValue

// SessionSelector selects the agent pods of one session.
func SessionSelector(session string) string {
	return AllAgentsSelector + "," + LabelSession + "=" + session
}

// Params are the inputs of one agent pod.
type Params struct {
	Session    string
	Node       string
	Namespace  string
	Image      string
	PullPolicy corev1.PullPolicy
	// Deadline becomes activeDeadlineSeconds: the pod's hard upper bound on life.
	Deadline time.Duration
	// HoldWait is how long the agent's hold process waits for the plugin's exec before it exits.
	HoldWait    time.Duration
	RequestedBy string
	CreatedAt   time.Time
	Command     string
	// CRISocket is the node's CRI socket (host path) when the node says where it is; a socket outside /run
	// gets its directory mounted read-only under /host too.
	CRISocket string
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
// node is called.
func Name(session, node string) string {
	h := sha256.Sum256([]byte(node))
	return "swoll-" + session + "-" + hex.EncodeToString(h[:])[:6]
}

// Build returns the agent pod for p.
func Build(p Params) *corev1.Pod {
	deadline := int64(p.Deadline / time.Second)
	if deadline < 1 {
		deadline = 1
	}
	grace := int64(2)
	no := false
	yes := true
	cmd := p.Command
	if len(cmd) > maxCommandAnnotation {
		cmd = cmd[:maxCommandAnnotation-3] + "..."
	}
	mounts := []corev1.VolumeMount{
		{Name: "host-run", MountPath: HostRunMount, ReadOnly: true},
		{Name: "btf", MountPath: btfPath, ReadOnly: true},
	}
	volumes := []corev1.Volume{
		hostPathVolume("host-run", "/run", corev1.HostPathDirectory),
		// No type check: a node without BTF still gets its agent, which then says clearly what is missing.
		hostPathVolume("btf", btfPath, corev1.HostPathUnset),
	}
	if dir := extraSocketDir(p.CRISocket); dir != "" {
		mounts = append(mounts, corev1.VolumeMount{Name: "cri-socket", MountPath: "/host" + dir, ReadOnly: true})
		volumes = append(volumes, hostPathVolume("cri-socket", dir, corev1.HostPathDirectory))
	}
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      Name(p.Session, p.Node),
			Namespace: p.Namespace,
			Labels: map[string]string{
				LabelName:      NameValue,
				LabelManagedBy: ManagedByValue,
				LabelSession:   p.Session,
			},
			Annotations: map[string]string{
				AnnotationNode:        p.Node,
				AnnotationRequestedBy: p.RequestedBy,
				AnnotationCreatedAt:   p.CreatedAt.UTC().Format(time.RFC3339),
				AnnotationCommand:     cmd,
			},
		},
		Spec: corev1.PodSpec{
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
				SecurityContext: &corev1.SecurityContext{Privileged: &yes},
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
		},
	}
}

// extraSocketDir is the directory to mount for a CRI socket that /host/run does not already show ("" if none).
func extraSocketDir(socket string) string {
	socket = path.Clean(strings.TrimPrefix(socket, "unix://"))
	if socket == "." || !path.IsAbs(socket) || strings.HasPrefix(socket, "/run/") || strings.HasPrefix(socket, "/var/run/") {
		return ""
	}
	return path.Dir(socket)
}

func holdWait(d time.Duration) string {
	if d <= 0 {
		d = 60 * time.Second
	}
	return fmt.Sprintf("%ds", int64((d+time.Second-1)/time.Second))
}

func hostPathVolume(name, path string, t corev1.HostPathType) corev1.Volume {
	return corev1.Volume{
		Name:         name,
		VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path, Type: &t}},
	}
}
