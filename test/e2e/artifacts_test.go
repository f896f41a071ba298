//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// saveArtifacts writes what a failing test leaves for a human: every plugin run's output, every pod's spec,
// status and logs in every namespace (agent pods included), the cluster's events, the loaded BPF programs and
// the cluster's own logs (hack/e2e/collect-logs.sh). It returns the folder.
func saveArtifacts(f *F) string {
	dir := filepath.Join(suite.artifacts, unsafePath.ReplaceAllString(f.t.Name(), "_"))
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Logf("artifacts: %v", err)
		return dir
	}
	save := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			f.t.Logf("artifacts: %v", err)
		}
	}

	f.mu.Lock()
	sessions := append([]*session(nil), f.sessions...)
	f.mu.Unlock()
	for i, s := range sessions {
		s.mu.Lock()
		head := fmt.Sprintf("args: %s\nexit: %s\nevents: %d\nnotices: %+v\n", strings.Join(s.args, " "),
			exitText(s), len(s.events), s.notices)
		save(fmt.Sprintf("plugin/%02d.txt", i), []byte(head))
		save(fmt.Sprintf("plugin/%02d.stdout", i), s.raw.Bytes())
		save(fmt.Sprintf("plugin/%02d.stderr", i), s.stderr.Bytes())
		s.mu.Unlock()
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pods, err := suite.cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		f.t.Logf("artifacts: listing pods: %v", err)
	} else {
		for _, p := range pods.Items {
			base := fmt.Sprintf("pods/%s/%s", p.Namespace, p.Name)
			if b, err := json.MarshalIndent(p, "", "  "); err == nil {
				save(base+".json", b)
			}
			for _, c := range p.Spec.Containers {
				savePodLog(ctx, save, p, c.Name, false)
				if restarted(p, c.Name) {
					savePodLog(ctx, save, p, c.Name, true)
				}
			}
		}
	}
	if evs, err := suite.cs.CoreV1().Events("").List(ctx, metav1.ListOptions{}); err == nil {
		var b strings.Builder
		for _, e := range evs.Items {
			fmt.Fprintf(&b, "%s %s/%s %s %s: %s\n", e.LastTimestamp.Format(time.RFC3339), e.InvolvedObject.Namespace,
				e.InvolvedObject.Name, e.Type, e.Reason, e.Message)
		}
		save("events.txt", []byte(b.String()))
	}
	if out, err := exec.Command("bpftool", "prog", "show").CombinedOutput(); err == nil {
		save("bpftool-prog-show.txt", out)
	}
	collect := filepath.Join(suite.root, "hack", "e2e", "collect-logs.sh")
	if out, err := exec.CommandContext(ctx, collect, filepath.Join(dir, "cluster")).CombinedOutput(); err != nil {
		save("collect-logs.err", append(out, []byte(err.Error())...))
	}
	return dir
}

var unsafePath = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func savePodLog(ctx context.Context, save func(string, []byte), p corev1.Pod, container string, previous bool) {
	name := fmt.Sprintf("pods/%s/%s.%s.log", p.Namespace, p.Name, container)
	if previous {
		name = strings.TrimSuffix(name, ".log") + ".previous.log"
	}
	b, err := suite.cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: container, Previous: previous}).DoRaw(ctx)
	if err != nil {
		b = []byte("getting logs: " + err.Error())
	}
	save(name, b)
}

func restarted(p corev1.Pod, container string) bool {
	for _, c := range p.Status.ContainerStatuses {
		if c.Name == container {
			return c.RestartCount > 0
		}
	}
	return false
}

func exitText(s *session) string {
	select {
	case <-s.exited:
		return fmt.Sprint(s.exitCode)
	default:
		return "still running"
	}
}
