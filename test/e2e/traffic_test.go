//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// traffic is a request loop running inside a container, started through `kubectl exec -i`. Its stdin is the
// loop's lifeline: closing it (or the test process dying) ends the loop inside the pod too.
type traffic struct {
	f     *F
	what  string
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu      sync.Mutex
	ok      int // requests that succeeded
	stderr  bytes.Buffer
	changed chan struct{}
	done    chan struct{}
}

// openURL is a webserver request that makes it open path.
func openURL(port int, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d/open?path=%s", port, path)
}

// kubectl runs the cluster's kubectl with the suite's kubeconfig.
func kubectl(args ...string) *exec.Cmd {
	return exec.Command(filepath.Join(suite.clusterBin, "kubectl"), append([]string{"--kubeconfig", suite.kubeconfig}, args...)...)
}

// traffic fetches url from inside the container about five times a second until stopped or the test ends.
func (f *F) traffic(pod *corev1.Pod, container, url string) *traffic {
	f.t.Helper()
	loop := fmt.Sprintf(`while :; do wget -q -O /dev/null '%s' && echo ok; sleep 0.2; done & cat >/dev/null; kill $!`, url)
	tr := &traffic{f: f, what: fmt.Sprintf("%s/%s[%s] GET %s", pod.Namespace, pod.Name, container, url),
		changed: make(chan struct{}), done: make(chan struct{})}
	tr.cmd = kubectl("exec", "-i", "-n", pod.Namespace, pod.Name, "-c", container, "--", "sh", "-c", loop)
	tr.cmd.Stderr = lockedWriter{&tr.mu, &tr.stderr}
	var err error
	if tr.stdin, err = tr.cmd.StdinPipe(); err != nil {
		f.t.Fatal(err)
	}
	stdout, err := tr.cmd.StdoutPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := tr.cmd.Start(); err != nil {
		f.t.Fatalf("starting traffic %s: %v", tr.what, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "ok" {
				tr.mu.Lock()
				tr.ok++
				close(tr.changed)
				tr.changed = make(chan struct{})
				tr.mu.Unlock()
			}
		}
		_ = tr.cmd.Wait()
		close(tr.done)
	}()
	f.t.Cleanup(tr.stop)
	return tr
}

func (tr *traffic) requests() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.ok
}

// waitRequests waits until a handful more requests than now have succeeded: proof that the workload did its
// syscalls.
func (tr *traffic) waitRequests() {
	const n, timeout = 5, 45 * time.Second
	tr.f.t.Helper()
	target := tr.requests() + n
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		tr.mu.Lock()
		ok, changed := tr.ok, tr.changed
		tr.mu.Unlock()
		if ok >= target {
			return
		}
		select {
		case <-changed:
		case <-tr.done:
			tr.f.t.Fatalf("traffic %s ended after %d requests: %s", tr.what, ok, tr.stderrText())
		case <-deadline.C:
			tr.f.t.Fatalf("traffic %s: %d requests after %s, want %d: %s", tr.what, ok, timeout, target, tr.stderrText())
		}
	}
}

func (tr *traffic) stderrText() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.stderr.String()
}

// stop ends the loop: EOF on stdin makes the in-pod shell kill it; kubectl is killed if it lingers.
func (tr *traffic) stop() {
	_ = tr.stdin.Close()
	select {
	case <-tr.done:
	case <-time.After(10 * time.Second):
		_ = tr.cmd.Process.Kill()
		<-tr.done
	}
}
