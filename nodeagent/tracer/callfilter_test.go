//go:build linux

package tracer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/callfilter"
	"github.com/swoll-dev/swoll/nodeagent/record"
)

// The incident filters are decided in the kernel at each call's exit: what a session does not keep never reaches
// the ring, and is counted as filtered, not lost.
func TestCallFilters(t *testing.T) {
	marker := "/nonexistent-swoll-end"
	actions := []string{"openat:/etc/hostname", "openat:/nonexistent-swoll", "read:/etc/hostname", "getppid",
		"sleep:20ms", "openat:" + marker}
	// calls is how many selected calls the helper's thread makes once told to go: the actions' (openat and
	// close, openat, openat read close, getppid, clock_nanosleep, openat) and its last read of stdin. The Go
	// runtime's threads may add some (a read of its netpoller's eventfd).
	const calls = 10
	hostname := []string{"openat /etc/hostname", "close", "openat /etc/hostname", "read", "close"}
	failed := []string{"openat /nonexistent-swoll", "openat " + marker}
	for _, c := range []struct {
		name   string
		spec   callfilter.Spec
		newPid bool     // the helper is pid 1 of a new pid namespace
		kept   []string // "name path" of the records (the path of an openat), in order; stdin reads left out
	}{
		{"failed", callfilter.Spec{Failed: true}, false, failed},
		{"errno", callfilter.Spec{Errnos: []string{"ENOENT"}}, false, failed},
		{"errno not matching", callfilter.Spec{Errnos: []string{"EACCES"}}, false, nil},
		{"succeeded", callfilter.Spec{Succeeded: true}, false, append(hostname[:2:2], append(hostname[2:], "getppid", "clock_nanosleep")...)},
		{"slower than", callfilter.Spec{SlowerThan: 10 * time.Millisecond}, false, []string{"clock_nanosleep"}},
		{"path", callfilter.Spec{Paths: []string{"/etc/hostname"}}, false, hostname},
		{"path under", callfilter.Spec{PathsUnder: []string{"/etc/"}}, false, hostname},
		{"path under root and failed", callfilter.Spec{PathsUnder: []string{"/"}, Failed: true}, false, failed},
		{"path and fds", callfilter.Spec{Paths: []string{"/etc/hostname"}, Fds: callfilter.FdsAll}, false, hostname},
		{"comm", callfilter.Spec{Comms: []string{helperComm}, Failed: true}, false, failed},
		{"other comm", callfilter.Spec{Comms: []string{"not-the-helper"}}, false, nil},
		{"container pid", callfilter.Spec{Pids: []int{1}, Errnos: []string{"ENOENT"}}, true, failed},
		{"other container pid", callfilter.Spec{Pids: []int{2}}, true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			forVariants(t, func(t *testing.T, opts Options) {
				opts.Calls = c.spec
				tr := newTracer(t, opts, "openat", "read", "close", "getppid", "clock_nanosleep")
				var flags uintptr
				if c.newPid {
					flags = syscall.CLONE_NEWPID
				}
				h := startHelper(t, flags, actions...)
				if err := tr.AddPid(uint32(h.Pid), 7); err != nil {
					t.Fatal(err)
				}
				h.run()
				h.end()
				// Every call is either in the ring or counted as filtered.
				var recs []owned
				waitFor(t, func() bool {
					recs = append(recs, drain(t, tr)...)
					return uint64(len(recs))+tr.Filtered() >= calls
				})
				var got []string
				for _, r := range recs {
					if int(r.Pid) != h.Pid {
						t.Errorf("a record of another process: %v", describe([]owned{r}))
					}
					if name := callName(t, r); r.Tid == r.Pid && (name != "read" || r.Args[0] != 0) {
						got = append(got, name)
					}
				}
				if strings.Join(got, "; ") != strings.Join(c.kept, "; ") {
					t.Errorf("kept %q\nwant %q", got, c.kept)
				}
				if len(got) < calls && tr.Filtered() == 0 {
					t.Errorf("%d records and nothing filtered", len(recs))
				}
				if tr.Lost() != 0 {
					t.Errorf("%d lost", tr.Lost())
				}
			})
		})
	}
}

// callName is "name path" of a record (the path of an openat), or its name.
func callName(t *testing.T, r owned) string {
	sc := table(t).ByNr(int(r.Nr))
	if sc == nil {
		return "?"
	}
	if sc.Name == "openat" {
		return "openat " + string(r.Captures[1].Data)
	}
	return sc.Name
}

// waitFor waits until cond holds (bounded by kernelWait).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(kernelWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// drain returns the records in the ring now.
func drain(t *testing.T, tr *Tracer) []owned {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Read hands out what the ring holds, then returns
	var got []owned
	if err := tr.Read(ctx, func(r *record.Record) bool {
		got = append(got, own(r))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// -y: each fd argument shows what the fd was when the call began, each returned fd (and pipe's pair) what it
// is; -yy adds sockets' details.
func TestFdPaths(t *testing.T) {
	forVariants(t, func(t *testing.T, opts Options) {
		opts.Calls = callfilter.Spec{Fds: callfilter.FdsAll}
		tr := newTracer(t, opts, "openat", "write", "close", "pipe2", "eventfd2", "memfd_create", "socketpair",
			"socket", "listen", "connect", "read", "getppid")
		h := startHelper(t, 0, "read:/etc/hostname", "fds", "getppid")
		if err := tr.AddPid(uint32(h.Pid), 7); err != nil {
			t.Fatal(err)
		}
		h.run()
		getppid := nr(t, "getppid")
		recs := collect(t, tr, func(recs []owned) bool {
			return len(find(recs, func(r owned) bool { return int(r.Pid) == h.Pid && r.Nr == getppid })) > 0
		})
		mine := find(recs, func(r owned) bool { return int(r.Pid) == h.Pid })
		// What each call's fds were, by "name slot": the first record of each.
		seen := map[string][]record.Fd{}
		var order []string
		for _, r := range mine {
			name := callName(t, r)
			for i, f := range r.Fds {
				if f.Present {
					f.Data = bytes.Clone(f.Data)
					seen[name] = append(seen[name], f)
					if i == record.FdRet {
						order = append(order, name+" = "+fdText(f))
					} else {
						order = append(order, name+" fd"+itoa(int64(i))+" "+fdText(f))
					}
				}
			}
		}
		log := strings.Join(order, "\n")
		for _, want := range []string{
			"openat /etc/hostname fd0 " + cwd(t), // AT_FDCWD: the working directory
			"openat /etc/hostname = /etc/hostname",
			"read fd0 /etc/hostname",
			"close fd0 /etc/hostname",
			"openat /dev/null = /dev/null char 1:3",
			"write fd0 /dev/null char 1:3",
			"pipe2 fd7 named pipefs:",
			"pipe2 fd8 named pipefs:",
			"eventfd2 = named anon:[eventfd]",
			"memfd_create = named tmpfs:memfd:swoll-memfd",
			"write fd0 /tmp/swoll-fds-deleted (deleted)",
			"socketpair fd7 socket " + unixStream(t) + " family 1 peer",
			"socket = socket TCP family 2 0->0",
			"listen fd0 socket TCP family 2 45871->0",
			"connect fd0 socket TCP family 2 0->0", // as the call began
			"socket = socket UDPv6 family 10",
			"socket = socket NETLINK family 16",
			"listen fd0 socket " + unixStream(t) + " family 1 path /tmp/swoll-fds.sock",
		} {
			if !strings.Contains(log, want) {
				t.Errorf("no %q in\n%s", want, log)
			}
		}
		if !strings.Contains(log, "->45871") {
			t.Errorf("a connected TCP socket shows no peer port:\n%s", log)
		}
		for _, r := range mine {
			if callName(t, r) == "read" && int32(r.Args[0]) == 999 && r.Fds[0].Present {
				t.Errorf("a closed fd has a description: %+v", r.Fds[0])
			}
		}
		if tr.Lost() != 0 {
			t.Errorf("%d lost", tr.Lost())
		}
	})
}

// unixStream is the kernel's name of a Unix stream socket's protocol (what -yy shows, and strace too): the
// stream sockets have their own, UNIX-STREAM, since 5.15; before, every Unix socket is UNIX.
func unixStream(t *testing.T) string {
	b, err := os.ReadFile("/proc/net/protocols")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "UNIX-STREAM ") {
			return "UNIX-STREAM"
		}
	}
	return "UNIX"
}

// cwd is the working directory as the kernel names it.
func cwd(t *testing.T) string {
	wd, err := os.Getwd()
	if err == nil {
		wd, err = filepath.EvalSymlinks(wd) // the kernel shows the directory, not the link that led there
	}
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// What an fd is is found when the call begins: a file renamed between two calls shows under each name, however
// its path was cached.
func TestFdPathAfterRename(t *testing.T) {
	forVariants(t, func(t *testing.T, opts Options) {
		opts.Calls = callfilter.Spec{Fds: callfilter.FdsPaths}
		tr := newTracer(t, opts, "fsync", "getppid")
		h := startHelper(t, 0, "rename", "getppid")
		if err := tr.AddPid(uint32(h.Pid), 7); err != nil {
			t.Fatal(err)
		}
		h.run()
		getppid := nr(t, "getppid")
		recs := collect(t, tr, func(recs []owned) bool {
			return len(find(recs, func(r owned) bool { return int(r.Pid) == h.Pid && r.Nr == getppid })) > 0
		})
		var got []string
		for _, r := range find(recs, func(r owned) bool { return int(r.Pid) == h.Pid && r.Nr == nr(t, "fsync") }) {
			got = append(got, fdText(r.Fds[0]))
		}
		if strings.Join(got, " ") != fdRenamedA+" "+fdRenamedB {
			t.Errorf("fsync's fd: %q, want %s then %s", got, fdRenamedA, fdRenamedB)
		}
	})
}

// fdText describes an Fd for TestFdPaths.
func fdText(f record.Fd) string {
	var b strings.Builder
	switch f.Kind {
	case record.FdPath:
		b.Write(f.Data)
		if f.Mode&unix.S_IFMT == unix.S_IFCHR {
			b.WriteString(" char " + itoa(int64(f.Rdev>>20)) + ":" + itoa(int64(f.Rdev&0xfffff)))
		}
		if f.Deleted {
			b.WriteString(" (deleted)")
		}
	case record.FdNamed:
		fs := map[uint32]string{unix.PIPEFS_MAGIC: "pipefs", unix.ANON_INODE_FS_MAGIC: "anon", unix.TMPFS_MAGIC: "tmpfs"}[f.Magic]
		b.WriteString("named " + fs + ":" + string(f.Data))
	case record.FdSocket:
		s, ok := f.Socket()
		if !ok {
			return "bad socket"
		}
		b.WriteString("socket " + string(s.Proto) + " family " + itoa(int64(s.Family)))
		switch s.Family {
		case unix.AF_INET, unix.AF_INET6:
			b.WriteString(" " + itoa(int64(s.SrcPort)) + "->" + itoa(int64(s.DstPort)))
		case unix.AF_UNIX:
			if s.Peer != 0 {
				b.WriteString(" peer")
			}
			if len(s.Path) > 0 {
				b.WriteString(" path " + strings.TrimRight(string(s.Path), "\x00"))
			}
		}
	}
	return b.String()
}
