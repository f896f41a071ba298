package seccomp

import (
	"encoding/json"
	"regexp"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"k8s.io/apimachinery/pkg/util/validation"
)

// SPO API of the Security Profiles Operator version swoll's e2e tests validate against (hack/seccomp/spo):
// since 1.0 its SeccompProfile is security-profiles-operator.x-k8s.io/v1 and cluster-scoped.
const (
	SPOAPIVersion = "security-profiles-operator.x-k8s.io/v1"
	SPOKind       = "SeccompProfile"
)

// Annotations on a SeccompProfile resource: where it was learned from.
const (
	AnnotationComment  = "swoll.dev/learned-from"
	AnnotationPods     = "swoll.dev/pods"
	AnnotationDuration = "swoll.dev/duration"
	AnnotationCalls    = "swoll.dev/calls"
	AnnotationRuntime  = "swoll.dev/runtime-calls"
)

// SeccompProfile is the Security Profiles Operator's resource, the fields swoll writes.
type SeccompProfile struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Metadata   SPOMetadata `json:"metadata"`
	Spec       SPOSpec     `json:"spec"`
}

// SPOMetadata is the resource's name and annotations.
type SPOMetadata struct {
	Name        string            `json:"name"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// SPOSpec is the profile. SPO's fields are runtime-spec's, with its own types.
type SPOSpec struct {
	DefaultAction specs.LinuxSeccompAction `json:"defaultAction"`
	Architectures []specs.Arch             `json:"architectures,omitempty"`
	Syscalls      []specs.LinuxSyscall     `json:"syscalls,omitempty"`
}

// SPO returns the profile as a SeccompProfile resource. Its name says namespace, workload and container
// (the resource is cluster-scoped).
func (p *Profile) SPO() *SeccompProfile {
	r := &SeccompProfile{
		APIVersion: SPOAPIVersion,
		Kind:       SPOKind,
		Spec: SPOSpec{
			DefaultAction: p.DefaultAction,
			Architectures: p.Architectures,
			Syscalls:      p.Syscalls,
		},
	}
	r.Metadata.Name = "profile"
	if l := p.Learned; l != nil {
		_, workload, _ := strings.Cut(l.Workload, "/")
		r.Metadata.Name = resourceName(l.Namespace, workload, l.Container)
		calls, _ := json.Marshal(l.Calls)
		r.Metadata.Annotations = map[string]string{
			AnnotationComment:  p.Comment,
			AnnotationPods:     strings.Join(l.Pods, ","),
			AnnotationDuration: l.Duration,
			AnnotationCalls:    string(calls),
			AnnotationRuntime:  strings.Join(l.Runtime, ","),
		}
	}
	return r
}

var notName = regexp.MustCompile(`[^a-z0-9.-]+`)

// resourceName joins parts into a DNS subdomain name (lower case, at most 253 characters).
func resourceName(parts ...string) string {
	var kept []string
	for _, s := range parts {
		s = strings.Trim(notName.ReplaceAllString(strings.ToLower(s), "-"), "-.")
		if s != "" {
			kept = append(kept, s)
		}
	}
	name := strings.Join(kept, "-")
	if len(name) > validation.DNS1123SubdomainMaxLength {
		name = strings.TrimRight(name[:validation.DNS1123SubdomainMaxLength], "-.")
	}
	if name == "" {
		name = "profile"
	}
	return name
}
