// Package nodes reads what a session needs to know about the nodes that run its targets: the architecture
// (system call names and numbers differ between amd64 and arm64), the CRI socket a node announces, and whether
// the node is Ready (an agent bound to a node that is down would only wait for its start timeout).
//
// Reading nodes is optional: without permission, Info is empty, system calls are checked against amd64 and the
// agent finds the socket itself. A Cache is safe for concurrent use.
package nodes

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// CRISocketAnnotation on a node names its CRI socket (a host path) when it is not a well-known one.
const CRISocketAnnotation = "swoll.dev/cri-socket"

// Info is what a session knows about one node.
type Info struct {
	// Arch is GOARCH-style ("amd64", "arm64"); empty when unknown.
	Arch string
	// CRISocket is the node's annotation, as written: a hint, checked against agentpod's allow-list.
	CRISocket string
	// Runtime is containerRuntimeVersion ("containerd://1.7.2"); Kernel is kernelVersion.
	Runtime, Kernel string
	// NotReady, when set, says why the node cannot run an agent now (its Ready condition is not True).
	NotReady string
}

// Cache reads each node once per session.
type Cache struct {
	client kubernetes.Interface
	mu     sync.Mutex
	nodes  map[string]Info
}

// NewCache reads nodes through client.
func NewCache(client kubernetes.Interface) *Cache {
	return &Cache{client: client, nodes: map[string]Info{}}
}

// Lookup reads the nodes not read yet, in parallel, and returns when all are known.
func (c *Cache) Lookup(ctx context.Context, names ...string) {
	var wg sync.WaitGroup
	for _, n := range names {
		c.mu.Lock()
		_, known := c.nodes[n]
		c.mu.Unlock()
		if known {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			info := c.read(ctx, n)
			c.mu.Lock()
			c.nodes[n] = info
			c.mu.Unlock()
		}()
	}
	wg.Wait()
}

// Get returns what Lookup read about a node (empty when it was not looked up or could not be read).
func (c *Cache) Get(name string) Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[name]
}

func (c *Cache) read(ctx context.Context, name string) Info {
	node, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return Info{}
	}
	info := Info{
		Arch:      node.Status.NodeInfo.Architecture,
		CRISocket: node.Annotations[CRISocketAnnotation],
		Runtime:   node.Status.NodeInfo.ContainerRuntimeVersion,
		Kernel:    node.Status.NodeInfo.KernelVersion,
		NotReady:  NotReady(node),
	}
	if info.Arch == "" {
		info.Arch = node.Labels[corev1.LabelArchStable]
	}
	return info
}

// NotReady explains why a node is not Ready ("" when it is, or when it does not say).
func NotReady(node *corev1.Node) string {
	for _, c := range node.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			return ""
		}
		msg := "node is not Ready"
		if c.Reason != "" {
			msg += " (" + c.Reason + ")"
		}
		if c.Message != "" {
			msg += ": " + c.Message
		}
		return msg
	}
	return ""
}
