//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// offlineUID is the user TestFaultPluginLosesNetwork runs the plugin as: the packets of that user alone are
// dropped, so that the plugin's machine "loses the network" while the cluster, on the same machine, does not.
const offlineUID = 64123

// dropPacketsOf drops every TCP packet that processes of uid send, until heal is called (or the test ends).
func (f *F) dropPacketsOf(uid int) (heal func()) {
	f.t.Helper()
	rule := []string{"OUTPUT", "-p", "tcp", "-m", "owner", "--uid-owner", strconv.Itoa(uid),
		"-m", "comment", "--comment", faultComment, "-j", "DROP"}
	if err := iptables(append([]string{"-I"}, rule...)...); err != nil {
		f.t.Fatal(err)
	}
	var once sync.Once
	heal = func() {
		once.Do(func() {
			if err := iptables(append([]string{"-D"}, rule...)...); err != nil {
				f.t.Errorf("removing the drop rule of uid %d: %v", uid, err)
			}
		})
	}
	f.t.Cleanup(heal)
	return heal
}

// TestFaultPluginLosesNetwork: pass = when the plugin's machine loses the network mid-session (every packet
// it sends dropped), the agent detaches its programs on its own (heartbeat) and no Job or pod of the session
// exists 60 s after the cut, with no cleanup.
func TestFaultPluginLosesNetwork(t *testing.T) {
	t.Parallel()
	faultCase(t, "the plugin's packets dropped mid-session (its machine off the network): programs detached, no Job or pod 60 s after the cut, no cleanup")
	f := newF(t)
	pod := f.createPod(podSpec{name: "web", labels: labels("app", "web"), node: suite.nodes[0]})
	f.traffic(pod, "web", openURL(webPort, page))
	agents := f.watchAgents(f.agents)
	home, err := os.MkdirTemp("", "swoll-offline-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(home) })
	if err := os.Chown(home, offlineUID, offlineUID); err != nil {
		t.Fatal(err)
	}
	asOffline := func(ctx context.Context, args ...string) *exec.Cmd {
		cmd := f.pluginCmd(ctx, args...)
		cmd.Env = append(cmd.Env, "HOME="+home) // kubectl's caches
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: offlineUID, Gid: offlineUID}}
		return cmd
	}
	s := f.traceWith(asOffline, "-n", f.ns, "-l", "app=web", "-s", "openat", "--agent-namespace", f.agents)
	s.waitEvents(3, firstEventTimeout, "from "+pod.Name, both(fromPod(pod), opened(page)))
	seen := agents.seen()
	if len(seen) != 1 {
		t.Fatalf("agent pods: %v, want one", podNames(seen))
	}
	progs := f.agentPrograms(seen[0])
	session := sessionOf(t, s.Events())

	heal := f.dropPacketsOf(offlineUID)
	cut := time.Now()
	f.waitProgramsGone(progs, detachedAfterStop)
	t.Logf("programs detached %s after the cut", time.Since(cut).Round(100*time.Millisecond))
	f.noSwollLeft(f.agents, session, nothingLeftAfter-time.Since(cut))
	t.Logf("nothing of session %s left %s after the cut", session, time.Since(cut).Round(time.Second))
	s.signal(syscall.SIGKILL) // the plugin itself never heard: it is the laptop that went away
	s.waitExit(exitTimeout)
	heal()
}
