//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The fault suite (fault_*_test.go) breaks things on the real cluster and checks that swoll survives or says
// so, and that nothing is left behind. Each case states its pass condition (faultCase); TestMain prints the
// table of cases and results at the end, and writes it to _output/fault-table.md.

// faultRow is one case of the fault table.
type faultRow struct {
	name, pass string
	result     string
	took       time.Duration
}

var faults struct {
	mu   sync.Mutex
	rows []*faultRow
}

// faultCase registers the running test as a fault case with its pass condition; its result is recorded when
// it ends.
func faultCase(t *testing.T, pass string) {
	t.Helper()
	row := &faultRow{name: t.Name(), pass: pass}
	start := time.Now()
	faults.mu.Lock()
	faults.rows = append(faults.rows, row)
	faults.mu.Unlock()
	t.Cleanup(func() {
		faults.mu.Lock()
		defer faults.mu.Unlock()
		row.took = time.Since(start).Round(time.Second)
		switch {
		case t.Failed():
			row.result = "FAILED"
		case t.Skipped():
			row.result = "skipped"
		default:
			row.result = "passed"
		}
	})
}

// printFaultTable writes the fault table (nothing when no fault case ran).
func printFaultTable(w io.Writer) {
	faults.mu.Lock()
	defer faults.mu.Unlock()
	if len(faults.rows) == 0 {
		return
	}
	rows := append([]*faultRow(nil), faults.rows...)
	sort.Slice(rows, func(i, j int) bool { return rows[i].name < rows[j].name })
	var b strings.Builder
	b.WriteString("\nFault suite\n\n| case | pass condition | result | time |\n|---|---|---|---|\n")
	passed := 0
	for _, r := range rows {
		if r.result == "" {
			r.result = "did not finish"
		}
		if r.result == "passed" {
			passed++
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.name, r.pass, r.result, r.took)
	}
	fmt.Fprintf(&b, "\n%d of %d fault cases passed\n", passed, len(rows))
	_, _ = io.WriteString(w, b.String())
	if suite.root != "" {
		_ = os.WriteFile(filepath.Join(suite.root, "_output", "fault-table.md"), []byte(b.String()), 0o644)
	}
}

// ------------------------------------------------------------------------------------ network partition

// faultComment marks every iptables rule the suite adds, so that a crashed run's rules are found and removed.
const faultComment = "swoll-e2e-fault"

// nodeIP is the address the API server dials a node's kubelet at: the local cluster's API server prefers the
// Hostname address (--kubelet-preferred-address-types), which resolves to the node's own loopback address.
func nodeIP(ctx context.Context, node string) (string, error) {
	n, err := suite.cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeHostName {
			continue
		}
		addrs, err := net.DefaultResolver.LookupHost(ctx, a.Address)
		if err != nil || len(addrs) == 0 {
			return "", fmt.Errorf("resolving node %s's Hostname address %s: %w", node, a.Address, err)
		}
		return addrs[0], nil
	}
	return "", fmt.Errorf("node %s has no Hostname address", node)
}

func iptables(args ...string) error {
	out, err := exec.Command("iptables", append([]string{"-w", "5"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// partitionRules are the rules that drop the traffic between the API server and one node's kubelet: what
// the API server sends to the kubelet's port (exec, logs) and the answers. (The kubelet's own requests to the
// API server leave from 127.0.0.1 like the other node's and are not cut: the node stays Ready.)
func partitionRules(ip string) [][]string {
	return [][]string{
		{"OUTPUT", "-p", "tcp", "-d", ip, "--dport", "10250", "-m", "comment", "--comment", faultComment, "-j", "DROP"},
		{"OUTPUT", "-p", "tcp", "-s", ip, "--sport", "10250", "-m", "comment", "--comment", faultComment, "-j", "DROP"},
	}
}

// partition drops the API server's traffic with node's kubelet until heal is called (or the test ends).
func (f *F) partition(node string) (heal func()) {
	f.t.Helper()
	ip, err := nodeIP(f.ctx, node)
	if err != nil {
		f.t.Fatal(err)
	}
	rules := partitionRules(ip)
	for _, r := range rules {
		if err := iptables(append([]string{"-I"}, r...)...); err != nil {
			healPartitions()
			f.t.Fatal(err)
		}
	}
	var once sync.Once
	heal = func() {
		once.Do(func() {
			for _, r := range rules {
				if err := iptables(append([]string{"-D"}, r...)...); err != nil {
					f.t.Errorf("healing the partition of %s: %v", node, err)
				}
			}
		})
	}
	f.t.Cleanup(heal)
	return heal
}

// healPartitions removes every rule of the suite (left by a crashed run).
func healPartitions() {
	out, err := exec.Command("iptables", "-w", "5", "-S", "OUTPUT").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, faultComment) || !strings.HasPrefix(line, "-A ") {
			continue
		}
		args := strings.Fields(strings.Replace(line, "-A ", "-D ", 1))
		for i, a := range args {
			args[i] = strings.Trim(a, `"`)
		}
		_ = iptables(args...)
	}
}

// ------------------------------------------------------------------------------------- API server restart

// restartAPIServer stops the cluster's kube-apiserver and starts it again with the same command line
// (hack/e2e/restart-apiserver.sh), waiting until it is ready. The script restarts it even when the stop
// was interrupted; a test that calls this must not run in parallel with others.
func (f *F) restartAPIServer(down time.Duration) {
	f.t.Helper()
	script := filepath.Join(suite.root, "hack", "e2e", "restart-apiserver.sh")
	cmd := exec.Command(script, strconv.Itoa(int(down/time.Second)))
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("%s: %v\n%s", script, err, out)
	}
	f.t.Logf("kube-apiserver restarted: %s", strings.TrimSpace(string(out)))
}

// ----------------------------------------------------------------------------------------------- helpers

// capEff is the effective capability set of a process, as /proc/PID/status shows it.
func capEff(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no CapEff in /proc/%d/status", pid)
}

// leakedPrograms are swoll's probe programs that no process holds (pinned or leaked): the kernel frees a
// program with its last holder, so a session's programs are gone once its agent processes are. (Programs
// held by the agents of other sessions running in parallel are not counted.)
func leakedPrograms() ([]bpfProg, error) {
	progs, err := swollPrograms()
	if err != nil || len(progs) == 0 {
		return nil, err
	}
	holders := progHolders()
	var out []bpfProg
	for _, p := range progs {
		if len(holders[p.ID]) == 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

// noSwollLeft waits until no agent Job or pod of the session (any, when "") is left in ns and no probe program
// is loaded without a holder.
func (f *F) noSwollLeft(ns, session string, timeout time.Duration) {
	f.t.Helper()
	sel := agentLabel
	if session != "" {
		sel += "," + sessionLabel + "=" + session
	}
	var left []string
	err := within(timeout, func(ctx context.Context) (bool, error) {
		left = left[:0]
		jobs, err := suite.cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return false, nil
		}
		for _, j := range jobs.Items {
			left = append(left, "job/"+j.Namespace+"/"+j.Name)
		}
		pods, err := agentPods(ctx, ns, session)
		if err != nil {
			return false, nil
		}
		for _, p := range pods {
			left = append(left, "pod/"+p.Namespace+"/"+p.Name+" ("+string(p.Status.Phase)+")")
		}
		progs, err := leakedPrograms()
		if err != nil {
			return false, err
		}
		for _, p := range progs {
			left = append(left, fmt.Sprintf("bpf prog %d %s held by no process", p.ID, p.Name))
		}
		return len(left) == 0, nil
	}, "nothing of session %q left in namespace %q", session, ns)
	if err != nil {
		f.t.Fatalf("%v; left: %v", err, left)
	}
}
