package rbac

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// manifestHeader opens deploy/rbac.yaml.
var manifestHeader = []string{
	"The ClusterRoles of kubectl swoll: what it does as you, and nothing more. Generated from plugin/rbac",
	"(go test ./plugin/rbac -update); do not edit. `kubectl swoll rbac` prints them with the bindings for a",
	"user, group or ServiceAccount and a set of namespaces, ready to apply:",
	"",
	"  kubectl swoll rbac shop --user alice --agent-namespace swoll | kubectl apply -f -",
	"",
	"or by hand, with the agents in a namespace of their own (swoll) and the pods to trace in shop:",
	"",
	"  kubectl apply -f deploy/rbac.yaml",
	"  kubectl create namespace swoll",
	"  kubectl label namespace swoll " + PodSecurityEnforceLabel + "=" + PrivilegedLevel,
	"  kubectl create rolebinding swoll-targets:alice -n shop --clusterrole=swoll-targets --user=alice",
	"  kubectl create rolebinding swoll-agents:alice -n swoll --clusterrole=swoll-agents --user=alice",
	"  kubectl create clusterrolebinding swoll-nodes:alice --clusterrole=swoll-nodes --user=alice   # optional",
	"  kubectl create rolebinding swoll-capture:alice -n shop --clusterrole=swoll-capture --user=alice  # optional",
}

// WriteManifest writes deploy/rbac.yaml: the shipped ClusterRoles with their reasons as comments.
func WriteManifest(w io.Writer) error {
	var b strings.Builder
	comment(&b, "", manifestHeader)
	writeRoles(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// Write writes the ClusterRoles and what g binds, as one YAML stream for kubectl apply -f -.
func Write(w io.Writer, g Grant) error {
	var b strings.Builder
	comment(&b, "", []string{"kubectl swoll rbac: apply with kubectl apply -f - (as someone who may grant these roles)"})
	writeRoles(&b)
	for _, o := range g.Objects() {
		if err := writeObject(&b, o); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeRoles(b *strings.Builder) {
	for _, r := range Roles {
		b.WriteString("---\n")
		comment(b, "", r.Doc)
		fmt.Fprintf(b, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: %s\n  labels:\n", r.Name)
		for _, k := range slices.Sorted(maps.Keys(Label)) {
			fmt.Fprintf(b, "    %s: %s\n", k, Label[k])
		}
		b.WriteString("rules:\n")
		for _, rl := range r.Rules {
			comment(b, "  ", strings.Split(rl.Why, "\n"))
			fmt.Fprintf(b, "  - apiGroups: %s\n    resources: %s\n    verbs: %s\n",
				flow(rl.APIGroups), flow(rl.Resources), flow(rl.Verbs))
		}
	}
}

// writeObject writes o without what only the server fills in (status, creationTimestamp, an empty spec).
func writeObject(b *strings.Builder, o runtime.Object) error {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return fmt.Errorf("rendering %T: %w", o, err)
	}
	delete(m, "status")
	if spec, ok := m["spec"].(map[string]any); ok && len(spec) == 0 {
		delete(m, "spec")
	}
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		return fmt.Errorf("rendering %T: %w", o, err)
	}
	b.WriteString("---\n")
	b.Write(out)
	return nil
}

func comment(b *strings.Builder, indent string, lines []string) {
	for _, l := range lines {
		b.WriteString(strings.TrimRight(indent+"# "+l, " ") + "\n")
	}
}

// flow is a YAML flow sequence of double-quoted strings: ["get", "list"].
func flow(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
