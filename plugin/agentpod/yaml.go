package agentpod

import (
	"fmt"
	"io"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

// WriteYAML writes Jobs as a YAML stream (what --dry-run shows).
func WriteYAML(w io.Writer, jobs []*batchv1.Job) error {
	for i, p := range jobs {
		b, err := yaml.Marshal(p)
		if err != nil {
			return fmt.Errorf("rendering agent Job: %w", err)
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
