package agentpod

import (
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// WriteYAML writes pods as a YAML stream (what --dry-run shows).
func WriteYAML(w io.Writer, pods []*corev1.Pod) error {
	for i, p := range pods {
		b, err := yaml.Marshal(p)
		if err != nil {
			return fmt.Errorf("rendering agent pod: %w", err)
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
