package testutil

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/transport"
	"github.com/swoll-dev/swoll/protocol"
)

// Transport is a transport.Transport whose other end is a test's function instead of the API server.
type Transport struct {
	// Serve plays the process at the other end of one exec; it returns when the stream ends.
	Serve func(ctx context.Context, req transport.Request, stdio transport.Stdio) error

	mu    sync.Mutex
	execs []transport.Request
}

// Exec implements transport.Transport.
func (t *Transport) Exec(ctx context.Context, req transport.Request, stdio transport.Stdio) error {
	t.mu.Lock()
	t.execs = append(t.execs, req)
	t.mu.Unlock()
	return t.Serve(ctx, req, stdio)
}

// Execs lists the requests made so far.
func (t *Transport) Execs() []transport.Request {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]transport.Request(nil), t.execs...)
}

// Agent is a scripted node agent: it answers OpStart with a ready notice and writes its Events, announces
// each OpAdd with a target_attached notice and each OpRemove with a target_detached one, and on OpStop or the end
// of stdin writes an exit notice and returns. It records the commands it received.
type Agent struct {
	// Events are written after the ready notice, each as one line.
	Events [][]byte
	// Gate, when set, holds the Events until it is closed (so that a test can connect every agent first).
	Gate <-chan struct{}
	// Break, when set, ends the stream with the error it receives, without an exit notice (the connection
	// broke, the agent was killed).
	Break <-chan error

	mu       sync.Mutex
	commands []protocol.Command
}

// Commands lists the commands the agent received, in order.
func (a *Agent) Commands() []protocol.Command {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]protocol.Command(nil), a.commands...)
}

// Ops lists the commands received as "op", "pod NAME" (OpPod) or "forget UID" (OpForget), joined by spaces.
func (a *Agent) Ops() string {
	var out []string
	for _, c := range a.Commands() {
		switch {
		case c.Pod != nil:
			out = append(out, string(c.Op)+" "+c.Pod.Name)
		case c.PodUID != "":
			out = append(out, string(c.Op)+" "+c.PodUID)
		default:
			out = append(out, string(c.Op))
		}
	}
	return strings.Join(out, " ")
}

// WriteLine writes v as one JSON line.
func WriteLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteNotice writes n as the agent writes a notice.
func WriteNotice(w io.Writer, n event.Notice) error {
	return WriteLine(w, struct {
		Notice event.Notice `json:"notice"`
	}{n})
}

// Serve plays the agent for one exec (Transport.Serve).
func (a *Agent) Serve(ctx context.Context, _ transport.Request, stdio transport.Stdio) error {
	out := bufio.NewWriter(stdio.Stdout)
	notice := func(n event.Notice) error {
		if err := WriteNotice(out, n); err != nil {
			return err
		}
		return out.Flush()
	}
	cmds := make(chan protocol.Command)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(cmds)
		sc := bufio.NewScanner(stdio.Stdin)
		for sc.Scan() {
			var c protocol.Command
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				readErr <- fmt.Errorf("fake agent: bad command %q: %w", sc.Text(), err)
				return
			}
			select {
			case cmds <- c:
			case <-done:
				return
			}
		}
		if err := sc.Err(); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			readErr <- err
		}
	}()
	node := ""
	var events uint64
	for {
		var c protocol.Command
		var ok bool
		select {
		case c, ok = <-cmds:
		case err := <-a.Break:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			select {
			case err := <-readErr:
				return err
			default:
			}
			return notice(event.Notice{Kind: event.NoticeExit, Node: node, Events: events})
		}
		a.mu.Lock()
		a.commands = append(a.commands, c)
		a.mu.Unlock()
		var err error
		switch c.Op {
		case protocol.OpStart:
			node = c.Start.Node
			if err = notice(event.Notice{Kind: event.NoticeReady, Node: node, Selection: event.SelectionCgroup}); err != nil {
				break
			}
			if a.Gate != nil {
				select {
				case <-a.Gate:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			for _, e := range a.Events {
				if _, err = out.Write(append(e, '\n')); err != nil {
					break
				}
				events++
			}
			err = out.Flush()
		case protocol.OpPod:
			err = notice(event.Notice{Kind: event.NoticeTargetAttached, Node: node, PodUID: c.Pod.UID, Pod: c.Pod.Name, Namespace: c.Pod.Namespace})
		case protocol.OpForget:
			err = notice(event.Notice{Kind: event.NoticeTargetDetached, Node: node, PodUID: c.PodUID})
		case protocol.OpStop:
			return notice(event.Notice{Kind: event.NoticeExit, Node: node, Events: events})
		}
		if err != nil {
			return err
		}
	}
}

// Buffer is a bytes.Buffer safe for concurrent writers (a session's stderr).
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
