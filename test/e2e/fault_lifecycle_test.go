//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// detachedAfterStop bounds how long a stopped plugin's agents keep their programs (heartbeat 20 s + grace).
	detachedAfterStop = 30 * time.Second
	// nothingLeftAfter is the bound: after the plugin dies, nothing of its session exists 60 s later.
	nothingLeftAfter = 60 * time.Second
)

// rawPlugin is a plugin run whose stdout goes where the test says (-o cli into a buffer, say).
type rawPlugin struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
	code   int
}

func (f *F) startRaw(stdout io.Writer, args ...string) *rawPlugin {
	f.t.Helper()
	p := &rawPlugin{done: make(chan struct{})}
	p.cmd = f.pluginCmd(context.Background(), append([]string{"trace"}, args...)...)
	p.cmd.Stdout = stdout
	p.cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	if err := p.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = exitCode(err)
		close(p.done)
	}()
	f.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if f.t.Failed() {
			f.t.Logf("plugin stderr:\n%s", p.Stderr())
		}
	})
	return p
}

func (p *rawPlugin) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *rawPlugin) stop(t *testing.T) int {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
		return p.code
	case <-time.After(exitTimeout):
		t.Fatalf("the plugin did not exit within %s of SIGINT\nstderr:\n%s", exitTimeout, p.Stderr())
	}
	return 0
}

// TestFaultSIGSTOP: pass = with the plugin stopped (SIGSTOP) while its target is busy, the agent detaches its
// programs within 30 s; after SIGCONT the plugin ends cleanly on SIGINT and nothing is left.
func TestFaultSIGSTOP(t *testing.T) {
	t.Parallel()
	faultCase(t, "plugin SIGSTOPped with a busy target: programs detached ≤ 30 s; after SIGCONT a clean end, nothing left")
	f := newF(t)
	s, _, progs := tracedSession(f, suite.nodes[0])
	s.signal(syscall.SIGSTOP)
	stopped := time.Now()
	f.waitProgramsGone(progs, detachedAfterStop)
	t.Logf("programs detached %s after SIGSTOP", time.Since(stopped).Round(100*time.Millisecond))
	s.signal(syscall.SIGCONT)
	s.signal(syscall.SIGINT)
	s.waitExit(exitTimeout)
	f.noSwollLeft(f.agents, "", goneTimeout)
}
