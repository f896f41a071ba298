// Package callfilter is a session's incident filters and fd display, as strace has them: which completed calls
// are kept (--failed/-Z, --succeeded/-z, --errno, --slower-than, -P/--path, --path-under, --comm,
// --container-pid) and whether fds show what they are (-y, -yy). The node agent decides the filters in the
// kernel, at each call's exit, before anything is recorded (bpf/exitfilter.h), and counts what they drop apart
// from what is lost.
//
// Spec is the filters' one description: the flags of kubectl swoll trace and top and of swoll-agent trace (the
// same names, registered by AddFlags), the Go API's options, the Trace YAML's spec fields and the wire form in
// protocol.Start all are a Spec. It is pure Go (the plugin builds for every platform). A Spec is a value:
// callers share it by copy.
package callfilter

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/swoll-dev/swoll/syscalls"
)

// Limits of what the kernel's sets hold (bpf/exitfilter.h).
const (
	// MaxPathBytes bounds a -P path or a --path-under directory: the kernel compares up to 255 bytes of a
	// path and its NUL, and a directory needs one more for its "/".
	MaxPathBytes = 254
	// MaxPaths bounds -P and --path-under together (a directory takes two entries of the kernel's 256).
	MaxPaths = 100
	// MaxComms bounds --comm; MaxCommBytes is what the kernel keeps of a task's name (TASK_COMM_LEN - 1).
	MaxComms     = 64
	MaxCommBytes = 15
	// MaxPids bounds --container-pid.
	MaxPids = 1024
)

// Fd display levels (-y, -yy).
const (
	FdsNone  = 0 // fds are numbers
	FdsPaths = 1 // -y: each fd argument and returned fd shows its path, or what it is (pipe:[ino], socket:[ino])
	FdsAll   = 2 // -yy: sockets show their protocol and addresses, devices their numbers
)

// Spec is the filters and fd display of a session. The zero Spec keeps every call and shows fds as numbers.
// Every condition set must hold for a call to be kept. JSON is its wire form (protocol.Start's filter).
type Spec struct {
	// Failed keeps only calls that failed (returned -errno); Succeeded only those that did not. Calls that
	// never return (exit, exit_group) are neither.
	Failed    bool `json:"failed,omitempty"`
	Succeeded bool `json:"succeeded,omitempty"`
	// Errnos keeps only calls that failed with one of these errnos (names as strace prints them, "ENOENT";
	// numbers are accepted): it implies Failed.
	Errnos []string `json:"errnos,omitempty"`
	// SlowerThan keeps only calls that took at least this long.
	SlowerThan time.Duration `json:"slower_than,omitempty"`
	// Paths keeps only calls on one of these paths, as strace's -P: a path argument equal to one of them, or
	// an fd argument whose file is one of them (its path in the container's view, when the call began). Paths
	// compare as given: a relative path matches the same relative argument only, and symlinks are not followed.
	Paths []string `json:"paths,omitempty"`
	// PathsUnder keeps only calls on a path under one of these directories (absolute), or on the directory
	// itself, by the same rules.
	PathsUnder []string `json:"paths_under,omitempty"`
	// Comms keeps only calls of tasks whose command name (comm, at most 15 bytes) is one of these.
	Comms []string `json:"comms,omitempty"`
	// Pids keeps only calls of processes with one of these pids in their own pid namespace (the container's
	// pid, event.Event's container_pid).
	Pids []int `json:"pids,omitempty"`
	// Fds is how fds show: FdsNone, FdsPaths (-y) or FdsAll (-yy).
	Fds int `json:"fds,omitempty"`
}

// Filters reports whether s drops any call.
func (s Spec) Filters() bool {
	return s.Failed || s.Succeeded || len(s.Errnos) > 0 || s.SlowerThan > 0 || len(s.Paths) > 0 ||
		len(s.PathsUnder) > 0 || len(s.Comms) > 0 || len(s.Pids) > 0
}

// IsZero reports whether s is the zero Spec: every call kept, fds as numbers.
func (s Spec) IsZero() bool { return !s.Filters() && s.Fds == 0 }

// Validate checks s. Errors name the flag a user gives.
func (s Spec) Validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if s.Failed && s.Succeeded {
		bad("--failed (-Z) and --succeeded (-z) exclude each other")
	}
	if len(s.Errnos) > 0 && s.Succeeded {
		bad("--errno selects failed calls: it cannot be combined with --succeeded (-z)")
	}
	for _, e := range s.Errnos {
		if _, ok := syscalls.ErrnoByName(e); !ok {
			bad("--errno %q: not an errno name (ENOENT, EACCES...) or a number from 1 to %d", e, syscalls.MaxErrno)
		}
	}
	if s.SlowerThan < 0 {
		bad("--slower-than %s: must not be negative", s.SlowerThan)
	}
	for _, p := range s.Paths {
		if err := checkPath(p); err != nil {
			bad("-P/--path %q: %v", p, err)
		}
	}
	for _, p := range s.PathsUnder {
		if err := checkPath(p); err != nil {
			bad("--path-under %q: %v", p, err)
		} else if !strings.HasPrefix(p, "/") {
			bad("--path-under %q: give an absolute directory", p)
		}
	}
	if n := len(s.Paths) + len(s.PathsUnder); n > MaxPaths {
		bad("-P and --path-under give %d paths; at most %d", n, MaxPaths)
	}
	for _, c := range s.Comms {
		switch {
		case c == "":
			bad("--comm: empty name")
		case len(c) > MaxCommBytes:
			bad("--comm %q: longer than the %d bytes the kernel keeps of a command name (use %q)", c, MaxCommBytes, c[:MaxCommBytes])
		case strings.ContainsRune(c, 0):
			bad("--comm %q: contains a NUL byte", c)
		}
	}
	if len(s.Comms) > MaxComms {
		bad("--comm gives %d names; at most %d", len(s.Comms), MaxComms)
	}
	for _, p := range s.Pids {
		if p <= 0 || p > 1<<22 {
			bad("--container-pid %d: not a process id", p)
		}
	}
	if len(s.Pids) > MaxPids {
		bad("--container-pid gives %d pids; at most %d", len(s.Pids), MaxPids)
	}
	if s.Fds < FdsNone || s.Fds > FdsAll {
		bad("-y: give it once (paths) or twice, -yy (sockets and devices too); got level %d", s.Fds)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; ")) // one line
	}
	return nil
}

func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case len(p) > MaxPathBytes:
		return fmt.Errorf("longer than %d bytes", MaxPathBytes)
	case strings.ContainsRune(p, 0):
		return errors.New("contains a NUL byte")
	}
	return nil
}

// ErrnoNumbers returns the numbers of s.Errnos, sorted and without duplicates (Validate first).
func (s Spec) ErrnoNumbers() []int {
	var out []int
	for _, e := range s.Errnos {
		if n, ok := syscalls.ErrnoByName(e); ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Dirs returns s.PathsUnder without trailing slashes ("/" stays "/").
func (s Spec) Dirs() []string {
	out := make([]string, 0, len(s.PathsUnder))
	for _, d := range s.PathsUnder {
		if t := strings.TrimRight(d, "/"); t != "" {
			d = t
		} else {
			d = "/"
		}
		out = append(out, d)
	}
	return out
}

// String describes s in the flags that give it ("--failed --errno ENOENT -P /etc/hostname -y"); "" for the
// zero Spec. For progress messages and the agents' command-line annotation.
func (s Spec) String() string {
	var parts []string
	if s.Failed {
		parts = append(parts, "--failed")
	}
	if s.Succeeded {
		parts = append(parts, "--succeeded")
	}
	if len(s.Errnos) > 0 {
		parts = append(parts, "--errno "+strings.Join(s.Errnos, ","))
	}
	if s.SlowerThan > 0 {
		parts = append(parts, "--slower-than "+s.SlowerThan.String())
	}
	for _, p := range s.Paths {
		parts = append(parts, "-P "+strconv.Quote(p))
	}
	for _, p := range s.PathsUnder {
		parts = append(parts, "--path-under "+strconv.Quote(p))
	}
	if len(s.Comms) > 0 {
		parts = append(parts, "--comm "+strconv.Quote(strings.Join(s.Comms, ",")))
	}
	for _, p := range s.Pids {
		parts = append(parts, "--container-pid "+strconv.Itoa(p))
	}
	switch s.Fds {
	case FdsPaths:
		parts = append(parts, "-y")
	case FdsAll:
		parts = append(parts, "-yy")
	}
	return strings.Join(parts, " ")
}

// Flag names, the same in kubectl swoll trace and top and swoll-agent trace.
const (
	FlagFailed       = "failed"
	FlagSucceeded    = "succeeded"
	FlagErrno        = "errno"
	FlagSlowerThan   = "slower-than"
	FlagPath         = "path"
	FlagPathUnder    = "path-under"
	FlagComm         = "comm"
	FlagContainerPid = "container-pid"
	FlagDecodeFds    = "decode-fds"
)

// FlagNames lists the flags AddFlags registers.
var FlagNames = []string{FlagFailed, FlagSucceeded, FlagErrno, FlagSlowerThan, FlagPath, FlagPathUnder, FlagComm,
	FlagContainerPid, FlagDecodeFds}

// AddFlags registers the flags of s on fs. The fd display is a counter: -y once for paths, -yy for sockets and
// devices too (--decode-fds=2).
func AddFlags(fs *pflag.FlagSet, s *Spec) {
	fs.BoolVarP(&s.Failed, FlagFailed, "Z", s.Failed, "Keep only calls that failed (decided in the kernel; what is dropped is counted, not lost)")
	fs.BoolVarP(&s.Succeeded, FlagSucceeded, "z", s.Succeeded, "Keep only calls that succeeded")
	fs.StringSliceVar(&s.Errnos, FlagErrno, s.Errnos, "Keep only calls that failed with these errnos (e.g. ENOENT,EACCES; implies --failed)")
	fs.DurationVar(&s.SlowerThan, FlagSlowerThan, s.SlowerThan, "Keep only calls that took at least this long (e.g. 1ms)")
	fs.StringArrayVarP(&s.Paths, FlagPath, "P", s.Paths, "Keep only calls on this path, as strace -P: a path argument, or an fd argument's file (repeatable; in the container's view)")
	fs.StringArrayVar(&s.PathsUnder, FlagPathUnder, s.PathsUnder, "Keep only calls on a path under this directory, or on it (repeatable)")
	fs.StringSliceVar(&s.Comms, FlagComm, s.Comms, "Keep only calls of tasks with this command name (repeatable, comma-separated; up to 15 bytes, as the kernel keeps it)")
	fs.IntSliceVar(&s.Pids, FlagContainerPid, s.Pids, "Keep only calls of processes with this pid in their container (repeatable, comma-separated)")
	fs.CountVarP(&s.Fds, FlagDecodeFds, "y", "Show what each fd is: -y its path (pipe:[ino], socket:[ino] for the others), -yy socket addresses and device numbers too")
}

// Normalize completes s after its flags were parsed: --errno names in upper case, empty list entries gone.
func (s *Spec) Normalize() {
	s.Errnos = cleanList(s.Errnos, strings.ToUpper)
	s.Comms = cleanList(s.Comms, nil)
}

func cleanList(in []string, f func(string) string) []string {
	var out []string
	for _, v := range in {
		if v = strings.TrimSpace(v); v != "" {
			if f != nil {
				v = f(v)
			}
			out = append(out, v)
		}
	}
	return out
}
