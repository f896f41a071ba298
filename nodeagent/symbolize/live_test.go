//go:build linux

package symbolize

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/event/stack"
	"github.com/swoll-dev/swoll/internal/roottest"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// cStack starts the C program and returns it with the stack the kernel would give at its read(2): the pc in
// libc's read wrapper, then the return addresses of the program's own frame-pointer walk.
func cStack(t testing.TB, bin string) (*proc, []uint64) {
	p := start(t, bin)
	walk := addrs(t, p.line(t, "stack "))
	return p, append([]uint64{blockedPC(t, p.pid())}, walk...)
}

func isRead(sym string) bool { return sym == "read" || sym == "__read" || sym == "__libc_read" }

// TestLiveC symbolizes the stack of a live C process blocked in read(2), and compares its frames with
// addr2line and with what strace -k prints for the same call of the same binary.
func TestLiveC(t *testing.T) {
	tools(t, "gcc", "addr2line")
	bin := cProgram(t)
	p, ips := cStack(t, bin)
	s := New(Config{Recheck: -1})
	frames, err := s.Symbolize(nil, p.pid(), ips)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != len(ips) || len(frames) < 4 {
		t.Fatalf("%d frames for %d ips: %+v", len(frames), len(ips), frames)
	}
	for i, f := range frames {
		if uint64(f.IP) != ips[i] {
			t.Errorf("frame %d: ip %#x, want %#x", i, uint64(f.IP), ips[i])
		}
	}
	if f := frames[0]; !strings.HasSuffix(f.Module, "/libc.so.6") || !isRead(f.Symbol) {
		t.Errorf("frame 0: %+v, want libc's read", f)
	}
	// blocked_here is missing, as in the kernel's walk: libc's read wrapper sets up no frame, so the walk goes
	// on from blocked_here's frame, whose return address is in middle
	for i, want := range []string{"middle", "main"} {
		f := frames[i+1]
		if f.Module != bin || f.Symbol != want {
			t.Errorf("frame %d: %+v, want %s in %s", i+1, f, want, bin)
		}
		// addr2line reads DWARF; it takes the file offset as address in a PIE
		out := strings.Fields(run(t, "addr2line", "-f", "-e", bin, "0x"+strconv.FormatUint(f.ModuleOffset-1, 16)))
		if len(out) == 0 || out[0] != f.Symbol {
			t.Errorf("frame %d: addr2line says %v for %#x, symbolize %s", i+1, out, f.ModuleOffset-1, f.Symbol)
		}
	}
	if f := frames[3]; !strings.HasSuffix(f.Module, "/libc.so.6") {
		t.Errorf("frame 3: %+v, want main's caller in libc", f)
	}
	if Complete(frames[:3]) {
		t.Error("a stack ending in main is complete")
	}
	t.Logf("\n%s", stack.AppendCLI(nil, frames, !Complete(frames)))

	t.Run("strace -k agrees", func(t *testing.T) {
		tools(t, "strace")
		out := filepath.Join(t.TempDir(), "strace.out")
		sp := start(t, "strace", "-k", "-e", "trace=read", "-o", out, bin)
		sp.line(t, "stack ")
		_ = sp.stdin.Close() // read returns 0: the program exits
		if err := sp.cmd.Wait(); err != nil {
			t.Fatalf("strace: %v", err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		// the lines under read(0, ...): strace unwinds with DWARF, so it has blocked_here too
		var lines []string
		in := false
		for _, l := range strings.Split(string(b), "\n") {
			switch {
			case strings.HasPrefix(l, "read(0,"):
				in = true
			case in && strings.HasPrefix(l, " > "):
				lines = append(lines, l)
			case in:
				in = false
			}
		}
		if len(lines) == 0 {
			t.Fatalf("strace printed no stack for read(0, ...):\n%s", b)
		}
		ours := strings.Split(strings.TrimSuffix(string(stack.AppendCLI(nil, frames[:3], false)), "\n"), "\n")
		for _, l := range ours {
			found := false
			for _, sl := range lines {
				found = found || sl == l
			}
			if !found {
				t.Errorf("our line %q is not in strace -k's stack:\n%s", l, strings.Join(lines, "\n"))
			}
		}
	})
}

// TestLiveGo symbolizes the stack of a live stripped Go program built three ways, and compares every frame with
// the name the Go runtime itself gives it.
func TestLiveGo(t *testing.T) {
	variants := []struct {
		name    string
		env     []string
		ldflags string
		flags   []string
		tools   []string
	}{
		{name: "static", env: []string{"CGO_ENABLED=0"}},
		{name: "pie", env: []string{"CGO_ENABLED=0"}, flags: []string{"-buildmode=pie"}},
		{name: "external linking", env: []string{"CGO_ENABLED=1"}, ldflags: "-linkmode=external", tools: []string{"gcc"}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			tools(t, v.tools...)
			bin := goProgram(t, "goprog-"+strings.ReplaceAll(v.name, " ", "-"), v.env, v.ldflags, v.flags...)
			p := start(t, bin)
			var ips []uint64
			var names []string
			for {
				l := p.line(t, "")
				if l == "ready" {
					break
				}
				f := strings.Fields(l)
				if len(f) != 3 || f[0] != "frame" {
					t.Fatalf("unexpected line %q", l)
				}
				ips = append(ips, addrs(t, "x "+f[1])[0])
				names = append(names, f[2])
			}
			s := New(Config{Recheck: -1})
			frames, err := s.Symbolize(nil, p.pid(), ips)
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range frames {
				if f.Symbol != names[i] || f.Module != bin {
					t.Errorf("frame %d (%#x): %q in %q, the runtime says %q in %s", i, ips[i], f.Symbol, f.Module, names[i], bin)
				}
			}
			if !Complete(frames) {
				t.Errorf("a goroutine's whole stack is not complete: it ends in %q", frames[len(frames)-1].Symbol)
			}
			// the thread blocked in read(2): its pc is in the runtime's system call code
			pc := blockedPC(t, p.pid())
			frames, err = s.Symbolize(frames[:0], p.pid(), []uint64{pc})
			if err != nil {
				t.Fatal(err)
			}
			if f := frames[0]; f.Module != bin || !strings.Contains(strings.ToLower(f.Symbol), "syscall") {
				t.Errorf("the blocked thread's pc %#x: %+v, want the runtime's system call code", pc, f)
			}
			t.Logf("%s: blocked in %s+%#x", v.name, frames[0].Symbol, frames[0].Offset)
		})
	}
}

// TestLiveShell: a shell script blocked in read: a Debian-built binary without symbols of its own, and libc.
func TestLiveShell(t *testing.T) {
	sh := "/bin/sh"
	p := start(t, sh, "-c", "read x")
	pc := blockedPC(t, p.pid())
	s := New(Config{})
	frames, err := s.Symbolize(nil, p.pid(), []uint64{pc})
	if err != nil {
		t.Fatal(err)
	}
	if f := frames[0]; !strings.HasSuffix(f.Module, "/libc.so.6") || !isRead(f.Symbol) {
		t.Errorf("%s blocked in read: %+v", sh, f)
	}
}

// TestDlopen: an ip in a library loaded after the maps were read makes them be read again, at most once a
// Recheck.
func TestDlopen(t *testing.T) {
	tools(t, "nm")
	bin, lib := cProgram(t), cLibrary(t)
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	s := New(Config{Recheck: time.Hour, Now: clock.now})
	p, ips := cStack(t, bin)
	if _, err := s.Symbolize(nil, p.pid(), ips); err != nil {
		t.Fatal(err)
	}
	p.send(t, "dlopen "+lib)
	fn := addrs(t, p.line(t, "lib_func "))[0]
	if fn == 0 {
		t.Fatal("dlopen failed")
	}
	p.line(t, "stack ")
	reads := s.Stats().MapsReads

	frames, _ := s.Symbolize(nil, p.pid(), []uint64{fn + 1})
	if f := frames[0]; f.Module != "" || s.Stats().MapsReads != reads {
		t.Errorf("within Recheck: %+v and %d maps reads, want a bare frame and %d", f, s.Stats().MapsReads, reads)
	}
	clock.advance(time.Hour)
	frames, _ = s.Symbolize(frames[:0], p.pid(), []uint64{fn + 1})
	vaddr := uint64(0)
	for _, syms := range nmFuncs(t, lib, "-D") {
		for _, sym := range syms {
			if sym.name == "lib_func" {
				vaddr = sym.addr
			}
		}
	}
	want := stack.Frame{IP: stack.Addr(fn + 1), Symbol: "lib_func", Offset: 1, Module: lib, ModuleOffset: fileOffset(t, lib, vaddr) + 1}
	if frames[0] != want {
		t.Errorf("after Recheck: %+v, want %+v", frames[0], want)
	}
	if got := s.Stats().MapsReads; got != reads+1 {
		t.Errorf("%d maps reads, want %d", got, reads+1)
	}
}

// TestExec: after an exec, the process's new image is symbolized, once the exec check is due.
func TestExec(t *testing.T) {
	bin := cProgram(t)
	goBin := goProgram(t, "goprog-static", []string{"CGO_ENABLED=0"}, "")
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	s := New(Config{Recheck: time.Hour, Now: clock.now})
	p, ips := cStack(t, bin)
	frames, err := s.Symbolize(nil, p.pid(), ips)
	if err != nil || frames[1].Symbol != "middle" {
		t.Fatalf("before exec: %+v, %v", frames, err)
	}
	p.send(t, "exec "+goBin)
	l := p.line(t, "frame ")
	goIP := addrs(t, "x "+strings.Fields(l)[1])[0]
	name := strings.Fields(l)[2]
	p.line(t, "ready")

	frames, _ = s.Symbolize(frames[:0], p.pid(), []uint64{goIP})
	if frames[0].Symbol == name {
		t.Fatalf("the exec was seen within Recheck: the test shows nothing")
	}
	clock.advance(time.Hour)
	frames, err = s.Symbolize(frames[:0], p.pid(), []uint64{goIP})
	if err != nil || frames[0].Symbol != name || frames[0].Module != goBin {
		t.Errorf("after exec: %+v (%v), want %s in %s", frames[0], err, name, goBin)
	}
}

// TestExited: a process that is gone gives bare frames and ErrNoProcess.
func TestExited(t *testing.T) {
	bin := cProgram(t)
	p, ips := cStack(t, bin)
	_ = p.stdin.Close()
	_ = p.cmd.Wait()
	s := New(Config{})
	frames, err := s.Symbolize(nil, p.pid(), ips)
	if !errors.Is(err, ErrNoProcess) {
		t.Errorf("err %v, want ErrNoProcess", err)
	}
	for i, f := range frames {
		if f != (stack.Frame{IP: stack.Addr(ips[i])}) {
			t.Errorf("frame %d: %+v, want a bare frame", i, f)
		}
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		outermost []string
		want      bool
	}{
		{outermost: nil, want: false},
		{outermost: []string{"__write", "main", "__libc_start_call_main"}, want: true},
		{outermost: []string{"__write", "main", "_start"}, want: true},
		{outermost: []string{"__write", "worker", "start_thread", "__clone3"}, want: true},
		{outermost: []string{"internal/runtime/syscall/linux.Syscall6", "main.main", "runtime.main", "runtime.goexit"}, want: true},
		{outermost: []string{"runtime.futex", "runtime.mstart"}, want: true},
		{outermost: []string{"__write", "main"}, want: false},
		{outermost: []string{"__write", ""}, want: false},
	}
	for _, tt := range tests {
		var frames []stack.Frame
		for _, s := range tt.outermost {
			frames = append(frames, stack.Frame{Symbol: s})
		}
		if got := Complete(frames); got != tt.want {
			t.Errorf("Complete(%v) = %v, want %v", tt.outermost, got, tt.want)
		}
	}
}

// TestVDSO symbolizes ips in this process's vDSO, read from its memory, against nm -D on a copy of the image.
func TestVDSO(t *testing.T) {
	tools(t, "nm")
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	maps, err := parseMaps(b)
	if err != nil {
		t.Fatal(err)
	}
	var vdso *mapping
	for i := range maps {
		if maps[i].path == "[vdso]" {
			vdso = &maps[i]
		}
	}
	if vdso == nil {
		t.Fatal("no [vdso] in /proc/self/maps")
	}
	img := make([]byte, vdso.end-vdso.start)
	f, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.ReadAt(img, int64(vdso.start))
	_ = f.Close()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "vdso.so")
	if err := os.WriteFile(path, img, 0o600); err != nil {
		t.Fatal(err)
	}
	s := New(Config{})
	n := 0
	for addr, syms := range nmFuncs(t, path, "-D") {
		ip := vdso.start + fileOffset(t, path, addr) + 1
		frames, err := s.Symbolize(nil, os.Getpid(), []uint64{ip})
		if err != nil {
			t.Fatal(err)
		}
		ok := false
		for _, sym := range syms {
			ok = ok || frames[0].Symbol == sym.name
		}
		if !ok || frames[0].Module != "[vdso]" || frames[0].Offset != 1 {
			t.Errorf("%#x: %+v, nm -D says %s", addr, frames[0], syms[0].name)
		}
		n++
	}
	if n == 0 {
		t.Fatal("nm -D lists no function in the vDSO")
	}
	if st := s.Stats(); st.Modules != 1 {
		t.Errorf("%d modules for the vDSO, want 1", st.Modules)
	}
}

// TestDeletedBinary: a binary deleted (or replaced by an upgrade) while it runs is still read, through
// /proc/PID/map_files, which needs CAP_SYS_ADMIN: the agent's, and root's here.
func TestDeletedBinary(t *testing.T) {
	roottest.Require(t)
	bin := filepath.Join(t.TempDir(), "prog")
	if err := runEnv(nil, "cp", cProgram(t), bin); err != nil {
		t.Fatal(err)
	}
	p, ips := cStack(t, bin)
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	frames, err := New(Config{}).Symbolize(nil, p.pid(), ips)
	if err != nil {
		t.Fatal(err)
	}
	if f := frames[1]; f.Symbol != "middle" || f.Module != bin+" (deleted)" {
		t.Errorf("frame 1 of a deleted binary: %+v", f)
	}
}
