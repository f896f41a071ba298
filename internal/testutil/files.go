package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// Kubeconfig is a kubeconfig for command-line tests: its API server is a port nothing listens on (a request
// fails fast), its context's namespace is "shop".
const Kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
contexts:
- name: ctx
  context: {cluster: c, user: u, namespace: shop}
current-context: ctx
`

// WriteFile writes content to a file named name in a fresh temporary directory and returns its path.
func WriteFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
