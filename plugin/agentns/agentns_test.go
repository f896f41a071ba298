package agentns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/tools/clientcmd"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {}
contexts:
- name: prod
  context:
    cluster: c
    user: u
    extensions:
    - name: swoll.dev
      extension:
        agentNamespace: tracing
- name: dev
  context: {cluster: c, user: u}
- name: broken
  context:
    cluster: c
    user: u
    extensions:
    - name: swoll.dev
      extension:
        agentNamespace: Not_A_Name
- name: other-plugin
  context:
    cluster: c
    user: u
    extensions:
    - name: example.com
      extension: {anything: 1}
current-context: prod
`

func TestConfigured(t *testing.T) {
	config, err := clientcmd.Load([]byte(kubeconfig))
	if err != nil {
		t.Fatal(err)
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvVar {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name, env, context, want, wantErr string
	}{
		{name: "the context's extension", context: "prod", want: "tracing"},
		{name: "the environment wins", env: "swoll", context: "prod", want: "swoll"},
		{name: "no extension", context: "dev", want: ""},
		{name: "another plugin's extension", context: "other-plugin", want: ""},
		{name: "unknown context", context: "nope", want: ""},
		{name: "a bad name in the extension", context: "broken", wantErr: `kubeconfig context "broken", extension swoll.dev: invalid agent namespace "Not_A_Name"`},
		{name: "a bad name in the environment", env: "a b", context: "dev", wantErr: `$SWOLL_AGENT_NAMESPACE: invalid agent namespace "a b"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Configured(env(tc.env), config, tc.context)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// FromFlags reads the kubeconfig and context that kubectl's flags name.
func TestFromFlags(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvVar, "")
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &path
	if got, err := FromFlags(flags); err != nil || got != "tracing" {
		t.Fatalf("current context: %q, %v", got, err)
	}
	dev := "dev"
	flags.Context = &dev
	if got, err := FromFlags(flags); err != nil || got != "" {
		t.Fatalf("--context dev: %q, %v", got, err)
	}
}
