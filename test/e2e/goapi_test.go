//go:build e2e

package e2e

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/swoll-dev/swoll/client"
	"github.com/swoll-dev/swoll/event"
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

// TestGoAPIForbidden runs a session through package client as a user who may only read pods: the error Run returns
// is a Forbidden to apierrors.IsForbidden (the chain from the API server's answer to the caller is kept), reads as
// the line kubectl swoll prints, and nothing was created.
func TestGoAPIForbidden(t *testing.T) {
	t.Parallel()
	f := newF(t)
	f.createPod(podSpec{name: "web", labels: labels("app", "forbidden")})
	cfg := rest.CopyConfig(suite.config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: f.podListerAccount()}
	ctx, cancel := context.WithTimeout(f.ctx, exampleTimeout)
	defer cancel()
	err := client.Run(ctx, client.Options{Config: cfg, Namespace: f.ns, LabelSelector: "app=forbidden", AgentNamespace: f.ns},
		client.Handler{Event: func(*event.Event) error { return errors.New("an event reached a session that must not start") }})
	t.Logf("client.Run: %v", err)
	if !apierrors.IsForbidden(err) {
		t.Errorf("apierrors.IsForbidden(%v) is false", err)
	}
	if want := "not allowed to create jobs.batch in namespace " + f.ns; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("the error does not say %q", want)
	}
	f.waitNoAgents(f.ns, time.Minute)
}
