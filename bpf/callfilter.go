//go:build linux

package bpf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/swoll-dev/swoll/callfilter"
	"github.com/swoll-dev/swoll/syscalls"
)

// exitfilter.h's enum xf_flag.
const (
	xfFailed    = 1
	xfSucceeded = 2
	xfErrno     = 4
	xfSlow      = 8
	xfComm      = 16
	xfPid       = 32
	xfPath      = 64
)

// The names exitfilter.h and fdpath.h give their constants and maps (the same in both objects).
const (
	varXfFlags  = "xf_flags"
	varXfMinNs  = "xf_min_ns"
	varXfErrnos = "xf_errnos"
	varFdLevel  = "fd_level"
	mapXfPaths  = "xf_paths"
	mapXfComms  = "xf_comms"
	mapXfPids   = "xf_pids"
	mapCallFds  = "call_fds"
	// MapFiltered counts, per CPU, the calls the filters dropped (CallFilter, Filtered).
	MapFiltered    = "filtered"
	mapFdstashHash = "fdstash_by_task"
	xfErrnoBytes   = (syscalls.MaxErrno + 1) / 8
	xfPathKeyBytes = 256
	callFdsEntries = 1024
	commKeyBytes   = 16
	fdstashMinimum = 1
)

// CallFilter is a session's incident filters and fd display (callfilter.Spec) as bpf/exitfilter.h and
// bpf/fdpath.h take them, in the probe and in counting mode alike: constants set before loading (Prepare), sets
// and the system calls' fd roles filled after (Fill). It is read-only once made: safe for concurrent use.
type CallFilter struct {
	flags   uint32
	minNs   uint64
	errnos  [xfErrnoBytes]uint8
	fdLevel uint32
	comms   [][commKeyBytes]byte
	pids    []uint32
	paths   []ProbeXfPathKey
	calls   map[uint32]ProbeCallFds
}

// NewCallFilter translates s (valid: callfilter.Spec.Validate) for the calls of table.
func NewCallFilter(s callfilter.Spec, table *syscalls.Table) (*CallFilter, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := &CallFilter{fdLevel: uint32(s.Fds)}
	if s.Failed {
		c.flags |= xfFailed
	}
	if s.Succeeded {
		c.flags |= xfSucceeded
	}
	if errnos := s.ErrnoNumbers(); len(errnos) > 0 {
		c.flags |= xfErrno
		for _, e := range errnos {
			c.errnos[e>>3] |= 1 << (e & 7)
		}
	}
	if s.SlowerThan > 0 {
		c.flags |= xfSlow
		c.minNs = uint64(s.SlowerThan.Nanoseconds())
	}
	for _, name := range s.Comms {
		var k [commKeyBytes]byte
		copy(k[:], name)
		c.comms = append(c.comms, k)
		c.flags |= xfComm
	}
	for _, p := range s.Pids {
		c.pids = append(c.pids, uint32(p))
		c.flags |= xfPid
	}
	for _, p := range s.Paths {
		c.paths = append(c.paths, pathKey(p, true))
	}
	for _, d := range s.Dirs() {
		if d != "/" {
			c.paths = append(c.paths, pathKey(d, true))
			d += "/"
		}
		c.paths = append(c.paths, pathKey(d, false))
	}
	if len(c.paths) > 0 {
		c.flags |= xfPath
	}
	if c.flags&xfPath != 0 || c.fdLevel > 0 {
		c.calls = map[uint32]ProbeCallFds{}
		for _, sc := range table.All() {
			if cf, ok := CallFds(sc); ok {
				c.calls[uint32(sc.Nr)] = cf
			}
		}
	}
	return c, nil
}

// pathKey is the LPM key of a path: with its NUL (exact: the path and nothing longer), or without (a prefix).
func pathKey(p string, exact bool) ProbeXfPathKey {
	var k ProbeXfPathKey
	n := copy(k.Data[:], p)
	if exact && n < len(k.Data) {
		n++ // the NUL, which Data already holds
	}
	k.Prefixlen = uint32(8 * n)
	return k
}

// fdpath.h's enum fd_role.
const (
	fdrFd     = 1
	fdrDirFd  = 2
	fdrPath   = 3
	fdrEPath  = 4
	fdrFdPair = 5
)

var fdRoles = [...]uint8{
	syscalls.FdArg:         fdrFd,
	syscalls.FdDir:         fdrDirFd,
	syscalls.FdPath:        fdrPath,
	syscalls.FdPathAtEntry: fdrEPath,
	syscalls.FdPair:        fdrFdPair,
}

// CallFds is call_fds' entry of sc (fdpath.h's struct call_fds), from its parameters' types; false when no
// argument or result is a file.
func CallFds(sc *syscalls.Syscall) (ProbeCallFds, bool) {
	var cf ProbeCallFds
	any := false
	for i, p := range sc.Params {
		if i >= len(cf.Role) {
			break
		}
		role := p.Type.Info().Fd
		if role == syscalls.FdNone || int(role) >= len(fdRoles) {
			continue
		}
		r := fdRoles[role]
		cf.Role[i] = r
		any = true
		switch r {
		case fdrFd, fdrDirFd, fdrEPath:
			cf.Entry = 1
		case fdrFdPair:
			cf.Pair = uint8(i + 1)
		}
	}
	if sc.RetFd {
		cf.RetFd = 1
		any = true
	}
	return cf, any
}

// Prepare sets the constants of spec (a probe or counting object; before loading): the verifier drops the
// checks of filters that are not set. Without -y the hash that holds the fds of calls in flight (kernels
// without task storage) shrinks to one entry.
func (c *CallFilter) Prepare(spec *ebpf.CollectionSpec) error {
	for name, v := range map[string]any{varXfFlags: c.flags, varXfMinNs: c.minNs, varXfErrnos: c.errnos,
		varFdLevel: c.fdLevel} {
		vs, ok := spec.Variables[name]
		if !ok {
			return fmt.Errorf("the object has no %s (bpf/exitfilter.h, bpf/fdpath.h)", name)
		}
		if err := vs.Set(v); err != nil {
			return fmt.Errorf("setting %s: %w", name, err)
		}
	}
	if m, ok := spec.Maps[mapFdstashHash]; ok && c.fdLevel == 0 {
		m.MaxEntries = fdstashMinimum
	}
	return nil
}

// Fill writes the sets and the system calls' fd roles into coll (loaded from a spec Prepare set up).
func (c *CallFilter) Fill(coll *ebpf.Collection) error {
	maps := map[string]*ebpf.Map{}
	for _, name := range []string{mapXfPaths, mapXfComms, mapXfPids, mapCallFds} {
		if maps[name] = coll.Maps[name]; maps[name] == nil {
			return fmt.Errorf("the object has no map %s (bpf/exitfilter.h, bpf/fdpath.h)", name)
		}
	}
	var errs []error
	one := uint8(1)
	for i := range c.paths {
		errs = append(errs, maps[mapXfPaths].Update(&c.paths[i], one, ebpf.UpdateAny))
	}
	for i := range c.comms {
		errs = append(errs, maps[mapXfComms].Update(c.comms[i], one, ebpf.UpdateAny))
	}
	for _, p := range c.pids {
		errs = append(errs, maps[mapXfPids].Update(p, one, ebpf.UpdateAny))
	}
	for nr, cf := range c.calls {
		if nr >= callFdsEntries {
			continue
		}
		errs = append(errs, maps[mapCallFds].Update(nr, cf, ebpf.UpdateAny))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("programming the call filters: %w", err)
	}
	return nil
}

// Filtered sums a per-CPU counter (MapFiltered): the calls the filters dropped.
func Filtered(m *ebpf.Map) (uint64, error) {
	var perCPU []uint64
	if err := m.Lookup(uint32(0), &perCPU); err != nil {
		return 0, fmt.Errorf("reading the filtered counter: %w", err)
	}
	var sum uint64
	for _, n := range perCPU {
		sum += n
	}
	return sum, nil
}
