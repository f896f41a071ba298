// Package decode turns raw probe records into swoll events: JSON lines for the plugin and strace-like lines
// for people. It is the agent's per-event hot path: it appends into caller-owned buffers and does not use
// encoding/json or allocate per event. Everything that does not change per event (the syscall object, the
// container object, key names) is rendered once, when the Decoder is made or a target is set. An argument
// renders by its type's entry in argDecoders (argtypes.go), beside its syscalls.ArgInfo; the few calls that
// show only the arguments their command takes are in callShows.
package decode

import (
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/eventline"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/protocol"
	"github.com/swoll-dev/swoll/render"
	"github.com/swoll-dev/swoll/syscalls"
)

// Options configure a Decoder.
type Options struct {
	Arch    syscalls.Arch // default: the running GOARCH
	Node    string        // stamped on every event
	Session string        // stamped on every event
	// MonoToWall is added to the probe's CLOCK_MONOTONIC timestamps to get Unix nanoseconds.
	MonoToWall int64
}

// Decoder renders records. It is not safe for concurrent use.
type Decoder struct {
	opts  Options
	calls []*call // indexed by syscall number; nil for numbers the table does not know
	// targets holds each target's `,"container":{...},"node":"..."` fragment.
	targets map[uint32]*target
	// nodeFrag is `,"node":"..."` (or nothing) for records of unknown targets.
	nodeFrag []byte
	// sessionFrag is `,"session":"...","error":"`.
	sessionFrag []byte
	flags       archFlags
	t           decTables
	ioctls      map[uint64]syscalls.IoctlSpec // syscalls.IoctlArgs of the architecture
	scratch     []byte                        // the JSON args an AppendCLI line is rendered from
	ns          nsCache
	id          idCache
	// parts and args hold the event being rendered, join joins them (AppendJSON)
	parts   eventline.Parts
	args    []byte
	unknown []byte // the prefix of a number the table does not know
	join    eventline.Joiner
}

// idCache holds the rendering of the last thread's identity (pid, tid, container pid, uid, gid, comm):
// a thread makes its calls in bursts, and these numbers and the escaped comm are a good part of a line.
type idCache struct {
	pid, tid, nsPid, uid, gid uint32
	comm                      [16]byte
	valid                     bool
	n                         int
	buf                       [256]byte // the longest: five 10-digit numbers, 16 bytes escaped as \u00XX
}

// identity is the rendering of rec's thread, valid until the next call.
func (d *Decoder) identity(rec *record.Record) []byte {
	c := &d.id
	if !c.valid || c.tid != rec.Tid || c.pid != rec.Pid || c.nsPid != rec.NsPid || c.uid != rec.UID ||
		c.gid != rec.GID || c.comm != rec.Comm {
		b := append(c.buf[:0], `,"pid":`...)
		b = strconv.AppendUint(b, uint64(rec.Pid), 10)
		b = append(b, `,"tid":`...)
		b = strconv.AppendUint(b, uint64(rec.Tid), 10)
		b = append(b, `,"container_pid":`...)
		b = strconv.AppendUint(b, uint64(rec.NsPid), 10)
		b = append(b, `,"uid":`...)
		b = strconv.AppendUint(b, uint64(rec.UID), 10)
		b = append(b, `,"gid":`...)
		b = strconv.AppendUint(b, uint64(rec.GID), 10)
		b = append(b, `,"comm":`...)
		b = appendJSONString(b, cString(rec.Comm[:]))
		if len(b) > len(c.buf) { // cannot happen (see buf); render it uncached
			c.valid = false
			return b
		}
		c.pid, c.tid, c.nsPid, c.uid, c.gid, c.comm = rec.Pid, rec.Tid, rec.NsPid, rec.UID, rec.GID, rec.Comm
		c.valid, c.n = true, len(b)
	}
	return c.buf[:c.n]
}

// nsCache holds the rendering of the last namespace triple: consecutive events mostly come from the same
// container, and ten-digit inode numbers are a good part of a line's formatting cost.
type nsCache struct {
	pid, uts, mnt uint32
	valid         bool
	n             int
	buf           [80]byte
}

// namespaces is the rendering of rec's namespaces, valid until the next call.
func (d *Decoder) namespaces(rec *record.Record) []byte {
	c := &d.ns
	if !c.valid || c.pid != rec.PidNS || c.uts != rec.UtsNS || c.mnt != rec.MntNS {
		b := append(c.buf[:0], `,"pid_ns":`...)
		b = strconv.AppendUint(b, uint64(rec.PidNS), 10)
		b = append(b, `,"uts_ns":`...)
		b = strconv.AppendUint(b, uint64(rec.UtsNS), 10)
		b = append(b, `,"mount_ns":`...)
		b = strconv.AppendUint(b, uint64(rec.MntNS), 10)
		c.pid, c.uts, c.mnt, c.valid, c.n = rec.PidNS, rec.UtsNS, rec.MntNS, true, len(b)
	}
	return c.buf[:c.n]
}

// call is what a Decoder precomputes for one syscall.
type call struct {
	spec *syscalls.Syscall
	// prefix is `{"syscall":{...},"start":`, everything a line holds before its first per-event value.
	prefix []byte
	params []param
	// shows, for the calls in callShows, says how many of the n params a record shows.
	shows func(d *Decoder, rec *record.Record, n int) int
}

// param is what a Decoder precomputes for one argument.
type param struct {
	dec       *argDecoder  // how its type renders (argDecoders)
	dir       syscalls.Dir // its type's direction
	key       []byte       // `"name":`
	truncKey  []byte       // `,"name_truncated":true`
	unreadKey []byte       // `,"name_unreadable":true`
	tab       *table       // the flag or value table of ArgFlags and ArgEnum args
	// related is the index of the argument this one's rendering depends on (the domain of a protocol, the
	// flags of an open mode: argDecoder.related), or -1.
	related int
}

type target struct {
	frag      []byte
	container event.Container // for the CLI prefix
}

// archFlags are the tables that differ between architectures.
type archFlags struct {
	open   []flagName
	ptrace map[uint64]string
}

// New makes a Decoder.
func New(opts Options) *Decoder {
	if opts.Arch == "" {
		opts.Arch = syscalls.Arch(runtime.GOARCH)
	}
	return newDecoder(opts, tableLookup(opts.Arch))
}

// newDecoder makes a Decoder over the syscalls that lookup returns for numbers 0..maxNr.
func newDecoder(opts Options, specs []*syscalls.Syscall) *Decoder {
	d := &Decoder{
		opts:    opts,
		targets: map[uint32]*target{},
		flags:   archFlags{open: openFlagSet(opts.Arch), ptrace: ptraceRequests(opts.Arch)},
	}
	d.t = newDecTables(opts.Arch)
	d.ioctls = syscalls.IoctlArgs(opts.Arch)
	for _, s := range specs {
		if s == nil || s.Nr < 0 || s.Nr > maxTableNr {
			continue
		}
		for len(d.calls) <= s.Nr {
			d.calls = append(d.calls, nil)
		}
		d.calls[s.Nr] = d.compile(s)
	}
	if opts.Node != "" {
		d.nodeFrag = append([]byte(`,"node":`), appendJSONString(nil, []byte(opts.Node))...)
	}
	d.sessionFrag = append([]byte(`,"session":`), appendJSONString(nil, []byte(opts.Session))...)
	d.sessionFrag = append(d.sessionFrag, `,"error":"`...)
	return d
}

// maxTableNr bounds the syscall numbers a table may use (both architectures stay well below it).
const maxTableNr = 4096

func (d *Decoder) compile(s *syscalls.Syscall) *call {
	c := &call{spec: s, shows: callShows[s.Name]}
	c.prefix = append(c.prefix, `{"syscall":{"nr":`...)
	c.prefix = strconv.AppendInt(c.prefix, int64(s.Nr), 10)
	c.prefix = append(c.prefix, `,"name":`...)
	c.prefix = appendJSONString(c.prefix, []byte(s.Name))
	c.prefix = append(c.prefix, `,"class":`...)
	c.prefix = appendJSONString(c.prefix, []byte(s.Class))
	c.prefix = append(c.prefix, `,"group":`...)
	c.prefix = appendJSONString(c.prefix, []byte(s.Group))
	c.prefix = append(c.prefix, `,"arch":`...)
	c.prefix = appendJSONString(c.prefix, []byte(d.opts.Arch))
	c.prefix = append(c.prefix, `},"start":`...)
	for i, sp := range s.Params {
		if i >= record.MaxArgs {
			break
		}
		p := param{dec: decoderOf(sp.Type), dir: sp.Type.Info().Dir}
		p.related = p.dec.related.index(s, i)
		p.key = appendJSONString(nil, []byte(sp.Name))
		p.key = append(p.key, ':')
		p.truncKey = append([]byte{','}, appendJSONString(nil, []byte(sp.Name+event.TruncatedSuffix))...)
		p.truncKey = append(p.truncKey, ":true"...)
		p.unreadKey = append([]byte{','}, appendJSONString(nil, []byte(sp.Name+event.UnreadableSuffix))...)
		p.unreadKey = append(p.unreadKey, ":true"...)
		if sp.Set != "" {
			p.tab = d.t.all.add(d.opts.Arch, sp.Set)
		}
		c.params = append(c.params, p)
	}
	return c
}

// callShows holds the calls whose records show only the arguments their command takes, as strace shows
// them: how many of the call's n parameters a record shows.
var callShows = map[string]func(d *Decoder, rec *record.Record, n int) int{
	"futex": func(_ *Decoder, rec *record.Record, n int) int { return min(n, futexArgs(rec.Args[1])) },
	"fcntl": func(_ *Decoder, rec *record.Record, n int) int {
		if !fcntlTakesArg(rec.Args[1]) {
			return min(n, 2)
		}
		return n
	},
	"prctl": func(_ *Decoder, rec *record.Record, n int) int { return min(n, 1+prctlArgs(rec.Args[0])) },
	"ioctl": func(d *Decoder, rec *record.Record, n int) int {
		if !d.ioctlTakesArg(rec.Args[1]) {
			return min(n, 2)
		}
		return n
	},
	"mremap": func(_ *Decoder, rec *record.Record, n int) int {
		if rec.Args[3]&mremapFixed == 0 { // new_address counts only with MREMAP_FIXED
			return min(n, 4)
		}
		return n
	},
	"mknod":   mknodShows,
	"mknodat": mknodShows,
}

// mknodShows leaves out mknod's dev unless the mode (the param before it) makes a device.
func mknodShows(_ *Decoder, rec *record.Record, n int) int {
	if m := n - 2; m >= 0 && !mknodTakesDev(rec.Args[m]) {
		return n - 1
	}
	return n
}

// SetTarget registers (or replaces) the container metadata stamped on records carrying targetID.
func (d *Decoder) SetTarget(targetID uint32, t *protocol.Target) {
	if t == nil {
		d.RemoveTarget(targetID)
		return
	}
	c := event.Container{
		ID:        stripScheme(t.ContainerID),
		Pod:       t.Pod,
		Name:      t.Container,
		Image:     t.Image,
		Namespace: t.Namespace,
	}
	if t.RestartCount != nil {
		n := *t.RestartCount
		c.RestartCount = &n
	}
	if len(t.Labels) > 0 {
		c.Labels = make(map[string]string, len(t.Labels))
		for k, v := range t.Labels {
			c.Labels[k] = v
		}
	}
	frag := []byte(`,"container":{`)
	first := true
	field := func(key, val string) {
		if val == "" {
			return
		}
		if !first {
			frag = append(frag, ',')
		}
		first = false
		frag = append(frag, key...)
		frag = appendJSONString(frag, []byte(val))
	}
	field(`"id":`, c.ID)
	field(`"pod":`, c.Pod)
	field(`"name":`, c.Name)
	field(`"image":`, c.Image)
	field(`"namespace":`, c.Namespace)
	if c.RestartCount != nil {
		if !first {
			frag = append(frag, ',')
		}
		first = false
		frag = append(frag, `"restart_count":`...)
		frag = strconv.AppendInt(frag, int64(*c.RestartCount), 10)
	}
	if len(c.Labels) > 0 {
		if !first {
			frag = append(frag, ',')
		}
		frag = append(frag, `"labels":{`...)
		keys := make([]string, 0, len(c.Labels))
		for k := range c.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				frag = append(frag, ',')
			}
			frag = appendJSONString(frag, []byte(k))
			frag = append(frag, ':')
			frag = appendJSONString(frag, []byte(c.Labels[k]))
		}
		frag = append(frag, '}')
	}
	frag = append(frag, '}')
	frag = append(frag, d.nodeFrag...)
	d.targets[targetID] = &target{frag: frag, container: c}
}

// stripScheme drops the "containerd://" style prefix of a pod status container id.
func stripScheme(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		return id[i+3:]
	}
	return id
}

// RemoveTarget forgets targetID.
func (d *Decoder) RemoveTarget(targetID uint32) {
	delete(d.targets, targetID)
}

func (d *Decoder) call(nr uint32) *call {
	if int(nr) < len(d.calls) {
		return d.calls[nr]
	}
	return nil
}

// AppendJSON appends rec as one event JSON line (ending in '\n') in the key order of event.Event.
func (d *Decoder) AppendJSON(dst []byte, rec *record.Record) []byte {
	return d.join.Append(dst, d.Parts(rec))
}

// Parts renders rec in parts (package eventline), for AppendJSON or for a binary framing of the stream (package
// wire). The parts alias the Decoder's buffers: they are valid until its next call.
func (d *Decoder) Parts(rec *record.Record) *eventline.Parts {
	p := &d.parts
	c := d.call(rec.Nr)
	if c != nil {
		p.Prefix = c.prefix
	} else {
		d.unknown = appendUnknownPrefix(d.unknown[:0], rec.Nr, d.opts.Arch)
		p.Prefix = d.unknown
	}
	p.Start = int64(rec.Start) + d.opts.MonoToWall
	p.Finish = int64(rec.Finish) + d.opts.MonoToWall
	p.Identity = d.identity(rec)
	p.Session = d.sessionFrag
	if errno, failed := syscalls.ErrnoFromReturn(rec.Ret); failed {
		p.Error = syscalls.ErrnoName(errno)
	} else {
		p.Error = "OK"
	}
	p.Return = rec.Ret
	p.Namespaces = d.namespaces(rec)
	if t := d.target(rec.TargetID); t != nil {
		p.Target = t.frag
	} else {
		p.Target = d.nodeFrag
	}
	d.args = d.appendArgs(d.args[:0], c, rec)
	p.Args = d.args
	return p
}

func (d *Decoder) target(id uint32) *target {
	if id == 0 || len(d.targets) == 0 {
		return nil
	}
	return d.targets[id]
}

// appendUnknownPrefix renders the syscall object of a number the table does not know.
func appendUnknownPrefix(dst []byte, nr uint32, arch syscalls.Arch) []byte {
	dst = append(dst, `{"syscall":{"nr":`...)
	dst = strconv.AppendUint(dst, uint64(nr), 10)
	dst = append(dst, `,"name":"syscall_`...)
	dst = strconv.AppendUint(dst, uint64(nr), 10)
	dst = append(dst, `","class":"unknown","group":"unknown","arch":"`...)
	dst = append(dst, arch...)
	return append(dst, `"},"start":`...)
}

// AppendCLI appends rec as one strace-like line (ending in '\n'):
// [comm/pid] (ENOENT) openat(dirfd=AT_FDCWD, pathname="/etc/x", flags=O_RDONLY|O_CLOEXEC) = -1 <12µs>
// It renders the arguments as JSON first and formats them with event's CLI formatter, so that the agent's
// local output and the plugin's are the same code.
func (d *Decoder) AppendCLI(dst []byte, rec *record.Record) []byte {
	c := d.call(rec.Nr)
	d.scratch = d.appendArgs(d.scratch[:0], c, rec)
	line := render.Call{
		Comm:     cString(rec.Comm[:]),
		Pid:      int64(rec.Pid),
		Args:     d.scratch,
		Duration: int64(rec.Finish) - int64(rec.Start),
		Return:   rec.Ret,
	}
	if errno, failed := syscalls.ErrnoFromReturn(rec.Ret); failed {
		line.Error = syscalls.ErrnoName(errno)
	}
	if c != nil {
		line.Syscall = c.spec.Name
		line.Params = c.spec.Params
	} else {
		line.Nr = int64(rec.Nr)
	}
	if t := d.target(rec.TargetID); t != nil {
		line.Container = &t.container
	}
	return render.AppendCall(dst, &line)
}
