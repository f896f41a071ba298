package seccomp

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/termesc"
	"github.com/swoll-dev/swoll/render"
	"github.com/swoll-dev/swoll/syscalls"
)

// Container names one container of one pod.
type Container struct {
	Namespace, Pod, Name string
}

func (c Container) String() string { return c.Namespace + "/" + c.Pod + " (" + c.Name + ")" }

// Denial is one call a profile would deny in one container: how often, since when, an example.
type Denial struct {
	Container
	Syscall string
	// Result is what the call would meet: "EPERM", "ENOSYS", "SIGSYS", "killed", or "undecided" when a rule
	// tests an argument the trace did not decode.
	Result string
	Why    string
	Count  uint64
	First  time.Time
	// Example is one such call, strace-like, its arguments decoded.
	Example string
}

// EvaluatorFor returns the evaluator of a container's profile on arch; nil when no profile applies to it
// (a privileged container under runtime/default).
type EvaluatorFor func(c Container, arch syscalls.Arch) (*Evaluator, error)

// Checker is check's sink: it decides each event of a tracing session (which traces only the calls the
// profile does not let run whatever their arguments: NotRunning) and keeps, per container, every call that
// would be denied. The session's merge loop feeds it (one goroutine); Denials is read once the session is
// done.
type Checker struct {
	evaluator EvaluatorFor
	// onNew is called for the first call of each container, system call and result (the live report).
	onNew   func(*Denial)
	denials map[denialKey]*Denial
	errs    map[string]bool // evaluator failures already reported
	onError func(error)
	allowed uint64
	ev      event.Event
	line    []byte
}

type denialKey struct {
	Container
	syscall, result string
}

// NewChecker returns a checker; onNew reports a new denial as it is found, onError an evaluator failure
// (once per message).
func NewChecker(evaluator EvaluatorFor, onNew func(*Denial), onError func(error)) *Checker {
	return &Checker{evaluator: evaluator, onNew: onNew, onError: onError, denials: map[denialKey]*Denial{},
		errs: map[string]bool{}}
}

// Event implements output.Sink: decide one traced call.
func (c *Checker) Event(line []byte) error {
	c.ev = event.Event{}
	if json.Unmarshal(line, &c.ev) != nil || c.ev.Container == nil {
		return nil
	}
	ct := Container{Namespace: c.ev.Container.Namespace, Pod: c.ev.Container.Pod, Name: c.ev.Container.Name}
	arch := syscalls.Arch(c.ev.Syscall.Arch)
	if arch == "" {
		arch = syscalls.AMD64
	}
	e, err := c.evaluator(ct, arch)
	if err != nil {
		if !c.errs[err.Error()] {
			c.errs[err.Error()] = true
			c.onError(err)
		}
		return nil
	}
	if e == nil {
		return nil
	}
	v := e.Decide(arch, c.ev.Syscall.Name, EventArgs(&c.ev))
	if v.Outcome == Allowed {
		c.allowed++
		return nil
	}
	k := denialKey{Container: ct, syscall: c.ev.Syscall.Name, result: v.Result()}
	d, ok := c.denials[k]
	if !ok {
		c.line = render.AppendBody(c.line[:0], &c.ev)
		d = &Denial{Container: ct, Syscall: k.syscall, Result: k.result, Why: v.Why, First: time.Unix(0, c.ev.Start),
			Example: string(c.line)}
		c.denials[k] = d
	}
	d.Count++
	if !ok && c.onNew != nil {
		c.onNew(d)
	}
	return nil
}

// Notice implements output.Sink: the session reports notices itself.
func (c *Checker) Notice(*event.Notice) error { return nil }

// Flush implements output.Sink.
func (c *Checker) Flush() error { return nil }

// Allowed counts the traced calls the profile lets run (their arguments passed its rules).
func (c *Checker) Allowed() uint64 { return c.allowed }

// Denials returns what was found, by container, then call.
func (c *Checker) Denials() []Denial {
	out := make([]Denial, 0, len(c.denials))
	for _, d := range c.denials {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Container != b.Container {
			return a.String() < b.String()
		}
		if a.Syscall != b.Syscall {
			return a.Syscall < b.Syscall
		}
		return a.Result < b.Result
	})
	return out
}

// LiveLine is the line the live report prints for a new denial.
func LiveLine(d *Denial) string {
	return fmt.Sprintf("%s: %s would get %s (%s), first at %s: %s", termesc.String(d.String()),
		termesc.String(d.Syscall), d.Result, d.Why, d.First.UTC().Format("15:04:05.000"), d.Example)
}

// WriteReport writes the denials as a table, one row per container and call, and a closing line.
func WriteReport(w io.Writer, denials []Denial, profile string) error {
	if len(denials) == 0 {
		_, err := fmt.Fprintf(w, "no call of the traced containers would be denied by %s\n", profile)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "NAMESPACE\tPOD\tCONTAINER\tSYSCALL\tRESULT\tCALLS\tFIRST\tEXAMPLE")
	var calls uint64
	containers := map[Container]bool{}
	names := map[string]bool{}
	undecided := 0
	for _, d := range denials {
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", termesc.String(d.Namespace), termesc.String(d.Pod),
			termesc.String(d.Name), termesc.String(d.Syscall), d.Result, d.Count, d.First.UTC().Format(time.RFC3339),
			d.Example)
		calls += d.Count
		containers[d.Container] = true
		names[d.Syscall] = true
		if d.Result == "undecided" {
			undecided++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	msg := fmt.Sprintf("%d call(s) of %d system call(s) in %d container(s) would be denied by %s", calls, len(names),
		len(containers), profile)
	if undecided > 0 {
		msg += fmt.Sprintf(" (%d undecided: a rule tests an argument swoll did not decode)", undecided)
	}
	_, err := fmt.Fprintln(w, msg)
	return err
}

// Summary is the one line a failed check ends with.
func Summary(denials []Denial, profile string) string {
	var calls uint64
	names := map[string]bool{}
	for _, d := range denials {
		calls += d.Count
		names[d.Syscall] = true
	}
	return fmt.Sprintf("%s would deny %d call(s) of %s", profile, calls, strings.Join(sortedKeys(names), ", "))
}
