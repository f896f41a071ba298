//go:build linux

package cri

import (
	"fmt"
	"strings"
)

// schemes are the prefixes Kubernetes puts in front of container ids in a pod's status.
var schemes = []string{"containerd://", "cri-o://", "docker://"}

// NormalizeID strips the runtime scheme from a container id ("containerd://abc" -> "abc") and lowercases it.
func NormalizeID(id string) string {
	id = strings.TrimSpace(id)
	for _, s := range schemes {
		if strings.HasPrefix(id, s) {
			id = id[len(s):]
			break
		}
	}
	return strings.ToLower(id)
}

// validID rejects ids that could not name a container, so that a typo does not match every cgroup path.
func validID(id string) error {
	if id == "" {
		return fmt.Errorf("empty container id")
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("container id %q is not hexadecimal", id)
		}
	}
	return nil
}

// NotFoundError says that neither the runtime nor /proc know a container.
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("container %q not found", e.ID) }
