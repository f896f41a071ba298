// Package agent is the plugin's end of one node agent's connection: it runs `swoll-agent session` in the
// agent's pod (package transport), writes the commands it is given to the agent's stdin (a heartbeat between
// them; on Stop, OpStop and the end of stdin, which both tell the agent to detach and exit), and pumps the
// agent's stdout into the merge loop's batches (package stream), handing every notice to its caller as it comes.
// What the notices mean for the agent is the caller's to decide (package fleet owns every agent's state).
//
// Run is called once, from a goroutine of its own; it calls Config.Notice from the goroutine that reads the
// agent's output, in stream order. Send and Stop are safe for concurrent use while Run runs.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	utilexec "k8s.io/client-go/util/exec"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/stream"
	"github.com/swoll-dev/swoll/plugin/transport"
	"github.com/swoll-dev/swoll/plugin/userlog"
	"github.com/swoll-dev/swoll/protocol"
)

// maxShownMalformed malformed lines of an agent are shown; later ones are only counted.
const maxShownMalformed = 3

// Config is what one connection needs.
type Config struct {
	// ID is the agent's stream in the merge loop.
	ID        int
	Node      string
	Namespace string
	Transport transport.Transport
	// Batches is the merge loop's input.
	Batches chan<- stream.Batch
	Log     *userlog.Logger
	// Notice receives every notice the agent writes, after the events before it went to Batches.
	Notice func(*event.Notice)
}

// Conn is the connection to one node agent.
type Conn struct {
	cfg     Config
	stop    chan struct{}
	stopped sync.Once
	wake    chan struct{}

	// mu guards the mailbox of commands not written yet (Send's side and the writer's).
	mu    sync.Mutex
	queue []protocol.Command

	malformed int // the reading goroutine's
}

// New prepares a connection; Run opens it.
func New(cfg Config) *Conn {
	return &Conn{cfg: cfg, stop: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// Send queues commands for the agent; they are written in order once the stream is up. Never blocks.
func (c *Conn) Send(cmds ...protocol.Command) {
	c.mu.Lock()
	c.queue = append(c.queue, cmds...)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Stop asks the agent to detach and exit: what is queued, then OpStop, then the end of its stdin.
func (c *Conn) Stop() { c.stopped.Do(func() { close(c.stop) }) }

func (c *Conn) take() []protocol.Command {
	c.mu.Lock()
	defer c.mu.Unlock()
	cmds := c.queue
	c.queue = nil
	return cmds
}

// End is how a stream ended.
type End struct {
	// Pod is the pod exec'd into.
	Pod string
	// Setup: the exec could not even be prepared (a bad request; nothing reached the agent).
	Setup error
	// Exec is the exec's own error (the connection broke, the agent exited non-zero); Read the output's.
	Exec, Read error
}

// Failure says why a stream that nobody asked to end failed; said tells whether the agent said goodbye (its
// exit notice) or a failure was told already. "" when the end is no failure.
func (e End) Failure(said bool) string {
	switch {
	case e.Setup != nil:
		return fmt.Sprintf("preparing exec into %s: %v", e.Pod, e.Setup)
	case e.Exec != nil:
		return "the agent's session ended: " + describe(e.Exec)
	case e.Read != nil:
		return fmt.Sprintf("reading the agent's output: %v", e.Read)
	case !said:
		return "the agent's session ended without saying why"
	}
	return ""
}

// Run runs `swoll-agent session` in pod and pumps its output until it ends. ctx carries the connection:
// cancelling it cuts the stream (the teardown's last resort after Stop).
func (c *Conn) Run(ctx context.Context, pod string) End {
	stdinR, stdinW := io.Pipe()
	stdoutR, stdoutW := io.Pipe()
	stderr := userlog.NewPrefixWriter(c.cfg.Log, "swoll-agent["+c.cfg.Node+"]: ")
	writerDone, execDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeCommands(stdinW, execDone)
	}()
	c.cfg.Batches <- stream.Batch{Stream: c.cfg.ID} // registers the stream with the merger
	pumpDone := make(chan error, 1)
	go func() { pumpDone <- stream.Pump(stdoutR, c.cfg.ID, c.cfg.Batches, c) }()

	err := c.cfg.Transport.Exec(ctx, transport.Request{
		Namespace: c.cfg.Namespace, Pod: pod, Container: agentpod.ContainerName,
		Command: []string{agentpod.AgentBinary, "session"},
	}, transport.Stdio{Stdin: stdinR, Stdout: stdoutW, Stderr: stderr})
	close(execDone)
	_ = stdoutW.Close()
	_ = stderr.Close()
	_ = stdinW.Close() // ends the transport's stdin copy cleanly (EOF) and unblocks a command write in flight
	end := End{Pod: pod, Read: <-pumpDone}
	<-writerDone
	if setup := (*transport.SetupError)(nil); errors.As(err, &setup) {
		end.Setup = setup.Err
	} else {
		end.Exec = err
	}
	return end
}

// describe says in a few words why a stream ended: the agent's exit code, a closed connection, or the error.
func describe(err error) string {
	var exitErr utilexec.ExitError
	if errors.As(err, &exitErr) && exitErr.Exited() {
		return fmt.Sprintf("swoll-agent exited with code %d", exitErr.ExitStatus())
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the connection to the agent closed"
	}
	return err.Error()
}

// writeCommands writes queued commands to the agent's stdin and pings it every heartbeat interval, until the
// exec returned (done). On stop it sends what is queued and OpStop, and closes stdin.
func (c *Conn) writeCommands(w *io.PipeWriter, done <-chan struct{}) {
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
		if cmds := c.take(); len(cmds) > 0 && !write(cmds) {
			return
		}
		select {
		case <-done:
			return
		case <-c.wake:
		case <-ping.C:
			if !write([]protocol.Command{{Op: protocol.OpPing}}) {
				return
			}
		case <-c.stop:
			write(append(c.take(), protocol.Command{Op: protocol.OpStop}))
			return
		}
	}
}

// Notice implements stream.Handler.
func (c *Conn) Notice(n *event.Notice) { c.cfg.Notice(n) }

// Snapshot implements stream.Handler: a counting agent's counts go to the sink; what its counter table had no
// room for is said at once.
func (c *Conn) Snapshot(snap *event.Snapshot) {
	if snap.Overflow > 0 {
		c.cfg.Log.Printf("%s: %d calls not counted in the last interval: the agent's counter table is full (total %d)",
			c.cfg.Node, snap.Overflow, snap.OverflowTotal)
	}
}

// Malformed implements stream.Handler: shown, never silently dropped (a few times, then counted).
func (c *Conn) Malformed(line []byte, err error) {
	c.malformed++
	if c.malformed <= maxShownMalformed {
		c.cfg.Log.Printf("%s: ignoring a malformed line from the agent (%v): %.200s", c.cfg.Node, err, line)
	}
}
