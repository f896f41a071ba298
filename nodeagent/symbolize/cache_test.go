//go:build linux

package symbolize

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/event/stack"
)

// copyOf copies bin to a new file (another inode, the same build id).
func copyOf(t testing.TB, bin, name string) string {
	return buildOnce(t, name, func(out string) error { return runEnv(nil, "cp", bin, out) })
}

// TestHitsMisses: a process's first stack reads its maps and files (misses); the same stack again is served
// from the cache (hits), and so is another process's stack in the same files.
func TestHitsMisses(t *testing.T) {
	bin := cProgram(t)
	p, ips := cStack(t, bin)
	clock := &fakeClock{t: time.Unix(1e9, 0)} // still: no maps reading for an ip a broken walk made up
	s := New(Config{Now: clock.now})
	if _, err := s.Symbolize(nil, p.pid(), ips); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Misses != uint64(len(ips)) || st.Hits != 0 {
		t.Errorf("first stack: %d hits, %d misses, want 0 and %d", st.Hits, st.Misses, len(ips))
	}
	modules := st.Modules
	if _, err := s.Symbolize(nil, p.pid(), ips); err != nil {
		t.Fatal(err)
	}
	st = s.Stats()
	if st.Hits != uint64(len(ips)) || st.Misses != uint64(len(ips)) {
		t.Errorf("same stack again: %d hits, %d misses, want %d and %d", st.Hits, st.Misses, len(ips), len(ips))
	}
	if st.Processes != 1 || st.MapsReads != 1 || st.Bytes <= 0 || st.Budget != DefaultBudget {
		t.Errorf("stats %+v", st)
	}

	// another process of a copy of the same binary: one more process, no more modules (same build ids)
	p2, ips2 := cStack(t, copyOf(t, bin, "prog-copy"))
	frames, err := s.Symbolize(nil, p2.pid(), ips2)
	if err != nil {
		t.Fatal(err)
	}
	if frames[1].Symbol != "middle" || !strings.HasSuffix(frames[1].Module, "prog-copy") {
		t.Errorf("copy's frame 1: %+v", frames[1])
	}
	if st := s.Stats(); st.Modules != modules || st.Processes != 2 {
		t.Errorf("after a copy: %d modules, %d processes, want %d and 2", st.Modules, st.Processes, modules)
	}
	s.Forget(p2.pid())
	if st := s.Stats(); st.Processes != 1 {
		t.Errorf("after Forget: %d processes", st.Processes)
	}
}

// TestNoBuildID: a file without a build id is cached by its identity: a copy is another module.
func TestNoBuildID(t *testing.T) {
	tools(t, "gcc")
	bin := buildOnce(t, "prog-no-build-id", func(out string) error {
		return runEnv(nil, "gcc", "-O1", "-fno-omit-frame-pointer", "-Wl,--build-id=none", "-o", out, "testdata/prog.c", "-ldl")
	})
	s := New(Config{})
	p, ips := cStack(t, bin)
	frames, err := s.Symbolize(nil, p.pid(), ips)
	if err != nil || frames[1].Symbol != "middle" {
		t.Fatalf("%+v, %v", frames, err)
	}
	m := s.procs[p.pid()].maps
	mod := find(m, ips[1]).mod
	if !strings.HasPrefix(mod.key, "file:") {
		t.Errorf("module key %q, want a file identity", mod.key)
	}
	modules := s.Stats().Modules
	p2, ips2 := cStack(t, copyOf(t, bin, "prog-no-build-id-copy"))
	if _, err := s.Symbolize(nil, p2.pid(), ips2); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Modules; got != modules+1 {
		t.Errorf("%d modules after a copy without build id, want %d", got, modules+1)
	}
}

// TestBudget: a cache smaller than the tables it is asked for stays within its budget, evicts the least
// recently used, and still symbolizes right (reading files again).
func TestBudget(t *testing.T) {
	bin := cProgram(t)
	goBin := goProgram(t, "goprog-static", []string{"CGO_ENABLED=0"}, "")
	p, ips := cStack(t, bin)
	gp := start(t, goBin)
	l := strings.Fields(gp.line(t, "frame "))
	goIPs, goName := []uint64{addrs(t, "x "+l[1])[0]}, l[2]

	// what each module costs, in a cache large enough for all
	probe := New(Config{})
	_, _ = probe.Symbolize(nil, p.pid(), ips)
	_, _ = probe.Symbolize(nil, gp.pid(), goIPs)
	var largest int64
	for e := probe.lru.Front(); e != nil; e = e.Next() {
		if m, ok := e.Value.(*module); ok {
			largest = max(largest, m.cost)
		}
	}
	total := probe.Stats().Bytes
	budget := largest + total/8 // room for the largest table and the processes, not for everything
	if budget >= total {
		t.Fatalf("budget %d would hold everything (%d): the test shows nothing", budget, total)
	}

	clock := &fakeClock{t: time.Unix(1e9, 0)}
	s := New(Config{Budget: budget, Now: clock.now})
	check := func(when string, frames []stack.Frame, want []string) {
		t.Helper()
		if st := s.Stats(); st.Bytes > budget || st.Bytes != s.used {
			t.Errorf("%s: %d bytes cached (counted %d), budget %d", when, st.Bytes, s.used, budget)
		}
		for i, w := range want {
			if frames[i].Symbol != w && (w != "read" || !isRead(frames[i].Symbol)) {
				t.Errorf("%s: frame %d is %q, want %q", when, i, frames[i].Symbol, w)
			}
		}
	}
	frames, _ := s.Symbolize(nil, p.pid(), ips)
	check("C stack", frames, []string{"read", "middle", "main"})
	frames, _ = s.Symbolize(frames[:0], gp.pid(), goIPs)
	check("Go stack", frames, []string{goName})
	if s.Stats().Evictions == 0 {
		t.Errorf("nothing evicted: %+v", s.Stats())
	}
	misses := s.Stats().Misses
	frames, _ = s.Symbolize(frames[:0], p.pid(), ips)
	check("C stack again", frames, []string{"read", "middle", "main"})
	if s.Stats().Misses == misses {
		t.Error("the C stack again was served from a cache that had to evict its tables")
	}

	t.Run("a table larger than the budget", func(t *testing.T) {
		goMod := find(probe.procs[gp.pid()].maps, goIPs[0]).mod
		s := New(Config{Budget: goMod.cost / 2})
		frames, _ := s.Symbolize(nil, gp.pid(), goIPs)
		mod := find(s.procs[gp.pid()].maps, goIPs[0]).mod
		if f := frames[0]; f.Symbol != "" || f.Module != goBin || !strings.Contains(mod.reason, "larger than the cache") {
			t.Errorf("frame %+v, reason %q: want module+offset, and why", f, mod.reason)
		}
		if st := s.Stats(); st.Bytes > st.Budget {
			t.Errorf("%d bytes cached, budget %d", st.Bytes, st.Budget)
		}
	})
}

// TestStatsConcurrent: Stats is read from other goroutines while the owner symbolizes (go test -race).
func TestStatsConcurrent(t *testing.T) {
	bin := cProgram(t)
	p, ips := cStack(t, bin)
	s := New(Config{Recheck: -1})
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				_ = s.Stats()
			}
		}
	}()
	var frames []stack.Frame
	for range 50 {
		frames, _ = s.Symbolize(frames[:0], p.pid(), ips)
		s.Forget(p.pid())
	}
	close(done)
	wg.Wait()
	if st := s.Stats(); st.MapsReads != 50 || st.Processes != 0 {
		t.Errorf("stats %+v, want 50 maps reads and no process", st)
	}
}

// TestWarmNoAllocs: warm, a stack is symbolized without allocating (the per-event path).
func TestWarmNoAllocs(t *testing.T) {
	bin := cProgram(t)
	p, ips := cStack(t, bin)
	clock := &fakeClock{t: time.Unix(1e9, 0)} // the exec check's stat, once a Recheck, allocates its path
	s := New(Config{Now: clock.now})
	frames, err := s.Symbolize(nil, p.pid(), ips)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { frames, _ = s.Symbolize(frames[:0], p.pid(), ips) }); n != 0 {
		t.Errorf("%v allocations per warm stack", n)
	}
}

// BenchmarkSymbolize measures stacks symbolized per second, cold (an empty cache: maps, files and tables read)
// and warm, for the C program's stack (libc and the program) and a stripped Go program's (pclntab), and the
// bytes the cache holds afterwards.
func BenchmarkSymbolize(b *testing.B) {
	cBin := cProgram(b)
	goBin := goProgram(b, "goprog-static", []string{"CGO_ENABLED=0"}, "")
	cp, cIPs := cStack(b, cBin)
	gp := start(b, goBin)
	var goIPs []uint64
	for {
		l := gp.line(b, "")
		if l == "ready" {
			break
		}
		goIPs = append(goIPs, addrs(b, "x "+strings.Fields(l)[1])[0])
	}
	stacks := []struct {
		name string
		pid  int
		ips  []uint64
	}{
		{name: "C", pid: cp.pid(), ips: cIPs},
		{name: "Go", pid: gp.pid(), ips: goIPs},
	}
	for _, st := range stacks {
		b.Run(st.name+"/cold", func(b *testing.B) {
			var frames []stack.Frame
			var s *Symbolizer
			for b.Loop() {
				s = New(Config{})
				frames, _ = s.Symbolize(frames[:0], st.pid, st.ips)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "stacks/s")
			b.ReportMetric(float64(s.Stats().Bytes), "bytes-cached")
		})
		b.Run(st.name+"/warm", func(b *testing.B) {
			s := New(Config{})
			frames, _ := s.Symbolize(nil, st.pid, st.ips)
			for b.Loop() {
				frames, _ = s.Symbolize(frames[:0], st.pid, st.ips)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "stacks/s")
			b.ReportMetric(float64(b.N*len(st.ips))/b.Elapsed().Seconds(), "frames/s")
			b.ReportMetric(float64(s.Stats().Bytes), "bytes-cached")
		})
	}
}
