package decode

import (
	"strconv"

	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/syscalls"
)

// argDecoder is how the decoder renders an argument of one type; the type's syscalls.ArgInfo says the rest
// (what the probe copies, its direction, how a line prints it). Exactly one of text, value, target and
// whole is set.
type argDecoder struct {
	// text renders the value alone as the body of a JSON string (flags, names, modes).
	text func(dst []byte, v uint64) []byte
	// value renders the argument's value as JSON, from it and from the arguments it depends on.
	value argFunc
	// target renders what the argument points to, from what the probe copied. It runs only when the copy
	// succeeded and the call filled it (syscalls.Dir.Filled); the address (or null) shows otherwise.
	target argFunc
	// whole renders the argument on its own terms, and whether what it shows was cut short.
	whole func(d *Decoder, dst []byte, p *param, rec *record.Record, i int) ([]byte, bool)
	// cut: a target the probe kept only part of is marked "<name>_truncated" (strings, buffers, sockaddrs,
	// the structs whose size the caller gives).
	cut bool
	// related is the argument the rendering depends on (param.related).
	related relation
	// omit says whether a record leaves the argument out, as strace does.
	omit func(p *param, rec *record.Record) bool
	// quiet: a copy that failed is expected and not marked "<name>_unreadable".
	quiet bool
}

// argFunc renders argument i of rec, of parameter p, as JSON.
type argFunc func(d *Decoder, dst []byte, p *param, rec *record.Record, i int) []byte

// relation names the argument another one's rendering depends on.
type relation uint8

const (
	relNone      relation = iota
	relFirst              // the first (select's nfds, prctl's option)
	relPrev               // the one before (fcntl's command, a socket option's level, ioctl's request)
	relNext               // the one after (poll's nfds)
	relDomain             // the call's ArgSockDomain (socket's protocol)
	relOpenFlags          // the call's ArgOpenFlags (open's mode)
)

// index returns the index of the argument r names for argument i of s, or -1.
func (r relation) index(s *syscalls.Syscall, i int) int {
	switch r {
	case relFirst:
		return 0
	case relPrev:
		return i - 1
	case relNext:
		return i + 1
	case relDomain:
		return paramIndex(s, syscalls.ArgSockDomain)
	case relOpenFlags:
		return paramIndex(s, syscalls.ArgOpenFlags)
	}
	return -1
}

func paramIndex(s *syscalls.Syscall, t syscalls.ArgType) int {
	for i, p := range s.Params {
		if p.Type == t && i < record.MaxArgs {
			return i
		}
	}
	return -1
}

// argDecoders renders every syscalls.ArgType; TestArgDecodersComplete fails for a type left out.
var argDecoders = [syscalls.NumArgTypes]argDecoder{
	// Numbers.
	syscalls.ArgInt:   {value: argInt32},
	syscalls.ArgLong:  {value: argInt64},
	syscalls.ArgUint:  {value: argUint},
	syscalls.ArgSize:  {value: argUint},
	syscalls.ArgFd:    {value: argInt32},
	syscalls.ArgDirFd: {value: argDirFd},
	syscalls.ArgPid:   {value: argInt32},
	syscalls.ArgUID:   {value: argInt32}, // -1 as -1
	syscalls.ArgDev: {value: func(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return appendMakedev(dst, rec.Args[i])
	}},
	// Addresses nothing follows: as strace, NULL for 0.
	syscalls.ArgHex:  {value: argPointer},
	syscalls.ArgAddr: {value: argPointer},
	// Flags, modes and names.
	syscalls.ArgFlags: {value: func(_ *Decoder, dst []byte, p *param, rec *record.Record, i int) []byte {
		return p.tab.appendBitsJSON(dst, rec.Args[i])
	}},
	syscalls.ArgEnum: {value: func(_ *Decoder, dst []byte, p *param, rec *record.Record, i int) []byte {
		return p.tab.appendEnumJSON(dst, rec.Args[i], false)
	}},
	syscalls.ArgOpenFlags: {value: func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		dst = append(dst, '"')
		dst = appendOpenFlags(dst, rec.Args[i], d.flags.open)
		return append(dst, '"')
	}},
	// A mode_t argument is an unsigned short to strace. open's mode is garbage unless the call may create a
	// file; strace leaves it out too.
	syscalls.ArgMode: {text: func(dst []byte, v uint64) []byte { return appendOctal(dst, v&0xffff) },
		related: relOpenFlags, omit: func(p *param, rec *record.Record) bool {
			return p.related >= 0 && rec.Args[p.related]&(oCreat|oTmpfile) == 0
		}},
	syscalls.ArgFileMode:   {text: func(dst []byte, v uint64) []byte { return appendMode(dst, v&0xffff) }},
	syscalls.ArgAccessMode: {text: appendAccessMode},
	syscalls.ArgStatxFlags: {value: func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return d.appendStatxFlags(dst, rec.Args[i])
	}},
	syscalls.ArgSockDomain: {text: func(dst []byte, v uint64) []byte { return appendName(dst, v, addressFamilies[:]) }},
	syscalls.ArgSockType:   {text: appendSockType},
	syscalls.ArgSockProto:  {value: argSockProto, related: relDomain},
	syscalls.ArgSockLevel: {value: func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return d.t.sol.appendEnumJSON(dst, rec.Args[i], true)
	}},
	syscalls.ArgSockOptName: {value: func(d *Decoder, dst []byte, p *param, rec *record.Record, i int) []byte {
		if tb := d.optNames(rec.Args[p.related]); tb != nil {
			return tb.appendEnumJSON(dst, rec.Args[i], true)
		}
		return strconv.AppendInt(dst, int64(int32(rec.Args[i])), 10)
	}, related: relPrev},
	syscalls.ArgSignal:     {text: func(dst []byte, v uint64) []byte { return appendSignal(dst, uint64(uint32(v))) }},
	syscalls.ArgCloneFlags: {text: appendCloneFlags},
	syscalls.ArgMountFlags: {text: appendMountFlags},
	syscalls.ArgMmapFlags: {value: func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return d.appendMmapFlags(dst, rec.Args[i])
	}},
	syscalls.ArgPtraceRequest: {value: argPtraceRequest},
	syscalls.ArgFutexOp: {value: func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return d.appendFutexOp(dst, rec.Args[i])
	}},
	syscalls.ArgFcntlCmd: {value: func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return d.t.fcntlCmd.appendEnumJSON(dst, rec.Args[i], true)
	}},
	syscalls.ArgIoctlReq: {value: func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return d.appendIoctlReq(dst, rec.Args[i])
	}},
	syscalls.ArgPrctlOption: {value: func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return d.t.prctl.appendEnumJSON(dst, rec.Args[i], true)
	}},
	// Per a command.
	syscalls.ArgFcntlArg: {value: func(d *Decoder, dst []byte, p *param, rec *record.Record, i int) []byte {
		return d.appendFcntlArg(dst, rec.Args[p.related], rec.Args[i])
	}, related: relPrev},
	// prctl's arg2 is a name only for PR_SET_NAME and PR_GET_NAME; the copy fails for the other options.
	syscalls.ArgPrctlArg: {whole: func(d *Decoder, dst []byte, p *param, rec *record.Record, i int) ([]byte, bool) {
		return d.appendPrctlArg(dst, rec.Args[p.related], i, rec, rec.Ret), false
	}, related: relFirst, quiet: true},
	syscalls.ArgIoctlArg: {whole: func(d *Decoder, dst []byte, p *param, rec *record.Record, i int) ([]byte, bool) {
		return d.appendIoctlArg(dst, rec.Args[p.related], rec.Args[i], &rec.Captures[i], rec.Ret), false
	}, related: relPrev},
	// Strings and buffers.
	syscalls.ArgPath:        {target: argCString, cut: true},
	syscalls.ArgPathAtEntry: {target: argCString, cut: true},
	syscalls.ArgString:      {target: argCString, cut: true},
	syscalls.ArgStringOut:   {target: argCString, cut: true},
	syscalls.ArgStrArray:    {whole: argStrArray},
	syscalls.ArgBufIn:       {target: argBytes, cut: true},
	syscalls.ArgBufOut:      {target: argBytes, cut: true},
	syscalls.ArgDataIn:      {target: argBytes, cut: true},
	syscalls.ArgDataOut:     {target: argBytes, cut: true},
	syscalls.ArgIovec:       {target: argIovec},
	syscalls.ArgIovecOut:    {target: argIovec},
	syscalls.ArgMsghdr:      {target: argMsghdr},
	syscalls.ArgMsghdrOut:   {target: argMsghdr},
	// Sockets.
	syscalls.ArgSockaddrIn:    {target: argSockaddr, cut: true},
	syscalls.ArgSockaddrOut:   {target: argSockaddr, cut: true},
	syscalls.ArgSockOptVal:    {target: argOptVal},
	syscalls.ArgSockOptValOut: {target: argOptVal},
	// Structs the caller passes.
	syscalls.ArgOpenHow: {target: func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return d.appendOpenHow(dst, rec.Captures[i].Data)
	}, cut: true},
	syscalls.ArgCloneArgs: {target: func(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return appendCloneArgs(dst, rec.Captures[i].Data)
	}, cut: true},
	syscalls.ArgTimespec: {target: argTimespec},
	syscalls.ArgTimeval: {target: func(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return appendTimespec(dst, rec.Captures[i].Data, "tv_usec")
	}},
	syscalls.ArgTimespecPair: {target: func(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return appendUtimes(dst, rec.Captures[i].Data)
	}},
	syscalls.ArgItimerspec: {target: func(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return appendItimerspec(dst, rec.Captures[i].Data)
	}},
	syscalls.ArgSigset:    {target: argSigset},
	syscalls.ArgSigaction: {target: argSigaction},
	syscalls.ArgEpollEvent: {target: func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return d.appendEpollEvent(dst, rec.Captures[i].Data)
	}},
	syscalls.ArgFdSet: {target: func(_ *Decoder, dst []byte, p *param, rec *record.Record, i int) []byte {
		return appendFdSet(dst, rec.Captures[i].Data, int64(int32(rec.Args[p.related])))
	}, related: relFirst},
	syscalls.ArgCapHeader: {target: func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return d.appendCapHeader(dst, rec.Captures[i].Data)
	}},
	syscalls.ArgCapData: {target: argCapData},
	syscalls.ArgRlimit:  {target: argRlimit},
	syscalls.ArgPollFds: {target: func(d *Decoder, dst []byte, p *param, rec *record.Record, i int) []byte {
		dst, _ = d.appendPollFds(dst, rec.Captures[i].Data, rec.Args[p.related])
		return dst
	}, related: relNext},
	// Structs the kernel fills.
	syscalls.ArgTimespecOut:  {target: argTimespec},
	syscalls.ArgTimespecRem:  {target: argTimespec},
	syscalls.ArgSigsetOut:    {target: argSigset},
	syscalls.ArgSigactionOut: {target: argSigaction},
	syscalls.ArgStatOut: {target: func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return d.appendStat(dst, rec.Captures[i].Data)
	}},
	syscalls.ArgStatxOut: {target: func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return d.appendStatx(dst, rec.Captures[i].Data)
	}},
	syscalls.ArgCapDataOut: {target: argCapData},
	syscalls.ArgRlimitOut:  {target: argRlimit},
	syscalls.ArgUtsnameOut: {target: func(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return appendUtsname(dst, rec.Captures[i].Data)
	}},
	syscalls.ArgFdPairOut: {target: func(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return appendIntArray(dst, rec.Captures[i].Data, 2)
	}},
	syscalls.ArgWaitStatusOut: {target: func(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return appendWaitStatus(dst, u32(rec.Captures[i].Data, 0))
	}},
	syscalls.ArgIntOut: {target: func(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return appendIntArray(dst, rec.Captures[i].Data, 1)
	}},
	syscalls.ArgEpollEventsOut: {target: func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return d.appendEpollEvents(dst, rec.Captures[i].Data, rec.Ret)
	}},
}

// complete says whether exactly one way to render is set.
func (a *argDecoder) complete() bool {
	n := 0
	for _, set := range [...]bool{a.text != nil, a.value != nil, a.target != nil, a.whole != nil} {
		if set {
			n++
		}
	}
	return n == 1
}

// rawArg renders an argument whose type the decoder has no entry for (which TestArgDecodersComplete
// rules out) as the unknown syscalls' arguments are rendered: the raw value.
var rawArg = argDecoder{value: func(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return appendHexString(dst, rec.Args[i])
}}

// decoderOf returns the entry of t.
func decoderOf(t syscalls.ArgType) *argDecoder {
	if int(t) < len(argDecoders) && argDecoders[t].complete() {
		return &argDecoders[t]
	}
	return &rawArg
}

func argInt32(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return strconv.AppendInt(dst, int64(int32(rec.Args[i])), 10)
}

func argInt64(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return strconv.AppendInt(dst, int64(rec.Args[i]), 10)
}

func argUint(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return strconv.AppendUint(dst, rec.Args[i], 10)
}

const atFdcwd = -100

func argDirFd(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	if v := int32(rec.Args[i]); v != atFdcwd {
		return strconv.AppendInt(dst, int64(v), 10)
	}
	return append(dst, `"AT_FDCWD"`...)
}

func argPointer(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return appendPointer(dst, rec.Args[i])
}

// argSockProto renders socket's protocol: by name where the domain makes it an IPPROTO_* or NETLINK_*
// number, in decimal otherwise.
func argSockProto(_ *Decoder, dst []byte, p *param, rec *record.Record, i int) []byte {
	v := rec.Args[i]
	var names []string
	if p.related >= 0 {
		switch rec.Args[p.related] {
		case afInet, afInet6:
			names = ipProtocols[:]
		case afNetlink:
			names = netlinkProtocols[:]
		}
	}
	if names == nil {
		return strconv.AppendInt(dst, int64(int32(v)), 10)
	}
	dst = append(dst, '"')
	dst = appendName(dst, v, names)
	return append(dst, '"')
}

func argPtraceRequest(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	v := rec.Args[i]
	dst = append(dst, '"')
	if name, ok := d.flags.ptrace[v]; ok {
		dst = append(dst, name...)
	} else {
		dst = append(dst, '0', 'x')
		dst = strconv.AppendUint(dst, v, 16)
	}
	return append(dst, '"')
}

func argCString(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return appendJSONString(dst, cString(rec.Captures[i].Data))
}

func argBytes(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return appendJSONString(dst, rec.Captures[i].Data)
}

// argStrArray renders argv: the strings the probe copied, and when an entry could not be read, the
// strings before it, marked as cut short.
func argStrArray(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) ([]byte, bool) {
	v, c := rec.Args[i], &rec.Captures[i]
	if c.Faulted && v != 0 && c.Present && len(c.Data) > 0 {
		return appendStrArray(dst, c.Data), true
	}
	if !captured(v, c) {
		return appendPointer(dst, v), false
	}
	return appendStrArray(dst, c.Data), c.Truncated
}

func argIovec(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return appendIovArg(dst, rec.Args[i], &rec.Captures[i])
}

func argMsghdr(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return d.appendMsghdrSegs(dst, rec.Captures[i].Data)
}

func argSockaddr(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return appendSockaddr(dst, rec.Captures[i].Data)
}

func argOptVal(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return appendOptVal(dst, rec.Captures[i].Data)
}

func argTimespec(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return appendTimespec(dst, rec.Captures[i].Data, "tv_nsec")
}

func argSigset(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return appendSigset(dst, u64(rec.Captures[i].Data, 0), 64)
}

func argSigaction(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return d.appendSigaction(dst, rec.Captures[i].Data)
}

func argCapData(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return d.appendCapData(dst, rec.Captures[i].Data)
}

func argRlimit(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return appendRlimit(dst, rec.Captures[i].Data)
}
