//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// suite is what every test shares: one cluster, one client, the binary under test.
var suite struct {
	cs         kubernetes.Interface
	config     *rest.Config
	kubeconfig string
	nodes      []string // SWOLL_NODES, in order; tests need at least two
	clusterBin string   // kubectl, crictl
	plugin     string   // the kubectl-swoll binary under test
	root       string   // repository root
	artifacts  string   // where failing tests leave their evidence
}

func TestMain(m *testing.M) {
	if err := setUp(); err != nil {
		// Never skip: an e2e run that cannot reach its cluster is a failed run.
		fmt.Fprintf(os.Stderr, "--- FAIL: TestMain (setting up the e2e suite: %v)\nFAIL\n", err)
		os.Exit(1)
	}
	code := m.Run()
	healPartitions() // whatever a fault case left
	printFaultTable(os.Stdout)
	if code == 0 {
		// Every session has ended: no agent may still hold (or have leaked) a program. Wait out a teardown
		// still under way rather than race it.
		var left []bpfProg
		err := within(20*time.Second, func(context.Context) (bool, error) {
			var err error
			left, err = swollPrograms()
			return len(left) == 0, err
		}, "no swoll BPF programs")
		if err != nil {
			fmt.Fprintf(os.Stderr, "--- FAIL: TestMain (after the suite: %v; loaded: %+v)\nFAIL\n", err, left)
			code = 1
		}
	}
	os.Exit(code)
}

func setUp() error {
	if os.Geteuid() != 0 {
		return errors.New("the e2e suite needs root (it inspects BPF programs and node processes); run make e2e as root")
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	suite.root = filepath.Clean(filepath.Join(wd, "..", ".."))
	// The suite never skips: helpers shared with unit tests (promtool, Chromium) fail on a missing tool here.
	if err := os.Setenv("SWOLL_REQUIRE_ROOT", "1"); err != nil {
		return err
	}
	suite.kubeconfig = os.Getenv("KUBECONFIG")
	if suite.kubeconfig == "" {
		return errors.New(`KUBECONFIG is not set: run make e2e, or eval "$(make -s cluster-env)" first`)
	}
	suite.nodes = strings.Fields(os.Getenv("SWOLL_NODES"))
	if len(suite.nodes) < 2 {
		return fmt.Errorf("SWOLL_NODES=%q: the suite needs the two-node cluster of make cluster-up", os.Getenv("SWOLL_NODES"))
	}
	suite.clusterBin = os.Getenv("CLUSTER_BIN")
	if _, err := os.Stat(filepath.Join(suite.clusterBin, "kubectl")); err != nil {
		return fmt.Errorf("CLUSTER_BIN=%q has no kubectl: %w", suite.clusterBin, err)
	}
	suite.plugin = envOr("SWOLL_PLUGIN", filepath.Join(suite.root, "bin", "kubectl-swoll"))
	if _, err := os.Stat(suite.plugin); err != nil {
		return fmt.Errorf("the plugin binary (SWOLL_PLUGIN): %w; run make plugin", err)
	}
	suite.artifacts = envOr("SWOLL_E2E_ARTIFACTS", filepath.Join(suite.root, "_output", "e2e-artifacts"))

	suite.config, err = clientcmd.BuildConfigFromFlags("", suite.kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", suite.kubeconfig, err)
	}
	// Parallel tests share this client; the defaults (5 qps) would make them queue behind each other.
	suite.config.QPS, suite.config.Burst = 100, 200
	suite.cs, err = kubernetes.NewForConfig(suite.config)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	healPartitions() // a crashed run's
	if err := setUpTracerUser(ctx); err != nil {
		return err
	}
	return pollUntil(ctx, func(ctx context.Context) (bool, error) {
		for _, name := range suite.nodes {
			n, err := suite.cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil || !nodeReady(n) {
				return false, nil
			}
		}
		return true, nil
	}, "nodes %v Ready", suite.nodes)
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
