package advise

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/seccomp"
	"github.com/swoll-dev/swoll/syscalls"
)

func built(t *testing.T) []seccomp.Built {
	t.Helper()
	r := seccomp.NewRecorder()
	row := func(pod, container, name string) event.Count {
		return event.Count{Syscall: event.Syscall{Name: name}, Calls: 1, Container: &event.Container{Namespace: "shop", Pod: pod, Name: container}}
	}
	_ = r.Snapshot(&event.Snapshot{Node: "n", From: 1, To: 2, Rows: []event.Count{row("web-1", "web", "read"), row("web-1", "proxy", "connect")}})
	return r.Build(seccomp.Lookup{
		Workload: func(_, _ string) string { return "Deployment/web" },
		NodeArch: func(string) syscalls.Arch { return syscalls.AMD64 },
	})
}

// TestWrite: JSON profiles one after the other (jq and json.Decoder read them), or YAML documents.
func TestWrite(t *testing.T) {
	b := built(t)
	var out bytes.Buffer
	if err := (&Options{Format: formatJSON}).write(&out, b); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	var containers []string
	for dec.More() {
		var p seccomp.Profile
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		containers = append(containers, p.Learned.Container)
	}
	if strings.Join(containers, ",") != "proxy,web" {
		t.Errorf("profiles for %v, want proxy and web", containers)
	}
	out.Reset()
	if err := (&Options{Format: formatSPO}).write(&out, b); err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(out.String(), "---\n")
	if len(docs) != 2 {
		t.Fatalf("%d YAML documents, want 2:\n%s", len(docs), out.String())
	}
	for _, d := range docs {
		var r seccomp.SeccompProfile
		if err := yaml.UnmarshalStrict([]byte(d), &r); err != nil || r.Kind != seccomp.SPOKind {
			t.Errorf("not a SeccompProfile (%v):\n%s", err, d)
		}
	}
}
