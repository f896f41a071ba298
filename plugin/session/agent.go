package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/stream"
	"github.com/swoll-dev/swoll/protocol"
)

// agent is the session's side of one node agent: its pod, its control channel and its event stream.
type agent struct {
	s    *Session
	id   int // stream id in the merger
	node string
	pod  *corev1.Pod

	podUpdates chan *corev1.Pod
	phrases    chan string
	stopCh     chan struct{}
	stopOnce   sync.Once
	done       chan struct{}

	mu      sync.Mutex
	queue   []protocol.Command
	wake    chan struct{}
	ready   bool
	failure string // why the agent failed, "" if it did not
	exit    *event.Notice
	lost    uint64
	bad     int
	phrase  string
	started time.Time
}

func (s *Session) newAgent(node string, pod *corev1.Pod, start *protocol.Start) *agent {
	a := &agent{
		s:          s,
		node:       node,
		pod:        pod,
		podUpdates: make(chan *corev1.Pod, 1),
		phrases:    make(chan string, 8),
		stopCh:     make(chan struct{}),
		done:       make(chan struct{}),
		wake:       make(chan struct{}, 1),
		started:    time.Now(),
	}
	a.enqueue(protocol.Command{Op: protocol.OpStart, Start: start})
	return a
}

// enqueue adds a command for the agent; commands wait until the exec is connected.
func (a *agent) enqueue(c protocol.Command) {
	a.mu.Lock()
	a.queue = append(a.queue, c)
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *agent) stop() { a.stopOnce.Do(func() { close(a.stopCh) }) }

func (a *agent) stopped() bool {
	select {
	case <-a.stopCh:
		return true
	default:
		return false
	}
}

// deliverPod hands the newest pod status to the agent's goroutine, replacing an unread older one.
func (a *agent) deliverPod(p *corev1.Pod) {
	for {
		select {
		case a.podUpdates <- p:
			return
		default:
		}
		select {
		case <-a.podUpdates:
		default:
		}
	}
}

func (a *agent) deliverPhrase(p string) {
	select {
	case a.phrases <- p:
	default:
	}
}

func (a *agent) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	a.mu.Lock()
	a.failure = msg
	a.mu.Unlock()
	a.s.log.printf("%s: %s", a.node, msg)
}

// run creates the pod, waits until it runs, and streams until the agent ends.
func (a *agent) run(ctx context.Context) {
	defer func() {
		close(a.done)
		a.s.agentFinished()
	}()
	a.s.mu.Lock()
	why := a.s.nodes[a.node].NotReady
	a.s.mu.Unlock()
	if why != "" {
		// a pod bound to a node that is down would only wait for --agent-timeout
		a.fail("%s; its containers are not traced", why)
		return
	}
	if err := a.create(ctx); err != nil {
		a.fail("%v", err)
		return
	}
	if !a.waitRunning() {
		return
	}
	a.stream()
}

func (a *agent) create(ctx context.Context) error {
	a.s.markCreated(a.pod.Name)
	_, err := a.s.cfg.Client.CoreV1().Pods(a.pod.Namespace).Create(ctx, a.pod, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating agent pod %s: %s", a.pod.Name, apiMessage(err))
	}
	a.setPhrase("pod created")
	return nil
}

// routinePhrases are the steps of a start that goes well: shown only when the start is slow, so that a
// normal session prints one line per agent rather than eight.
var routinePhrases = map[string]bool{
	"pod created": true, "pod pending": true, "creating container": true, "image pulled": true,
	"container created": true, "container started": true, "attaching": true, "running": true,
}

const quietStart = time.Second

func (a *agent) setPhrase(p string) {
	if p == "" {
		return
	}
	a.mu.Lock()
	changed := p != a.phrase
	a.phrase = p
	a.mu.Unlock()
	if changed && (!routinePhrases[p] || time.Since(a.started) >= quietStart) {
		a.s.progress(a, p)
	}
}

// waitRunning follows the pod's status (pushed by the session's watch) until the container runs.
func (a *agent) waitRunning() bool {
	timeout := time.NewTimer(a.s.cfg.AgentTimeout)
	defer timeout.Stop()
	for {
		select {
		case pod := <-a.podUpdates:
			st := interpretPod(pod)
			if st.Running {
				return true
			}
			if st.Fatal != "" {
				msg := st.Fatal
				if st.Terminated && !strings.Contains(msg, ": ") {
					if l := a.s.lastLogLine(pod); l != "" {
						msg += ": " + l
					}
				}
				a.fail("agent pod %s cannot run: %s", pod.Name, msg)
				return false
			}
			a.setPhrase(st.Phrase)
		case p := <-a.phrases:
			a.setPhrase(p)
		case <-timeout.C:
			a.mu.Lock()
			last := a.phrase
			a.mu.Unlock()
			a.fail("agent pod %s not running after %s (last state: %s); see kubectl describe pod -n %s %s",
				a.pod.Name, a.s.cfg.AgentTimeout, last, a.pod.Namespace, a.pod.Name)
			return false
		case <-a.stopCh:
			return false
		}
	}
}

// stream execs `swoll-agent session` in the pod and pumps its output until it ends.
func (a *agent) stream() {
	a.setPhrase("attaching")
	exec, err := a.s.executor(a.pod)
	if err != nil {
		a.fail("preparing exec into %s: %v", a.pod.Name, err)
		return
	}
	stdinR, stdinW := io.Pipe()
	stdoutR, stdoutW := io.Pipe()
	stderr := newPrefixWriter(a.s.log, "swoll-agent["+a.node+"]: ")
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		a.writeCommands(stdinW)
	}()
	a.s.batches <- stream.Batch{Stream: a.id} // registers the stream with the merger
	pumpDone := make(chan error, 1)
	go func() { pumpDone <- stream.Pump(stdoutR, a.id, a.s.batches, a) }()

	err = exec.StreamWithContext(a.s.execCtx, remotecommand.StreamOptions{
		Stdin: stdinR, Stdout: stdoutW, Stderr: stderr,
	})
	_ = stdoutW.Close()
	_ = stderr.Close()
	_ = stdinW.Close() // ends the executor's stdin copy cleanly (EOF) and unblocks a command write in flight
	perr := <-pumpDone
	<-writerDone
	if a.stopped() {
		return
	}
	a.mu.Lock()
	exited := a.exit != nil
	failed := a.failure != ""
	a.mu.Unlock()
	if !exited {
		if why := a.podEndReason(); why != "" {
			a.fail("%s", why)
			return
		}
	}
	switch {
	case err != nil:
		a.fail("the agent's session ended: %s", describeExecError(err))
	case perr != nil:
		a.fail("reading the agent's output: %v", perr)
	case !exited && !failed:
		a.fail("the agent's session ended without saying why")
	}
}

// podEndReason explains an agent pod that ended under the session: killed for its activeDeadlineSeconds, or
// deleted by someone else (`kubectl swoll cleanup`, a namespace deletion). "" when the pod says nothing.
func (a *agent) podEndReason() string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for {
		p, err := a.s.cfg.Client.CoreV1().Pods(a.pod.Namespace).Get(ctx, a.pod.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return fmt.Sprintf("the agent pod %s was deleted by another client (kubectl swoll cleanup?)", a.pod.Name)
		case err != nil:
			return ""
		case p.Status.Reason == "DeadlineExceeded":
			return fmt.Sprintf("the agent pod reached its deadline (activeDeadlineSeconds %d); use a larger --agent-deadline for longer sessions",
				*a.pod.Spec.ActiveDeadlineSeconds)
		case p.DeletionTimestamp != nil:
			return fmt.Sprintf("the agent pod %s was deleted by another client (kubectl swoll cleanup?)", a.pod.Name)
		case p.Status.Phase != corev1.PodRunning:
			return ""
		}
		// the status may lag the end of the stream by a moment
		select {
		case <-ctx.Done():
			return ""
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func describeExecError(err error) string {
	var exitErr utilexec.ExitError
	if errors.As(err, &exitErr) && exitErr.Exited() {
		return fmt.Sprintf("swoll-agent exited with code %d", exitErr.ExitStatus())
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the connection to the agent closed"
	}
	return err.Error()
}

// writeCommands writes queued commands to the agent's stdin and pings it every heartbeat interval. On stop it
// sends OpStop and closes stdin: both tell the agent to detach and exit.
func (a *agent) writeCommands(w *io.PipeWriter) {
	defer func() { _ = w.Close() }()
	ping := time.NewTicker(protocol.HeartbeatInterval)
	defer ping.Stop()
	var buf []byte
	write := func(cmds []protocol.Command) bool {
		buf = buf[:0]
		for i := range cmds {
			b, err := json.Marshal(&cmds[i])
			if err != nil {
				continue
			}
			buf = append(append(buf, b...), '\n')
		}
		_, err := w.Write(buf)
		return err == nil
	}
	for {
		a.mu.Lock()
		cmds := a.queue
		a.queue = nil
		a.mu.Unlock()
		if len(cmds) > 0 && !write(cmds) {
			return
		}
		select {
		case <-a.wake:
		case <-ping.C:
			if !write([]protocol.Command{{Op: protocol.OpPing}}) {
				return
			}
		case <-a.stopCh:
			a.mu.Lock()
			cmds := append(a.queue, protocol.Command{Op: protocol.OpStop})
			a.queue = nil
			a.mu.Unlock()
			write(cmds)
			return
		}
	}
}

// Notice implements stream.Handler.
func (a *agent) Notice(n *event.Notice) {
	s := a.s
	switch n.Kind {
	case event.NoticeReady:
		a.mu.Lock()
		a.ready = true
		a.mu.Unlock()
		s.agentReady(a)
	case event.NoticeTargetAttached:
		// the initial targets were announced in the session's first line; later ones are news
		if s.isReady() && !s.isInitial(n.ContainerID) {
			s.log.printf("%s: tracing %s", a.node, s.targetName(n.ContainerID))
		}
	case event.NoticeTargetDetached:
		if s.isReady() && !a.stopped() {
			msg := ""
			if n.Message != "" {
				msg = " (" + n.Message + ")"
			}
			s.log.printf("%s: no longer tracing %s%s", a.node, s.targetName(n.ContainerID), msg)
		}
	case event.NoticeTargetError:
		s.log.printf("%s: cannot trace %s: %s", a.node, s.targetName(n.ContainerID), n.Message)
	case event.NoticeLost:
		a.mu.Lock()
		a.lost = n.LostTotal
		a.mu.Unlock()
		s.log.printf("%s: %d events lost in the kernel (total %d)", a.node, n.Lost, n.LostTotal)
	case event.NoticeError:
		a.fail("agent error: %s", n.Message)
	case event.NoticeExit:
		a.mu.Lock()
		a.exit = n
		if n.LostTotal > a.lost {
			a.lost = n.LostTotal
		}
		a.mu.Unlock()
	}
}

// Malformed implements stream.Handler: shown, never silently dropped (a few times, then counted).
func (a *agent) Malformed(line []byte, err error) {
	a.mu.Lock()
	a.bad++
	n := a.bad
	a.mu.Unlock()
	if n <= 3 {
		a.s.log.printf("%s: ignoring a malformed line from the agent (%v): %.200s", a.node, err, line)
	}
}

// executor prefers the websocket exec protocol and falls back to SPDY for servers that do not speak it.
func (s *Session) executor(pod *corev1.Pod) (remotecommand.Executor, error) {
	req := s.cfg.StreamClient.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: agentpod.ContainerName,
			Command:   []string{agentpod.AgentBinary, "session"},
			Stdin:     true,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec)
	return newExecutor(s.cfg.REST, req.URL())
}

func newExecutor(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
	spdy, err := remotecommand.NewSPDYExecutor(cfg, "POST", u)
	if err != nil {
		return nil, err
	}
	ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
	if err != nil {
		return spdy, nil
	}
	return remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
}
