//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/event/stack"
)

// webBinary is the webserver's binary in its image: a stripped static Go program (its pclntab names its frames).
const webBinary = "/bin/webserver"

// withStack matches events whose user stack reaches the webserver's serveFile.
func withStack(ev *event.Event) bool {
	for _, f := range ev.Stack {
		if f.Symbol == "main.serveFile" {
			return true
		}
	}
	return false
}

// trace -k on a Go binary in a pod: each openat of the page carries its whole stack, symbolized from the
// container's own (stripped) binary: the runtime's system call code, os.Open's, main.serveFile (the caller
// --by caller names), net/http's handler chain, down to runtime.goexit; -o cli prints it as strace -k does.
func TestTraceStacks(t *testing.T) {
	t.Parallel()
	f := newF(t)
	pod := f.createPod(podSpec{name: "stk", labels: labels("app", "stk")})
	f.traffic(pod, "web", openURL(webPort, page))

	s := f.trace("-n", f.ns, "-l", "app=stk", "-s", "openat", "-k", "--agent-namespace", f.agents)
	s.waitEvents(3, firstEventTimeout, "opens of "+page+" with their stacks", both(both(fromPod(pod), opened(page)), withStack))
	s.stop(syscall.SIGINT)

	for _, ev := range s.Events() {
		if !opened(page)(&ev) {
			continue
		}
		st := ev.Stack
		if ev.StackTruncated || len(st) < 5 || st[len(st)-1].Symbol != "runtime.goexit" {
			t.Errorf("a Go stack that is not whole (truncated %v): %s", ev.StackTruncated, describeStack(st))
			continue
		}
		for i, fr := range st {
			if fr.Module != webBinary || fr.Symbol == "" {
				t.Errorf("frame %d %+v: want a symbol of %s", i, fr, webBinary)
			}
		}
		if c := stack.Caller(st); c < 0 || st[c].Symbol != "main.serveFile" {
			t.Errorf("caller %d of %s, want main.serveFile", c, describeStack(st))
		}
		if !strings.HasPrefix(st[0].Symbol, "internal/runtime/syscall") && !strings.HasPrefix(st[0].Symbol, "syscall.") {
			t.Errorf("innermost frame %+v: want the runtime's system call code", st[0])
		}
	}

	// -o cli: strace -k's lines under the call
	r := f.run(3*time.Minute, "trace", "-n", f.ns, "-l", "app=stk", "-s", "openat", "-k", "-o", "cli", "--max-events", "2",
		"--agent-namespace", f.agents)
	if r.code != 0 {
		t.Fatalf("trace -k -o cli exited %d:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, " > "+webBinary+"(main.serveFile+0x") ||
		!strings.Contains(r.stdout, " > "+webBinary+"(runtime.goexit+0x") {
		t.Errorf("trace -k -o cli:\n%s", r.stdout)
	}
	t.Logf("trace -k -o cli:\n%s", r.stdout)
}

// top --by caller: the agents count per calling function, read from each call's stack; the webserver's opens
// of the page are main.serveFile's.
func TestTopByCaller(t *testing.T) {
	t.Parallel()
	f := newF(t)
	pod := f.createPod(podSpec{name: "stk", labels: labels("app", "stk")})
	tr := f.traffic(pod, "web", openURL(webPort, page))

	r := f.top("-n", f.ns, "-l", "app=stk", "-s", "openat", "--by", "caller", "--interval", "1s", "--agent-namespace", f.agents)
	tr.waitRequests()
	err := within(countTimeout, func(context.Context) (bool, error) {
		select {
		case <-r.exited:
			return false, fmt.Errorf("top exited (%d)", r.code)
		default:
		}
		return callerCalls(r, pod.Name, "main.serveFile") >= 3, nil
	}, "top --by caller counting %s's opens under main.serveFile", pod.Name)
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, r.Stderr())
	}
	_ = r.cmd.Process.Signal(syscall.SIGINT)
	<-r.exited
	if r.code != 0 {
		t.Errorf("top exited %d:\n%s", r.code, r.Stderr())
	}
}

// callerCalls sums the openat calls of pod's rows whose caller is fn in the webserver's binary, in what top
// -o json wrote so far.
func callerCalls(r *topRun, pod, fn string) uint64 {
	r.mu.Lock()
	raw := r.raw.String()
	r.mu.Unlock()
	var n uint64
	for _, line := range strings.Split(raw, "\n") {
		var l event.Line
		if json.Unmarshal([]byte(line), &l) != nil || l.Snapshot == nil {
			continue
		}
		for _, c := range l.Snapshot.Rows {
			if c.Container != nil && c.Container.Pod == pod && c.Syscall.Name == "openat" && c.Caller != nil &&
				c.Caller.Symbol == fn && c.Caller.Module == webBinary {
				n += c.Calls
			}
		}
	}
	return n
}

func describeStack(frames []stack.Frame) string {
	var b strings.Builder
	for _, f := range frames {
		b.WriteString("\n  " + f.Function())
	}
	return b.String()
}
