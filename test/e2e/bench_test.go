//go:build e2e && e2ebench

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// loopImage runs test/workloads/syscall-loop (built and loaded by hack/e2e/bench.sh).
const loopImage = "localhost/swoll-e2e/syscall-loop:v1"

// loopPod runs the loop at rate calls/s (0: flat out), one call in failEvery failing (0: none).
func loopPod(name string, rate int, node string, failEvery int) podSpec {
	var args []string
	if rate > 0 || failEvery > 0 {
		args = []string{strconv.Itoa(rate)}
	}
	if failEvery > 0 {
		args = append(args, strconv.Itoa(failEvery))
	}
	return podSpec{name: name, labels: labels("app", name), node: node, containers: []corev1.Container{{
		Name: "loop", Image: loopImage, ImagePullPolicy: corev1.PullNever, Args: args}}}
}

// benchRun is what one plugin run delivered on stdout, counted without decoding (the bench must not be the
// bottleneck it measures).
type benchRun struct {
	firstAfter  time.Duration // command start to first event line
	events      int
	first, last time.Time
	stderr      string
	code        int
}

func (r benchRun) rate() float64 {
	if r.events < 2 {
		return 0
	}
	return float64(r.events-1) / r.last.Sub(r.first).Seconds()
}

// countTrace runs `kubectl-swoll trace ARGS -o json`; with untilFirst it stops the session (SIGINT) at the first
// event, else it lets --duration end it.
func countTrace(f *F, untilFirst bool, args ...string) benchRun {
	f.t.Helper()
	args = append(append([]string{"trace"}, args...), "-o", "json")
	cmd := f.pluginCmd(context.Background(), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	var r benchRun
	br := bufio.NewReaderSize(stdout, 1<<20)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 && line[0] == '{' {
			now := time.Now()
			if r.events == 0 {
				r.first, r.firstAfter = now, now.Sub(start)
				if untilFirst {
					_ = cmd.Process.Signal(syscall.SIGINT)
				}
			}
			r.events++
			r.last = now
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			break
		}
	}
	_, _ = io.Copy(io.Discard, br)
	r.code = exitCode(cmd.Wait())
	r.stderr = stderr.String()
	if r.events == 0 {
		f.t.Fatalf("kubectl-swoll %s: no event (exit %d)\nstderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// summaryRe matches the plugin's closing per-node line: "swoll:   NODE: N events, M lost[, K filtered out]".
var summaryRe = regexp.MustCompile(`(?m)^swoll:\s+\S+: (\d+) events, (\d+) lost(?:, (\d+) filtered out)?\s*$`)

// summary sums the plugin's closing per-node counts: what the agents wrote and what the kernel dropped.
func summary(stderr string) (events, lost int64, ok bool) {
	events, lost, _, ok = summaryFiltered(stderr)
	return events, lost, ok
}

// summaryFiltered is summary with the calls the incident filters left out.
func summaryFiltered(stderr string) (events, lost, filtered int64, ok bool) {
	for _, m := range summaryRe.FindAllStringSubmatch(stderr, -1) {
		e, _ := strconv.ParseInt(m[1], 10, 64)
		l, _ := strconv.ParseInt(m[2], 10, 64)
		fl, _ := strconv.ParseInt(m[3], 10, 64)
		events, lost, filtered, ok = events+e, lost+l, filtered+fl, true
	}
	return events, lost, filtered, ok
}

// loopRate is the workload's own calls/s between from and to, from its log ("calls TOTAL" once a second).
func (f *F) loopRate(pod *corev1.Pod, from, to time.Time) float64 {
	f.t.Helper()
	b, err := suite.cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Timestamps: true}).DoRaw(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	var t0, t1 time.Time
	var n0, n1 float64
	for _, l := range strings.Split(string(b), "\n") {
		ts, rest, _ := strings.Cut(l, " ")
		v, ok := strings.CutPrefix(rest, "calls ")
		at, err := time.Parse(time.RFC3339Nano, ts)
		if !ok || err != nil || at.Before(from) || at.After(to) {
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		if t0.IsZero() {
			t0, n0 = at, n
		}
		t1, n1 = at, n
	}
	if !t1.After(t0) {
		return 0
	}
	return (n1 - n0) / t1.Sub(t0).Seconds()
}

// TestBenchE2E measures, through the real plugin and cluster, the time from command start to the first event
// and the event rate reaching the plugin's stdout from one node, and prints a table (hack/e2e/bench.sh).
func TestBenchE2E(t *testing.T) {
	f := newF(t)
	node := suite.nodes[0]
	common := func(app string) []string {
		return []string{"-n", f.ns, "-l", "app=" + app, "-s", "getppid", "--agent-namespace", f.agents}
	}

	// 1. Time to first event: a workload calling getppid 1000 times a second; a fresh agent pod each time.
	slow := f.createPod(loopPod("slow", 1000, node, 0))
	var ttfe []time.Duration
	for range 3 {
		r := countTrace(f, true, common("slow")...)
		ttfe = append(ttfe, r.firstAfter)
		f.waitNoAgents(f.agents, time.Minute)
	}
	sort.Slice(ttfe, func(i, j int) bool { return ttfe[i] < ttfe[j] })
	f.deletePod(slow)

	// 2. Throughput: paced at 100k and 200k calls/s, then as fast as one thread goes.
	const traceFor = 15 * time.Second
	type rateRow struct {
		name          string
		run           benchRun
		workload      float64
		written, lost int64
		summarized    bool
	}
	var rows []rateRow
	for _, tc := range []struct {
		name string
		rate int
	}{{"paced-100k", 100000}, {"paced-200k", 200000}, {"unpaced", 0}} {
		pod := f.createPod(loopPod(tc.name, tc.rate, node, 0))
		r := countTrace(f, false, append(common(tc.name), "--duration", traceFor.String())...)
		written, lost, ok := summary(r.stderr)
		rows = append(rows, rateRow{name: tc.name, run: r, workload: f.loopRate(pod, r.first, r.last),
			written: written, lost: lost, summarized: ok})
		f.waitNoAgents(f.agents, time.Minute)
		f.deletePod(pod)
	}

	// 3. --failed at 500k calls/s, one call in 100 failing (close(-1)): the other 99 are dropped in the kernel
	// before any record is reserved, so nothing may be lost.
	failing := f.createPod(loopPod("failing", 500000, node, 100))
	fr := countTrace(f, false, "-n", f.ns, "-l", "app=failing", "-s", "getppid,close", "--failed",
		"--agent-namespace", f.agents, "--duration", traceFor.String())
	fWritten, fLost, fFiltered, fOK := summaryFiltered(fr.stderr)
	fWorkload := f.loopRate(failing, fr.first, fr.last)
	f.waitNoAgents(f.agents, time.Minute)
	f.deletePod(failing)

	var b strings.Builder
	fmt.Fprintf(&b, "\nswoll end-to-end benchmark (one node, %s, plugin %s)\n", node, suite.plugin)
	fmt.Fprintf(&b, "| measure | value | target |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| time to first event (3 runs: min / median / max) | %.2f s / %.2f s / %.2f s | <= 3 s: %s |\n",
		ttfe[0].Seconds(), ttfe[1].Seconds(), ttfe[2].Seconds(), verdict(ttfe[1] <= 3*time.Second))
	for _, row := range rows {
		// No silent loss: every event the agents wrote reached stdout, and what the kernel dropped was reported.
		silent := "unknown (no summary on stderr)"
		if row.summarized {
			silent = fmt.Sprintf("%d written by the agent, %d on stdout, %d reported lost", row.written, row.run.events, row.lost)
		}
		fmt.Fprintf(&b, "| events/s at stdout, getppid loop %s (workload %.0f calls/s while traced) | %.0f/s; %s | >= 100k/s: %s; no silent loss: %s |\n",
			row.name, row.workload, row.run.rate(), silent, verdict(row.run.rate() >= 100000),
			verdict(row.summarized && row.written == int64(row.run.events)))
	}
	kept := 0.0
	if fWritten+fFiltered > 0 {
		kept = 100 * float64(fWritten) / float64(fWritten+fFiltered)
	}
	fmt.Fprintf(&b, "| --failed, loop paced at 500k calls/s, 1 in 100 failing (workload %.0f calls/s while traced) | %d events (%.2f%% of the calls), %d filtered out in the kernel, %d lost, %d on stdout | 0 lost: %s |\n",
		fWorkload, fWritten, kept, fFiltered, fLost, fr.events, verdict(fOK && fLost == 0 && fWritten == int64(fr.events) && fFiltered > 0))
	rows = append(rows, rateRow{name: "failed-500k", run: fr})
	for _, row := range rows {
		fmt.Fprintf(&b, "\nplugin's closing lines (%s):\n", row.name)
		for _, l := range strings.Split(row.run.stderr, "\n") {
			if strings.Contains(l, " ended ") || summaryRe.MatchString(l) {
				fmt.Fprintln(&b, l)
			}
		}
	}
	fmt.Print(b.String())
	_ = os.WriteFile(filepath.Join(suite.root, "_output", "bench-e2e.txt"), []byte(b.String()), 0o644)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
