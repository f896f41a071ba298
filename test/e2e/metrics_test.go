//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/browsertest"
	"github.com/swoll-dev/swoll/internal/promtest"
	"github.com/swoll-dev/swoll/plugin/agentns"
	"github.com/swoll-dev/swoll/plugin/report/reporttest"
)

const (
	missingCalls = 1000
	presentCalls = 500
	// countTimeout bounds the client's 1500 requests and their counting on a busy two-core machine.
	countTimeout = 3 * time.Minute
)

// topRun is a `kubectl-swoll top -o json` process: its snapshot lines, summed per pod, syscall and errno.
type topRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	raw    strings.Builder
	stderr bytes.Buffer
	counts map[string]uint64 // pod/syscall/errno -> calls
	over   uint64
	snaps  int // snapshot lines read
	exited chan struct{}
	code   int
}

func (f *F) top(args ...string) *topRun {
	f.t.Helper()
	r := &topRun{t: f.t, counts: map[string]uint64{}, exited: make(chan struct{})}
	r.cmd = f.pluginCmd(context.Background(), append([]string{"top", "-o", "json"}, args...)...)
	r.cmd.Stderr = lockedWriter{&r.mu, &r.stderr}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.t.Logf("started kubectl-swoll top %s", strings.Join(args, " "))
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
		for sc.Scan() {
			var l event.Line
			r.mu.Lock()
			r.raw.WriteString(sc.Text() + "\n")
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Snapshot != nil {
				r.snaps++
				r.over += l.Snapshot.Overflow
				for _, c := range l.Snapshot.Rows {
					pod := ""
					if c.Container != nil {
						pod = c.Container.Pod
					}
					r.counts[pod+"/"+c.Syscall.Name+"/"+c.Error] += c.Calls
				}
			}
			r.mu.Unlock()
		}
		err := r.cmd.Wait()
		r.code = exitCode(err)
		close(r.exited)
	}()
	f.t.Cleanup(func() {
		select {
		case <-r.exited:
		default:
			_ = r.cmd.Process.Kill()
			<-r.exited
		}
		if f.t.Failed() {
			f.t.Logf("top stderr:\n%s", r.Stderr())
		}
	})
	return r
}

func (r *topRun) Stderr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

func (r *topRun) count(key string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[key]
}

func (r *topRun) snapshots() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snaps
}

func (r *topRun) waitStderr(s string, timeout time.Duration) {
	r.t.Helper()
	err := within(timeout, func(context.Context) (bool, error) {
		select {
		case <-r.exited:
			return false, fmt.Errorf("top exited (%d)", r.code)
		default:
		}
		return strings.Contains(r.Stderr(), s), nil
	}, "%q on top's stderr", s)
	if err != nil {
		r.t.Fatalf("%v\nstderr:\n%s", err, r.Stderr())
	}
}

func (r *topRun) stop() string {
	r.t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-r.exited:
	case <-time.After(exitTimeout):
		r.t.Fatalf("top did not exit after SIGINT\nstderr:\n%s", r.Stderr())
	}
	if r.code != 0 {
		r.t.Fatalf("top exited %d\nstderr:\n%s", r.code, r.Stderr())
	}
	return r.Stderr()
}

// countingPods: a webserver to count (app label) and a client pod on the same node that sends it requests.
func (f *F) countingPods(app string) (web, client *corev1.Pod) {
	pods := f.createPods(
		podSpec{name: "web", labels: map[string]string{"app": app}, node: suite.nodes[0]},
		podSpec{name: "client", node: suite.nodes[0], containers: []corev1.Container{shellContainer("sh", "sleep 3600")}},
	)
	return pods[0], pods[1]
}

// makeCalls has the client ask the webserver for missingCalls opens of a missing file and presentCalls of an
// existing one: each request is exactly one openat in the web container.
func (f *F) makeCalls(web, client *corev1.Pod) {
	f.t.Helper()
	base := fmt.Sprintf("http://%s:%d/open?path=", web.Status.PodIP, webPort)
	script := fmt.Sprintf(`for i in $(seq %d); do wget -q -O /dev/null '%s/nonexistent/x' 2>/dev/null; done
for i in $(seq %d); do wget -q -O /dev/null '%s/srv/index.html' || exit 1; done`, missingCalls, base, presentCalls, base)
	ctx, cancel := context.WithTimeout(context.Background(), countTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(suite.clusterBin, "kubectl"), "--kubeconfig", suite.kubeconfig,
		"exec", "-n", client.Namespace, client.Name, "--", "sh", "-c", script)
	if out, err := cmd.CombinedOutput(); err != nil {
		f.t.Fatalf("client requests: %v\n%s", err, out)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", u, resp.Status, b)
	}
	return string(b)
}

// TestCountingExact: a known number of calls with known results is counted exactly, in the agents' snapshots
// and at /metrics; promtool accepts the exposition (but for the seed's name); a real Prometheus scraping the
// session answers the seed's queries; the chart page and the report of the recording render in Chromium.
func TestCountingExact(t *testing.T) {
	t.Parallel()
	f := newF(t)
	app := uniqueName("count")
	web, client := f.countingPods(app)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	top := f.top("-n", f.ns, "-l", "app="+app, "-s", "openat", "--interval", "1s", "--metrics-addr", addr)
	top.waitStderr("tracing (Ctrl-C to stop)", firstEventTimeout)

	keyMissing, keyPresent := web.Name+"/openat/ENOENT", web.Name+"/openat/OK"
	// "agents ready" comes before the agents attached their targets: one warm-up open shows they did.
	err := within(firstEventTimeout, func(context.Context) (bool, error) {
		if top.count(keyPresent) > 0 {
			return true, nil
		}
		_ = kubectl("exec", "-n", client.Namespace, client.Name, "--", "wget", "-q", "-O", "/dev/null",
			fmt.Sprintf("http://%s:%d/open?path=/srv/index.html", web.Status.PodIP, webPort)).Run()
		return false, nil
	}, "a warm-up open counted")
	if err != nil {
		t.Fatal(err)
	}
	// Every warm-up request has returned: its open is in the kernel's counters, and in the snapshots once
	// the interval it fell in has ended and reached the plugin (three more merged snapshots cover that).
	seen := top.snapshots()
	if err := within(firstEventTimeout, func(context.Context) (bool, error) { return top.snapshots() >= seen+3, nil },
		"three more snapshots"); err != nil {
		t.Fatal(err)
	}
	warm := top.count(keyPresent)
	f.makeCalls(web, client)
	err = within(time.Minute, func(context.Context) (bool, error) {
		return top.count(keyMissing) >= missingCalls && top.count(keyPresent) >= warm+presentCalls, nil
	}, "the counts in top's snapshots")
	if err != nil {
		t.Fatalf("%v: ENOENT %d, OK %d", err, top.count(keyMissing), top.count(keyPresent))
	}
	if got := top.count(keyMissing); got != missingCalls {
		t.Errorf("snapshots count %d openat ENOENT, want exactly %d", got, missingCalls)
	}
	if got := top.count(keyPresent); got != warm+presentCalls {
		t.Errorf("snapshots count %d openat OK, want exactly %d (%d of them warm-up)", got, warm+presentCalls, warm)
	}

	body := get(t, "http://"+addr+"/metrics")
	for errno, want := range map[string]uint64{"ENOENT": missingCalls, "OK": warm + presentCalls} {
		line := fmt.Sprintf(`swoll_node_metrics_syscall_count{class="FileSystem",container="web",err="%s",group="Files",namespace="%s",pod="%s",syscall="sys_openat"} %d`,
			errno, f.ns, web.Name, want)
		if !strings.Contains(body, line+"\n") {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	promtest.CheckMetrics(t, body)

	checkPrometheus(t, addr, f.ns, web.Name, warm+presentCalls)

	artifacts := filepath.Join(suite.artifacts, "charts")
	page := browsertest.Open(t, "http://"+addr+"/metrics/charts", artifacts, "metrics-charts")
	reporttest.CheckDrawn(t, page.DOM, f.ns+"/"+web.Name, "openat", "ENOENT", "OK")

	stderr := top.stop()
	total := missingCalls + warm + presentCalls
	if !strings.Contains(stderr, "% time     seconds  usecs/call     calls    errors syscall") ||
		!strings.Contains(stderr, fmt.Sprintf("%d      %d openat", total, missingCalls)) {
		t.Errorf("no strace -c summary with %d calls and %d errors of openat:\n%s", total, missingCalls, stderr)
	}

	// The recording (top's stdout) charts offline.
	rec := filepath.Join(t.TempDir(), "top.jsonl")
	top.mu.Lock()
	err = os.WriteFile(rec, []byte(top.raw.String()), 0o644)
	top.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(t.TempDir(), "report.html")
	if r := f.run(time.Minute, "report", "-i", rec, "-o", html); r.code != 0 {
		t.Fatalf("report: %d\n%s", r.code, r.stderr)
	}
	page = browsertest.Open(t, "file://"+html, artifacts, "report")
	reporttest.CheckDrawn(t, page.DOM, f.ns+"/"+web.Name, "openat", "ENOENT")
	if r := f.run(time.Minute, "trace", "--replay", rec, "--summary"); r.code != 0 ||
		!strings.Contains(r.stderr, fmt.Sprintf("%d      %d openat", total, missingCalls)) {
		t.Errorf("trace --replay --summary: %d\n%s", r.code, r.stderr)
	}
	f.waitNoAgents(f.agents, time.Minute)
}

// checkPrometheus starts Debian's Prometheus on loopback, scraping the session every second, and asks it the
// seed's three queries.
func checkPrometheus(t *testing.T, target, ns, pod string, present uint64) {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus (Debian's package) is needed: %v", err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: swoll\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr)
	var (
		logMu sync.Mutex
		log   bytes.Buffer
	)
	cmd.Stdout, cmd.Stderr = lockedWriter{&logMu, &log}, lockedWriter{&logMu, &log}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	query := func(q string) ([]map[string]string, []string, error) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil, nil, err
		}
		defer func() { _ = resp.Body.Close() }()
		var r struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Data   struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Value  []any             `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return nil, nil, err
		}
		if r.Status != "success" {
			return nil, nil, fmt.Errorf("%s: %s", q, r.Error)
		}
		var labels []map[string]string
		var values []string
		for _, s := range r.Data.Result {
			labels = append(labels, s.Metric)
			values = append(values, fmt.Sprint(s.Value[1]))
		}
		return labels, values, nil
	}
	byErr := fmt.Sprintf(`sort_desc(sum(swoll_node_metrics_syscall_count{namespace=%q}) by (err))`, ns)
	var labels []map[string]string
	var values []string
	err = within(time.Minute, func(context.Context) (bool, error) {
		labels, values, err = query(byErr)
		return err == nil && len(values) == 2 && values[0] == fmt.Sprint(missingCalls) && values[1] == fmt.Sprint(present), nil
	}, "Prometheus to answer %s", byErr)
	if err != nil {
		logMu.Lock()
		defer logMu.Unlock()
		t.Fatalf("%v: got %v %v\nprometheus log:\n%s", err, labels, values, log.String())
	}
	if labels[0]["err"] != "ENOENT" || labels[1]["err"] != "OK" || len(labels[0]) != 1 {
		t.Errorf("%s: label sets %v", byErr, labels)
	}
	byPod := fmt.Sprintf(`sort_desc(sum(swoll_node_metrics_syscall_count{namespace=%q,syscall="sys_openat"}) by (namespace,pod))`, ns)
	labels, values, err = query(byPod)
	if err != nil || len(labels) != 1 || labels[0]["pod"] != pod || labels[0]["namespace"] != ns || values[0] != fmt.Sprint(missingCalls+present) {
		t.Errorf("%s: %v %v %v", byPod, labels, values, err)
	}
	// The seed's change of error rates against 5 minutes earlier: it must run as written (a session younger
	// than 10 minutes has no earlier rate, so no series is expected; any series has the seed's labels).
	ratio := `sort_desc(avg by (container, pod, namespace, syscall) (rate(swoll_node_metrics_syscall_count{err!="OK"}[5m] offset 5m)) / avg by (container, pod, namespace, syscall) (rate(swoll_node_metrics_syscall_count{err!="OK"}[5m])))`
	labels, _, err = query(ratio)
	if err != nil {
		t.Errorf("the seed's rate ratio query: %v", err)
	}
	for _, l := range labels {
		for _, k := range []string{"container", "pod", "namespace", "syscall"} {
			if l[k] == "" {
				t.Errorf("rate ratio series without %s: %v", k, l)
			}
		}
	}
}

// TestTopUnderTmux drives the live table in a real terminal: rows appear and change as the workload runs, keys
// filter and sort them, q or Ctrl-C restores the terminal, prints the summary, and no agent pod is left.
func TestTopUnderTmux(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is needed: %v", err)
	}
	for _, quit := range []string{"q", "C-c"} {
		t.Run(quit, func(t *testing.T) {
			t.Parallel()
			topUnderTmux(t, quit)
		})
	}
}

func topUnderTmux(t *testing.T, quitKey string) {
	f := newF(t)
	app := uniqueName("tui")
	web, _ := f.countingPods(app)
	name := uniqueName("swoll-top")
	script := fmt.Sprintf("KUBECONFIG=%s %s=%s PATH=%s:$PATH %s top --as=%s -n %s -l app=%s --interval 1s; echo TOP-EXIT=$?; sleep 600",
		suite.kubeconfig, agentns.EnvVar, f.agents, suite.clusterBin, suite.plugin, tracerUser, f.ns, app)
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", name, "-x", "200", "-y", "50", "sh", "-c", script)
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", name).Run() })
	screen := func() string { return tmux("capture-pane", "-p", "-t", name) }
	var last string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last screen:\n%s", last)
		}
	})
	waitScreen := func(what string, cond func(string) bool) string {
		t.Helper()
		err := within(firstEventTimeout, func(context.Context) (bool, error) {
			last = screen()
			return cond(last), nil
		}, "%s on the terminal", what)
		if err != nil {
			t.Fatalf("%v; screen:\n%s", err, last)
		}
		return last
	}
	row := f.ns + "/" + web.Name
	tr := f.traffic(web, "web", openURL(webPort, "/srv/index.html"))
	first := waitScreen("the web pod's openat row", func(s string) bool {
		return strings.Contains(s, "CALLS/S") && strings.Contains(s, row) && strings.Contains(s, "openat")
	})
	tr.waitRequests()
	waitScreen("the table to change", func(s string) bool { return strings.Contains(s, row) && tableOf(s) != tableOf(first) })

	// Keys: / types a filter (only openat rows stay), n sorts by name.
	tmux("send-keys", "-t", name, "/")
	tmux("send-keys", "-t", name, "-l", "openat")
	tmux("send-keys", "-t", name, "Enter")
	waitScreen("only openat rows", func(s string) bool {
		rows := tableRows(s)
		for _, r := range rows {
			if !strings.Contains(r, "openat") {
				return false
			}
		}
		return len(rows) > 0 && strings.Contains(s, `filter "openat"`)
	})
	tmux("send-keys", "-t", name, "n")
	waitScreen("sorted by name", func(s string) bool { return strings.Contains(s, "sort: name") })

	tmux("send-keys", "-t", name, quitKey)
	waitScreen("top to exit", func(s string) bool { return strings.Contains(s, "TOP-EXIT=") })
	// The summary is longer than the screen: read the scrollback too (the table lived on the alternate screen,
	// which leaves no scrollback).
	final := tmux("capture-pane", "-p", "-S", "-", "-t", name)
	if !strings.Contains(final, "TOP-EXIT=0") || !strings.Contains(final, "% time") || strings.Contains(final, "CALLS/S") {
		t.Errorf("after %s: want the terminal restored, the summary and exit status 0; screen and scrollback:\n%s", quitKey, final)
	}
	if alt := strings.TrimSpace(tmux("display-message", "-p", "-t", name, "#{alternate_on} #{cursor_flag}")); alt != "0 1" {
		t.Errorf("after %s: alternate screen and cursor flags %q, want the normal screen and a visible cursor (0 1)", quitKey, alt)
	}
	f.waitNoAgents(f.agents, time.Minute)
}

// tableRows are the table's row lines on a screen.
func tableRows(screen string) []string {
	var rows []string
	for _, l := range strings.Split(tableOf(screen), "\n")[1:] {
		if f := strings.Fields(l); len(f) < 3 || !strings.Contains(f[0], "/") {
			break
		}
		rows = append(rows, l)
	}
	return rows
}

// tableOf is the table part of a screen (its first line holds the clock).
func tableOf(screen string) string {
	if i := strings.Index(screen, "NAMESPACE/POD"); i >= 0 {
		return screen[i:]
	}
	return ""
}

// TestCountingOverflowBounded: a container making calls flat out, counted with a tiny counter table, keeps the
// agent's memory bounded and the overflow is reported, not dropped silently.
func TestCountingOverflowBounded(t *testing.T) {
	t.Parallel()
	f := newF(t)
	app := uniqueName("flat")
	f.createPod(podSpec{name: "busy", labels: map[string]string{"app": app}, node: suite.nodes[1],
		containers: []corev1.Container{shellContainer("sh", "while :; do ls /nonexistent /tmp >/dev/null 2>&1; cat /nope 2>/dev/null; done")}})
	top := f.top("-n", f.ns, "-l", "app="+app, "--interval", "1s", "--count-entries", "8")
	top.waitStderr("tracing (Ctrl-C to stop)", firstEventTimeout)
	top.waitStderr("calls not counted", countTimeout)
	var peak int
	for i := 0; i < 5; i++ {
		peak = max(peak, agentRSSKiB(t))
		time.Sleep(time.Second)
	}
	stderr := top.stop()
	top.mu.Lock()
	over := top.over
	top.mu.Unlock()
	if over == 0 {
		t.Errorf("no overflow in top's snapshots")
	}
	if !strings.Contains(stderr, "calls not counted (counter table full)") {
		t.Errorf("the summary does not warn of the overflow:\n%s", stderr)
	}
	if peak == 0 || peak > 128<<10 {
		t.Errorf("agent RSS %d KiB: want bounded (<= 128 MiB)", peak)
	}
	t.Logf("overflow %d calls; agent peak RSS %d KiB", over, peak)
	f.waitNoAgents(f.agents, time.Minute)
}

// agentRSSKiB is the largest resident set of the swoll-agent session processes on this machine.
func agentRSSKiB(t *testing.T) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	best := 0
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), "swoll-agent\x00session") {
			continue
		}
		status, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		for _, l := range strings.Split(string(status), "\n") {
			var kb int
			if _, err := fmt.Sscanf(l, "VmRSS: %d kB", &kb); err == nil {
				best = max(best, kb)
			}
		}
	}
	return best
}

// TestSummaryFlagsReplica: two replicas of one workload on the two nodes, one of them failing every open; the
// summary at the end of top merges both nodes' counts and flags that replica.
func TestSummaryFlagsReplica(t *testing.T) {
	t.Parallel()
	f := newF(t)
	app := uniqueName("replicas")
	const n = 60
	labels := map[string]string{"app": app}
	sleeper := []corev1.Container{shellContainer("sh", "sleep 3600")}
	// The nodes' pod networks are apart: each replica has a client on its node.
	pods := f.createPods(
		podSpec{name: "web-0", labels: labels, node: suite.nodes[0]},
		podSpec{name: "web-1", labels: labels, node: suite.nodes[1]},
		podSpec{name: "client-0", node: suite.nodes[0], containers: sleeper},
		podSpec{name: "client-1", node: suite.nodes[1], containers: sleeper},
	)
	top := f.top("-n", f.ns, "-l", "app="+app, "-s", "openat", "--interval", "1s")
	top.waitStderr("tracing (Ctrl-C to stop)", firstEventTimeout)
	request := func(client, web *corev1.Pod, path string) {
		_ = kubectl("exec", "-n", f.ns, client.Name, "--", "wget", "-q", "-O", "/dev/null",
			fmt.Sprintf("http://%s:%d/open?path=%s", web.Status.PodIP, webPort, path)).Run()
	}
	// Both agents count (a warm-up open of each replica shows up), then n opens per replica, web-0's failing.
	err := within(firstEventTimeout, func(context.Context) (bool, error) {
		if top.count("web-0/openat/OK") > 0 && top.count("web-1/openat/OK") > 0 {
			return true, nil
		}
		request(pods[2], pods[0], "/srv/index.html")
		request(pods[3], pods[1], "/srv/index.html")
		return false, nil
	}, "a warm-up open of each replica counted")
	if err != nil {
		t.Fatal(err)
	}
	script := func(web *corev1.Pod, path string) string {
		return fmt.Sprintf(`for i in $(seq %d); do wget -q -O /dev/null 'http://%s:%d/open?path=%s' 2>/dev/null; done; true`,
			n, web.Status.PodIP, webPort, path)
	}
	for i, path := range []string{"/nonexistent/x", "/srv/index.html"} {
		if out, err := kubectl("exec", "-n", f.ns, pods[2+i].Name, "--", "sh", "-c", script(pods[i], path)).CombinedOutput(); err != nil {
			t.Fatalf("requests to %s: %v\n%s", pods[i].Name, err, out)
		}
	}
	err = within(time.Minute, func(context.Context) (bool, error) {
		return top.count("web-0/openat/ENOENT") >= n && top.count("web-1/openat/OK") >= n, nil
	}, "the replicas' opens in top's snapshots")
	if err != nil {
		t.Fatal(err)
	}
	stderr := top.stop()
	want := fmt.Sprintf("%s/web-0 (web): %d of the %d openat ENOENT errors of the 2 replicas of web (100%%)", f.ns, n, n)
	if !strings.Contains(stderr, "(merged across 2 pods)") || !strings.Contains(stderr, "replicas that stand out:") ||
		!strings.Contains(stderr, want) {
		t.Errorf("the summary does not flag web-0 (want %q):\n%s", want, stderr)
	}
	if strings.Contains(stderr, f.ns+"/web-1 (web):") {
		t.Errorf("the summary flags web-1:\n%s", stderr)
	}
	f.waitNoAgents(f.agents, time.Minute)
}
