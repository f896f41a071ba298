//go:build linux

package symbolize

import (
	"bytes"
	"container/list"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/event/stack"
)

// DefaultBudget is the cache's size when Config.Budget is 0: enough for the symbol tables of a few dozen
// typical binaries and libraries (glibc's .dynsym is ~100 KiB here, a 30 MB Go binary's functions ~1.5 MiB).
const DefaultBudget = 64 << 20

// DefaultRecheck is how often, at most, a process's maps are read again when Config.Recheck is 0: when one
// of its ips lies outside the mappings known (dlopen, a new thread's stack of code) or its executable changed.
const DefaultRecheck = 100 * time.Millisecond

// AnonModule is the module of an ip in anonymous executable memory (JIT code: the JVM, V8, LuaJIT), which
// has no file and no symbols; its module offset is the offset in the mapping.
const AnonModule = "[anon]"

// maxVDSO bounds the vDSO image read from a process's memory (it is two pages today).
const maxVDSO = 1 << 20

// minUserAddr: an ip below it is a broken frame-pointer chain's null or small value, never code, and does not
// make the maps be read again.
const minUserAddr = 0x1000

// Config configures a Symbolizer.
type Config struct {
	// Budget bounds the bytes of symbol tables, demangled names and process maps the cache keeps; the least
	// recently used go first. 0: DefaultBudget. A module whose table alone is larger is kept without symbols
	// (its frames show module+offset).
	Budget int64
	// Recheck is the least time between two readings of one process's maps, and between two checks of its
	// executable. 0: DefaultRecheck; negative: every call (tests).
	Recheck time.Duration
	// Now is the clock Recheck is measured on; nil: time.Now.
	Now func() time.Time
}

// Stats is the cache's state, for the agent's stats.
type Stats struct {
	Bytes     int64 // held by symbol tables, demangled names and process maps
	Budget    int64
	Modules   int64 // files (and vDSO images) whose symbols are cached, each once whatever its paths
	Processes int64 // processes whose maps are cached
	// Hits and Misses count frames: answered from cached maps and tables, or after reading a process's maps
	// or a file.
	Hits, Misses uint64
	Evictions    uint64 // modules and processes dropped for the budget
	MapsReads    uint64
}

// Symbolizer turns the user-space instruction pointers of a process into frames, symbolized from the files the
// process maps (seen through /proc/PID/map_files, or /proc/PID/root: the container's own binaries).
//
// Symbolize and Forget are called by one goroutine, the Symbolizer's owner (the agent's decoder, which
// handles records one at a time): the maps, modules and LRU list are its state and have no lock. Stats may be
// called from any goroutine: it reads counters the owner updates atomically.
type Symbolizer struct {
	budget  int64
	recheck time.Duration
	now     func() time.Time

	procs   map[int]*process
	modules map[string]*module // by build id key, and by file identity key (aliases)
	lru     list.List          // of *module and *process, most recently used first
	used    int64

	stats struct {
		bytes, modules, procs              atomic.Int64
		hits, misses, evictions, mapsReads atomic.Uint64
	}
}

// process is what the cache keeps of one process.
type process struct {
	pid     int
	maps    []mapping
	exe     fileID    // of /proc/PID/exe when maps were read
	read    time.Time // when maps were read
	checked time.Time // when exe was last compared
	cost    int64
	elem    *list.Element
}

// fileID is a file's identity when it has no build id.
type fileID struct {
	dev, ino uint64
	mtime    int64
	size     int64
}

func (id fileID) key() string {
	return "file:" + strconv.FormatUint(id.dev, 16) + ":" + strconv.FormatUint(id.ino, 10) + ":" +
		strconv.FormatInt(id.mtime, 10) + ":" + strconv.FormatInt(id.size, 10)
}

func statID(path string) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileID{}, err
	}
	return fileID{dev: st.Dev, ino: st.Ino, mtime: st.Mtim.Nano(), size: st.Size}, nil
}

// New makes a Symbolizer.
func New(cfg Config) *Symbolizer {
	s := &Symbolizer{
		budget:  cfg.Budget,
		recheck: cfg.Recheck,
		now:     cfg.Now,
		procs:   make(map[int]*process),
		modules: make(map[string]*module),
	}
	if s.budget <= 0 {
		s.budget = DefaultBudget
	}
	if s.recheck == 0 {
		s.recheck = DefaultRecheck
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// ErrNoProcess wraps the error of a process whose maps cannot be read (it exited).
var ErrNoProcess = errors.New("process maps unreadable")

// Symbolize appends one frame per ip of process pid (a host pid: the thread group id) to dst and returns it.
// ips are what bpf_get_stack(BPF_F_USER_STACK) gives, innermost first: the first is where the process
// entered the kernel, the others return addresses; each is looked up at ip-1 (the call or syscall instruction
// before it) and its offset counted from ip, as strace -k does.
//
// Every ip gets a frame: with a symbol and module, with a module only (no symbol covers it, or the file
// could not be read), or bare (it lies in no mapping). The error is non-nil only when the process's maps
// could not be read (errors.Is(err, ErrNoProcess)); the frames are bare then.
//
// Warm (the process's maps and modules cached), it reads no file and, when dst has room, allocates nothing;
// its only system call is a stat of /proc/PID/exe once per Recheck.
func (s *Symbolizer) Symbolize(dst []stack.Frame, pid int, ips []uint64) ([]stack.Frame, error) {
	now := s.now()
	p, fresh, err := s.process(pid, now)
	if err != nil {
		for _, ip := range ips {
			dst = append(dst, stack.Frame{IP: stack.Addr(ip)})
		}
		s.stats.misses.Add(uint64(len(ips)))
		return dst, err
	}
	reread := false
	var hits, misses uint64
	for i, ip := range ips {
		f := stack.Frame{IP: stack.Addr(ip)}
		m := find(p.maps, ip)
		loaded := fresh
		if m == nil && !reread && ip >= minUserAddr && s.due(p.read, now) {
			// dlopen, or an exec the periodic check has not seen yet: read the maps again, once a call
			reread, loaded = true, true
			if err := s.readMaps(p, now); err != nil {
				s.forget(p)
				for _, ip := range ips[i:] {
					dst = append(dst, stack.Frame{IP: stack.Addr(ip)})
				}
				s.stats.hits.Add(hits)
				s.stats.misses.Add(misses + uint64(len(ips)-i))
				return dst, err
			}
			m = find(p.maps, ip)
		}
		if s.fill(&f, p, m, ip) {
			loaded = true
		}
		if loaded {
			misses++
		} else {
			hits++
		}
		dst = append(dst, f)
	}
	s.stats.hits.Add(hits)
	s.stats.misses.Add(misses)
	return dst, nil
}

// fill symbolizes ip of mapping m into f; it reports whether it had to read a file.
func (s *Symbolizer) fill(f *stack.Frame, p *process, m *mapping, ip uint64) (loaded bool) {
	if m == nil {
		return false
	}
	f.Module = m.path
	if f.Module == "" {
		f.Module = AnonModule
	}
	off := ip - m.start + m.pgoff
	f.ModuleOffset = off
	mod, loaded := s.resolve(p, m)
	if mod == nil || mod.syms.len() == 0 || off == 0 {
		return loaded
	}
	va, ok := mod.vaddr(off - 1)
	if !ok {
		return loaded
	}
	if i := mod.syms.lookup(va); i >= 0 {
		f.Symbol = s.symbolName(mod, i)
		f.Offset = va + 1 - mod.syms.addrs[i]
	}
	return loaded
}

// Forget drops what the cache knows of process pid: the agent calls it when the process exits or execs.
func (s *Symbolizer) Forget(pid int) {
	if p := s.procs[pid]; p != nil {
		s.forget(p)
	}
}

// Stats returns the cache's counters. It is safe for concurrent use.
func (s *Symbolizer) Stats() Stats {
	return Stats{
		Bytes:     s.stats.bytes.Load(),
		Budget:    s.budget,
		Modules:   s.stats.modules.Load(),
		Processes: s.stats.procs.Load(),
		Hits:      s.stats.hits.Load(),
		Misses:    s.stats.misses.Load(),
		Evictions: s.stats.evictions.Load(),
		MapsReads: s.stats.mapsReads.Load(),
	}
}

func (s *Symbolizer) due(last, now time.Time) bool {
	return s.recheck < 0 || now.Sub(last) >= s.recheck
}

// process returns pid's cached state, reading its maps (fresh) when they are not cached or its executable
// changed.
func (s *Symbolizer) process(pid int, now time.Time) (p *process, fresh bool, err error) {
	p = s.procs[pid]
	if p != nil {
		s.touch(p.elem)
		if !s.due(p.checked, now) {
			return p, false, nil
		}
		p.checked = now
		exe, err := statID(procPath(pid, "exe"))
		if err == nil && exe == p.exe {
			return p, false, nil
		}
		// an exec (or the pid was reused): everything known of the old image is wrong
		s.forget(p)
	}
	p = &process{pid: pid}
	if err := s.readMaps(p, now); err != nil {
		return nil, false, err
	}
	s.procs[pid] = p
	p.elem = s.lru.PushFront(p)
	s.account(p.cost)
	s.stats.procs.Store(int64(len(s.procs)))
	s.evict(p.elem)
	return p, true, nil
}

// readMaps (re)reads p's executable mappings, keeping what was resolved of the mappings that did not change.
func (s *Symbolizer) readMaps(p *process, now time.Time) error {
	s.stats.mapsReads.Add(1)
	exe, exeErr := statID(procPath(p.pid, "exe"))
	b, err := os.ReadFile(procPath(p.pid, "maps"))
	if err == nil && len(b) == 0 {
		err = errors.New("no mappings (a kernel thread, or a process that exited)")
	}
	if err != nil {
		return fmt.Errorf("%w: pid %d: %w", ErrNoProcess, p.pid, err)
	}
	maps, err := parseMaps(b)
	if err != nil {
		return fmt.Errorf("%w: pid %d: %w", ErrNoProcess, p.pid, err)
	}
	old := p.maps
	for i := range maps {
		m := &maps[i]
		if o := find(old, m.start); o != nil && o.start == m.start && o.end == m.end && o.pgoff == m.pgoff &&
			o.dev == m.dev && o.ino == m.ino && o.path == m.path {
			m.mod, m.noFile = o.mod, o.noFile
		}
	}
	cost := int64(128)
	for i := range maps {
		cost += mappingCost + int64(len(maps[i].path))
	}
	p.maps = maps
	if exeErr == nil {
		p.exe = exe
	}
	p.read, p.checked = now, now
	if p.elem != nil {
		s.account(cost - p.cost)
	}
	p.cost = cost
	return nil
}

func procPath(pid int, name string) string {
	return "/proc/" + strconv.Itoa(pid) + "/" + name
}

// resolve returns m's module, loading it on first use (or after it was evicted); it reports whether it read a
// file. It returns nil for memory no file backs (anonymous code, [vsyscall]).
func (s *Symbolizer) resolve(p *process, m *mapping) (*module, bool) {
	if m.noFile {
		return nil, false
	}
	if m.mod != nil && !m.mod.evicted() {
		s.touch(m.mod.elem)
		return m.mod, false
	}
	m.mod = nil
	switch {
	case m.path == "[vdso]":
		m.mod = s.loadVDSO(p.pid, m)
	case m.path == "" || m.path[0] == '[' || m.ino == 0:
		m.noFile = true
		return nil, false
	default:
		m.mod = s.loadFile(p.pid, m)
	}
	return m.mod, true
}

// loadFile finds the module of a file mapping: by the file's identity, by its build id, or by reading its
// symbols. A file that cannot be opened or read gets an empty module, so its frames show module+offset.
func (s *Symbolizer) loadFile(pid int, m *mapping) *module {
	// map_files reaches the very file mapped (even deleted or replaced); reading it needs CAP_SYS_ADMIN, which
	// the agent has. The process's root is the fallback: the container's view of the path.
	paths := [2]string{
		procPath(pid, "map_files/"+strconv.FormatUint(m.start, 16)+"-"+strconv.FormatUint(m.end, 16)),
		procPath(pid, "root") + strings.TrimSuffix(m.path, " (deleted)"),
	}
	var errs []error
	for _, path := range paths {
		id, err := statID(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		idKey := id.key()
		if mod := s.modules[idKey]; mod != nil {
			s.touch(mod.elem)
			return mod
		}
		mod, err := s.loadPath(path, idKey)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return mod
	}
	// unreadable: remembered for this mapping only (a later maps reading tries again)
	return s.insert(&module{
		key:    "unreadable:" + strconv.Itoa(pid) + ":" + strconv.FormatUint(m.start, 16),
		reason: fmt.Sprintf("opening %s: %v", m.path, errors.Join(errs...)),
		cost:   moduleCost,
	}, "")
}

// loadPath reads the module of the file at path, whose identity key is idKey.
func (s *Symbolizer) loadPath(path, idKey string) (*module, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	info, err := openELF(f)
	if err != nil {
		return s.insert(&module{key: idKey, reason: err.Error(), cost: moduleCost}, ""), nil
	}
	if info.key != "" {
		if mod := s.modules[info.key]; mod != nil {
			s.alias(mod, idKey)
			return mod, nil
		}
	}
	mod := buildModule(info, s.budget)
	if info.key == "" {
		mod.key = idKey
		return s.insert(mod, ""), nil
	}
	return s.insert(mod, idKey), nil
}

// loadVDSO reads the vDSO image from the process's memory; it is the same for every process of a kernel (and
// architecture), so its build id finds it cached after the first.
func (s *Symbolizer) loadVDSO(pid int, m *mapping) *module {
	size := min(m.end-m.start, maxVDSO)
	buf := make([]byte, size)
	f, err := os.Open(procPath(pid, "mem"))
	if err == nil {
		_, err = f.ReadAt(buf, int64(m.start))
		_ = f.Close()
	}
	key := "vdso:" + strconv.Itoa(pid) + ":" + strconv.FormatUint(m.start, 16)
	if err != nil {
		return s.insert(&module{key: key, reason: "reading the vDSO: " + err.Error(), cost: moduleCost}, "")
	}
	info, err := openELF(bytes.NewReader(buf))
	if err != nil {
		return s.insert(&module{key: key, reason: "vDSO: " + err.Error(), cost: moduleCost}, "")
	}
	if info.key != "" {
		if mod := s.modules[info.key]; mod != nil {
			s.touch(mod.elem)
			return mod
		}
		key = info.key
	}
	mod := buildModule(info, s.budget)
	mod.key = key
	return s.insert(mod, "")
}

// insert caches mod under its key (and alias, when not ""), evicting what the budget requires.
func (s *Symbolizer) insert(mod *module, alias string) *module {
	if mod.key == "" {
		mod.key = alias
		alias = ""
	}
	if old := s.modules[mod.key]; old != nil {
		s.dropModule(old)
	}
	s.modules[mod.key] = mod
	mod.elem = s.lru.PushFront(mod)
	s.account(mod.cost)
	if alias != "" {
		s.alias(mod, alias)
	}
	s.stats.modules.Add(1)
	s.evict(mod.elem)
	return mod
}

func (s *Symbolizer) alias(mod *module, key string) {
	if key == "" || key == mod.key || s.modules[key] == mod {
		return
	}
	if old := s.modules[key]; old != nil {
		s.dropModule(old)
	}
	s.modules[key] = mod
	mod.aliases = append(mod.aliases, key)
	s.grow(mod, int64(len(key))+aliasCost)
}

// aliasCost is what a key leading to a module costs besides its text.
const aliasCost = 64

func (s *Symbolizer) touch(e *list.Element) {
	if e != nil {
		s.lru.MoveToFront(e)
	}
}

// grow charges the module for memory it took after it was cached (demangled names, aliases).
func (s *Symbolizer) grow(mod *module, n int64) {
	mod.cost += n
	if mod.elem != nil {
		s.account(n)
		s.evict(mod.elem)
	}
}

func (s *Symbolizer) account(n int64) {
	s.used += n
	s.stats.bytes.Store(s.used)
}

// evict drops the least recently used entries until the cache fits its budget, never keep (the entry being
// added or used).
func (s *Symbolizer) evict(keep *list.Element) {
	for s.used > s.budget {
		e := s.lru.Back()
		if e == keep {
			e = e.Prev()
		}
		if e == nil {
			return
		}
		switch v := e.Value.(type) {
		case *module:
			s.dropModule(v)
		case *process:
			s.forget(v)
		}
		s.stats.evictions.Add(1)
	}
}

func (s *Symbolizer) dropModule(mod *module) {
	if mod.elem == nil {
		return
	}
	s.lru.Remove(mod.elem)
	mod.elem = nil
	s.account(-mod.cost)
	if s.modules[mod.key] == mod {
		delete(s.modules, mod.key)
	}
	for _, k := range mod.aliases {
		if s.modules[k] == mod {
			delete(s.modules, k)
		}
	}
	// the tables go now; a frame that still holds a name keeps only that string alive
	mod.syms, mod.demang, mod.aliases = symtab{}, nil, nil
	s.stats.modules.Add(-1)
}

func (s *Symbolizer) forget(p *process) {
	if p.elem == nil {
		return
	}
	s.lru.Remove(p.elem)
	p.elem = nil
	s.account(-p.cost)
	if s.procs[p.pid] == p {
		delete(s.procs, p.pid)
	}
	s.stats.procs.Store(int64(len(s.procs)))
}
