//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/swoll-dev/swoll/event"
)

const (
	// killedSessions is how many sessions TestFaultSIGKILLAtRandomMoments kills (the 10 runs).
	killedSessions = 10
	// killWindow is the span of a killed session's life the kill falls in: preflight, Job creation, pod start,
	// attach and tracing all happen within it on this cluster.
	killWindow = 15 * time.Second
	// unreadFor is how long TestFaultReaderNeverReads leaves stdout unread.
	unreadFor = 30 * time.Second
	// unreadRSSLimit bounds the plugin's memory with an unread stdout.
	unreadRSSLimit = 300 << 20
	// slowReaderRate and slowReaderFor are the slow reader: 50 kB/s for 2 minutes
	// (SWOLL_E2E_SLOW_READER=DURATION shortens it while iterating).
	slowReaderRate = 50_000
	slowReaderFor  = 2 * time.Minute
	// aliveWithin: a stream read slowly still delivers a line at least this often.
	aliveWithin = 10 * time.Second
)

// tracingStarted matches the plugin's line once its agents are ready.
var tracingStarted = regexp.MustCompile(`tracing \(Ctrl-C to stop\)`)

// lossReported matches a report of events lost in the kernel or dropped by the plugin (not a zero count).
var lossReported = regexp.MustCompile(`\b[1-9][0-9]* events (lost|dropped|over)|[1-9][0-9]* lost|[1-9][0-9]* dropped`)

// waitStderr waits until the plugin's stderr matches re.
func (p *rawPlugin) waitStderr(t *testing.T, re *regexp.Regexp, timeout time.Duration) {
	t.Helper()
	err := within(timeout, func(context.Context) (bool, error) { return re.MatchString(p.Stderr()), nil }, "stderr to match %s", re)
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, p.Stderr())
	}
}

// rssBytes is a process's resident memory (0 when it cannot be read).
func rssBytes(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n << 10
		}
	}
	return 0
}

// TestFaultSIGKILLAtRandomMoments: pass = for each of 10 sessions killed with SIGKILL at a random moment of
// its life (0–15 s after start: preflight, Job creation, pod start, attach, tracing), no Job or pod of it
// exists 60 s after the kill and no probe program is left without a holder, with no cleanup run.
func TestFaultSIGKILLAtRandomMoments(t *testing.T) {
	t.Parallel()
	faultCase(t, "10 sessions SIGKILLed at random moments (0-15 s): no Job/pod 60 s after the kill, no BPF program left, no cleanup")
	f := newF(t)
	pods := f.createPods(webPods("web", labels("app", "web"), suite.nodes...)...)
	for _, p := range pods {
		f.traffic(p, "web", openURL(webPort, page))
	}
	sem := make(chan struct{}, 5) // five at a time: the machine has two cores
	for i := range killedSessions {
		t.Run(fmt.Sprintf("run%d", i), func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			defer func() { <-sem }()
			g := &F{t: t, ctx: f.ctx}
			agentNS := g.createAgentNamespace(uniqueName("e2e-kill"))
			delay := time.Duration(rand.Int64N(int64(killWindow)))
			s := g.trace("-n", f.ns, "-l", "app=web", "-s", "openat", "--agent-namespace", agentNS)
			time.Sleep(delay) // the fault's random moment is what the case is about, not a wait for a condition
			s.signal(syscall.SIGKILL)
			killed := time.Now()
			s.waitExit(exitTimeout)
			t.Logf("killed %s after start (%d events)", delay.Round(time.Millisecond), len(s.Events()))
			g.noSwollLeft(agentNS, "", nothingLeftAfter-time.Since(killed))
			t.Logf("nothing left %s after the kill", time.Since(killed).Round(time.Second))
		})
	}
}

// TestFaultReaderNeverReads: pass = with a stdout nobody reads and a busy target, the plugin's memory stays
// bounded (< 300 MiB after 30 s), it still ends on SIGINT, and nothing is left.
func TestFaultReaderNeverReads(t *testing.T) {
	t.Parallel()
	faultCase(t, "stdout never read, busy target: plugin RSS < 300 MiB after 30 s, SIGINT still ends it, nothing left")
	f := newF(t)
	pod := f.createPod(podSpec{name: "web", labels: labels("app", "web"), node: suite.nodes[1]})
	f.traffic(pod, "web", openURL(webPort, page))
	r, w, err := os.Pipe() // never read; closed when the test ends
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(); _ = w.Close() })
	p := f.startRaw(w, "-n", f.ns, "-l", "app=web", "--agent-namespace", f.agents, "-o", "json")
	p.waitStderr(t, tracingStarted, firstEventTimeout)
	maxRSS := 0
	tick := time.NewTicker(time.Second) // sampling the memory, not waiting for a condition
	defer tick.Stop()
	for end := time.Now().Add(unreadFor); time.Now().Before(end); <-tick.C {
		maxRSS = max(maxRSS, rssBytes(p.cmd.Process.Pid))
	}
	t.Logf("plugin RSS peaked at %d MiB with its stdout never read for %s", maxRSS>>20, unreadFor)
	if maxRSS > unreadRSSLimit {
		t.Errorf("plugin RSS %d MiB with an unread stdout: memory is not bounded", maxRSS>>20)
	}
	p.stop(t)
	f.noSwollLeft(f.agents, "", goneTimeout)
}

// slowReader reads at a fixed rate, checking that every complete line is valid JSON.
type slowReader struct {
	mu    sync.Mutex
	lines int
	last  time.Time // when the last complete line arrived
	bad   []string
	buf   []byte
}

func (s *slowReader) run(r io.Reader, rate int) {
	const tick = 100 * time.Millisecond
	chunk := make([]byte, rate/int(time.Second/tick))
	t := time.NewTicker(tick)
	defer t.Stop()
	for range t.C {
		n, err := r.Read(chunk)
		s.mu.Lock()
		s.buf = append(s.buf, chunk[:n]...)
		for {
			i := bytes.IndexByte(s.buf, '\n')
			if i < 0 {
				break
			}
			var l event.Line
			if json.Unmarshal(s.buf[:i], &l) != nil && len(s.bad) < 5 {
				s.bad = append(s.bad, string(s.buf[:i]))
			}
			s.lines++
			s.last = time.Now()
			s.buf = s.buf[i+1:]
		}
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (s *slowReader) state() (lines int, last time.Time, bad []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines, s.last, append([]string(nil), s.bad...)
}

// TestFaultSlowReader: pass = with targets producing far more than 50 kB/s of events, read at 50 kB/s for 2
// minutes, the streams stay alive (lines keep arriving, every one valid JSON, no node said silent), the loss is
// counted on stderr, the plugin ends cleanly on SIGINT and nothing is left.
func TestFaultSlowReader(t *testing.T) {
	t.Parallel()
	faultCase(t, "busy targets, reader at 50 kB/s for 2 min: streams alive (no node silent), every line valid JSON, loss counted, clean end, nothing left")
	f := newF(t)
	// a tenth of a core each: thousands of events a second, far above what the reader takes, on a shared machine
	busy := shellContainer("busy", "while :; do cat /etc/hostname; done >/dev/null")
	busy.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	var specs []podSpec
	for i, node := range suite.nodes {
		specs = append(specs, podSpec{name: fmt.Sprintf("busy-%d", i), labels: labels("app", "busy"), node: node,
			containers: []corev1.Container{busy}})
	}
	f.createPods(specs...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(); _ = w.Close() })
	reader := &slowReader{}
	go reader.run(r, slowReaderRate)
	p := f.startRaw(w, "-n", f.ns, "-l", "app=busy", "--agent-namespace", f.agents, "-o", "json")
	p.waitStderr(t, tracingStarted, firstEventTimeout)
	span := slowReaderFor
	if v, err := time.ParseDuration(os.Getenv("SWOLL_E2E_SLOW_READER")); err == nil && v > 0 {
		span = v
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for end := time.Now().Add(span); time.Now().Before(end); {
		select {
		case <-p.done:
			t.Fatalf("the plugin exited (code %d) while read slowly\nstderr:\n%s", p.code, p.Stderr())
		case <-tick.C:
		}
		if _, last, _ := reader.state(); !last.IsZero() && time.Since(last) > aliveWithin {
			t.Fatalf("no line for %s: the streams stalled\nstderr:\n%s", time.Since(last).Round(time.Second), p.Stderr())
		}
	}
	lines, _, bad := reader.state()
	t.Logf("%d lines read at %d B/s over %s", lines, slowReaderRate, span)
	if lines == 0 {
		t.Errorf("no line read at all")
	}
	if len(bad) > 0 {
		t.Errorf("invalid JSON lines: %q", bad)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d after SIGINT, want 0\nstderr:\n%s", code, p.Stderr())
	}
	stderr := p.Stderr()
	if !lossReported.MatchString(stderr) {
		t.Errorf("no loss reported on stderr:\n%s", stderr)
	}
	if strings.Contains(stderr, "silent for") {
		t.Errorf("a node was said silent while only the reader was slow:\n%s", stderr)
	}
	t.Logf("stderr:\n%s", stderr)
	f.noSwollLeft(f.agents, "", goneTimeout)
}
