// Package workload names the workload that owns a pod, so that what its replicas did can be merged: a
// Deployment (through the ReplicaSet it owns the pod by), a StatefulSet, a DaemonSet, a Job (each run of a
// CronJob is a Job of its own), else the pod itself. It reads the pod (its controller reference and its pod-template-hash label: no ReplicaSet read is
// needed); a pod already gone is named from its name. A Resolver is safe for concurrent use.
package workload

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Workload is a pod's owner, "Deployment/web", or "Pod/web-0" for a pod without one.
type Workload struct {
	Kind, Name string
	// Guessed: the pod was gone, the owner is read from its name.
	Guessed bool
}

func (w Workload) String() string { return w.Kind + "/" + w.Name }

// Of names the workload of a pod from its controller reference.
func Of(pod *corev1.Pod) Workload {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return Workload{Kind: "Pod", Name: pod.Name}
	}
	switch ref.Kind {
	case "ReplicaSet":
		// a Deployment's ReplicaSet is named <deployment>-<pod-template-hash>, and so are its pods labelled
		if h := pod.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(ref.Name, "-"+h) {
			return Workload{Kind: "Deployment", Name: strings.TrimSuffix(ref.Name, "-"+h)}
		}
	}
	return Workload{Kind: ref.Kind, Name: ref.Name}
}

// Guess names a workload from a pod name alone ("web-7d9f8c6b5-abcde" -> Deployment-like "web"): for a pod
// that is gone.
func Guess(pod string) Workload {
	if m := deploymentPod.FindStringSubmatch(pod); m != nil {
		return Workload{Kind: "Deployment", Name: m[1], Guessed: true}
	}
	if m := ordinalPod.FindStringSubmatch(pod); m != nil {
		return Workload{Kind: "StatefulSet", Name: m[1], Guessed: true}
	}
	return Workload{Kind: "Pod", Name: pod, Guessed: true}
}

var (
	deploymentPod = regexp.MustCompile(`^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$`)
	ordinalPod    = regexp.MustCompile(`^(.+)-[0-9]+$`)
)

// getTimeout bounds one pod read.
const getTimeout = 10 * time.Second

// Resolver reads pods once each.
type Resolver struct {
	client kubernetes.Interface
	mu     sync.Mutex
	pods   map[string]*corev1.Pod // nil: gone or not readable
}

// NewResolver reads pods through client.
func NewResolver(client kubernetes.Interface) *Resolver {
	return &Resolver{client: client, pods: map[string]*corev1.Pod{}}
}

// Pod returns the pod (nil when it cannot be read: gone, or no permission).
func (r *Resolver) Pod(ctx context.Context, namespace, name string) *corev1.Pod {
	key := namespace + "/" + name
	r.mu.Lock()
	p, ok := r.pods[key]
	r.mu.Unlock()
	if ok {
		return p
	}
	ctx, cancel := context.WithTimeout(ctx, getTimeout)
	defer cancel()
	p, err := r.client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if ctx.Err() != nil {
			return nil // timed out or interrupted: asked again next time
		}
		p = nil // gone or forbidden: the answer will not change
	}
	r.mu.Lock()
	r.pods[key] = p
	r.mu.Unlock()
	return p
}

// Workload returns a pod's workload: read from the pod, or guessed from its name when it cannot be read.
func (r *Resolver) Workload(ctx context.Context, namespace, pod string) Workload {
	if p := r.Pod(ctx, namespace, pod); p != nil {
		return Of(p)
	}
	return Guess(pod)
}
