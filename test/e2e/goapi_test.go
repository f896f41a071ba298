//go:build e2e

package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	// buildTimeout bounds building the example program (its packages are mostly those of the plugin: cached).
	buildTimeout = 5 * time.Minute
	// exampleTimeout bounds the example's whole session: agent start, five events, teardown.
	exampleTimeout = 3 * time.Minute
)

// TestGoAPIExample builds examples/opens, a program on the public Go API (package client), and runs it against a
// web pod: it prints the files the pod opens, typed and tagged, stops after -max-events, and leaves no agent.
// (Example functions in package client are compiled by the unit tests; this is the one that runs.)
func TestGoAPIExample(t *testing.T) {
	t.Parallel()
	f := newF(t)
	_, image := distImage(t)
	bin := filepath.Join(t.TempDir(), "opens")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/opens")
	build.Dir = suite.root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/opens: %v\n%s", err, out)
	}

	pod := f.createPod(podSpec{name: "web", labels: labels("app", "opens"), node: suite.nodes[1]})
	f.traffic(pod, "web", openURL(webPort, page))
	ctx, cancel = context.WithTimeout(context.Background(), exampleTimeout)
	defer cancel()
	run := exec.CommandContext(ctx, bin, "-kubeconfig", suite.kubeconfig, "-n", f.ns, "-l", "app=opens",
		"-max-events", "10", "-image", image)
	var stderr strings.Builder
	run.Stderr = &stderr
	out, err := run.Output()
	t.Logf("examples/opens stdout:\n%s\nstderr:\n%s", out, stderr.String())
	if err != nil {
		t.Fatalf("examples/opens: %v", err)
	}
	want := suite.nodes[1] + " " + f.ns + "/web[web] webserver openat \"" + page + "\" ok"
	// the pod's traffic loop (busybox wget) opens files too: at least 3 of the 10 are the page
	if got := strings.Count(string(out), want+"\n"); got < 3 {
		t.Errorf("%d lines %q, want at least 3 of 10", got, want)
	}
	if !strings.Contains(string(out), "files opened most, per container") || !strings.Contains(stderr.String(), "ended") {
		t.Error("no closing table on stdout or no session summary on stderr")
	}
	f.waitNoAgents(f.ns, time.Minute)
}
