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

// argDecoders renders every syscalls.ArgType; TestArgDecodersComplete fails for a type left out. It is never
// written after init, and shared by every Decoder.
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
	syscalls.ArgDev:   {value: ofValue(appendMakedev)},
	// Addresses nothing follows: as strace, NULL for 0.
	syscalls.ArgHex:  {value: argPointer},
	syscalls.ArgAddr: {value: argPointer},
	// Flags, modes and names.
	syscalls.ArgFlags:     {value: argFlags},
	syscalls.ArgEnum:      {value: argEnum},
	syscalls.ArgOpenFlags: {value: argOpenFlags},
	// open's mode is garbage unless the call may create a file; strace leaves it out too.
	syscalls.ArgMode:          {text: appendModeT, related: relOpenFlags, omit: openModeUnused},
	syscalls.ArgFileMode:      {text: appendFileModeT},
	syscalls.ArgAccessMode:    {text: appendAccessMode},
	syscalls.ArgStatxFlags:    {value: ofDecoderValue((*Decoder).appendStatxFlags)},
	syscalls.ArgSockDomain:    {text: func(dst []byte, v uint64) []byte { return appendName(dst, v, addressFamilies[:]) }},
	syscalls.ArgSockType:      {text: appendSockType},
	syscalls.ArgSockProto:     {value: argSockProto, related: relDomain},
	syscalls.ArgSockLevel:     {value: signedEnum(func(d *Decoder) *table { return d.t.sol })},
	syscalls.ArgSockOptName:   {value: argSockOptName, related: relPrev},
	syscalls.ArgSignal:        {text: func(dst []byte, v uint64) []byte { return appendSignal(dst, uint64(uint32(v))) }},
	syscalls.ArgCloneFlags:    {text: appendCloneFlags},
	syscalls.ArgMountFlags:    {text: appendMountFlags},
	syscalls.ArgMmapFlags:     {value: ofDecoderValue((*Decoder).appendMmapFlags)},
	syscalls.ArgPtraceRequest: {value: ofDecoderValue((*Decoder).appendPtraceRequest)},
	syscalls.ArgFutexOp:       {value: ofDecoderValue((*Decoder).appendFutexOp)},
	syscalls.ArgFcntlCmd:      {value: signedEnum(func(d *Decoder) *table { return d.t.fcntlCmd })},
	syscalls.ArgIoctlReq:      {value: ofDecoderValue((*Decoder).appendIoctlReq)},
	syscalls.ArgPrctlOption:   {value: signedEnum(func(d *Decoder) *table { return d.t.prctl })},
	// Per a command. prctl's arg2 is a name only for PR_SET_NAME and PR_GET_NAME: the copy fails for the
	// other options.
	syscalls.ArgFcntlArg: {value: argFcntlArg, related: relPrev},
	syscalls.ArgPrctlArg: {whole: argPrctlArg, related: relFirst, quiet: true},
	syscalls.ArgIoctlArg: {whole: argIoctlArg, related: relPrev},
	// Strings and buffers.
	syscalls.ArgPath:        {target: argCString, cut: true},
	syscalls.ArgPathAtEntry: {target: argCString, cut: true},
	syscalls.ArgString:      {target: argCString, cut: true},
	syscalls.ArgStringOut:   {target: argCString, cut: true},
	syscalls.ArgStrArray:    {whole: argStrArray},
	syscalls.ArgBufIn:       {target: ofData(appendJSONString), cut: true},
	syscalls.ArgBufOut:      {target: ofData(appendJSONString), cut: true},
	syscalls.ArgDataIn:      {target: ofData(appendJSONString), cut: true},
	syscalls.ArgDataOut:     {target: ofData(appendJSONString), cut: true},
	syscalls.ArgIovec:       {target: argIovec},
	syscalls.ArgIovecOut:    {target: argIovec},
	syscalls.ArgMsghdr:      {target: ofDecoderData((*Decoder).appendMsghdrSegs)},
	syscalls.ArgMsghdrOut:   {target: ofDecoderData((*Decoder).appendMsghdrSegs)},
	// Sockets.
	syscalls.ArgSockaddrIn:    {target: ofData(appendSockaddr), cut: true},
	syscalls.ArgSockaddrOut:   {target: ofData(appendSockaddr), cut: true},
	syscalls.ArgSockOptVal:    {target: ofData(appendOptVal)},
	syscalls.ArgSockOptValOut: {target: ofData(appendOptVal)},
	// Structs the caller passes.
	syscalls.ArgOpenHow:      {target: ofDecoderData((*Decoder).appendOpenHow), cut: true},
	syscalls.ArgCloneArgs:    {target: ofData(appendCloneArgs), cut: true},
	syscalls.ArgTimespec:     {target: ofData(appendTimespecNs)},
	syscalls.ArgTimeval:      {target: ofData(func(dst, b []byte) []byte { return appendTimespec(dst, b, "tv_usec") })},
	syscalls.ArgTimespecPair: {target: ofData(appendUtimes)},
	syscalls.ArgItimerspec:   {target: ofData(appendItimerspec)},
	syscalls.ArgSigset:       {target: ofData(appendSigsetBytes)},
	syscalls.ArgSigaction:    {target: ofDecoderData((*Decoder).appendSigaction)},
	syscalls.ArgEpollEvent:   {target: ofDecoderData((*Decoder).appendEpollEvent)},
	syscalls.ArgFdSet:        {target: argFdSet, related: relFirst},
	syscalls.ArgCapHeader:    {target: ofDecoderData((*Decoder).appendCapHeader)},
	syscalls.ArgCapData:      {target: ofDecoderData((*Decoder).appendCapData)},
	syscalls.ArgRlimit:       {target: ofData(appendRlimit)},
	syscalls.ArgPollFds:      {target: argPollFds, related: relNext},
	// Structs the kernel fills.
	syscalls.ArgTimespecOut:    {target: ofData(appendTimespecNs)},
	syscalls.ArgTimespecRem:    {target: ofData(appendTimespecNs)},
	syscalls.ArgSigsetOut:      {target: ofData(appendSigsetBytes)},
	syscalls.ArgSigactionOut:   {target: ofDecoderData((*Decoder).appendSigaction)},
	syscalls.ArgStatOut:        {target: ofDecoderData((*Decoder).appendStat)},
	syscalls.ArgStatxOut:       {target: ofDecoderData((*Decoder).appendStatx)},
	syscalls.ArgCapDataOut:     {target: ofDecoderData((*Decoder).appendCapData)},
	syscalls.ArgRlimitOut:      {target: ofData(appendRlimit)},
	syscalls.ArgUtsnameOut:     {target: ofData(appendUtsname)},
	syscalls.ArgFdPairOut:      {target: ofData(func(dst, b []byte) []byte { return appendIntArray(dst, b, 2) })},
	syscalls.ArgWaitStatusOut:  {target: ofData(func(dst, b []byte) []byte { return appendWaitStatus(dst, u32(b, 0)) })},
	syscalls.ArgIntOut:         {target: ofData(func(dst, b []byte) []byte { return appendIntArray(dst, b, 1) })},
	syscalls.ArgEpollEventsOut: {target: argEpollEvents},
}

// ofValue, ofDecoderValue, ofData and ofDecoderData adapt the renderers of a value alone and of the bytes
// the probe copied alone (and the Decoder's methods that render them) to argFunc.
func ofValue(f func(dst []byte, v uint64) []byte) argFunc {
	return func(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte { return f(dst, rec.Args[i]) }
}

func ofDecoderValue(f func(d *Decoder, dst []byte, v uint64) []byte) argFunc {
	return func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return f(d, dst, rec.Args[i])
	}
}

// signedEnum renders a value by the name the Decoder's table (picked by table) has for it, as a signed
// decimal number when it has none.
func signedEnum(table func(d *Decoder) *table) argFunc {
	return func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return table(d).appendEnumJSON(dst, rec.Args[i], true)
	}
}

func ofData(f func(dst, b []byte) []byte) argFunc {
	return func(_ *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return f(dst, rec.Captures[i].Data)
	}
}

func ofDecoderData(f func(d *Decoder, dst, b []byte) []byte) argFunc {
	return func(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
		return f(d, dst, rec.Captures[i].Data)
	}
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

// appendPtraceRequest renders a ptrace request by name, or in hex.
func (d *Decoder) appendPtraceRequest(dst []byte, v uint64) []byte {
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

func argFlags(_ *Decoder, dst []byte, p *param, rec *record.Record, i int) []byte {
	return p.tab.appendBitsJSON(dst, rec.Args[i])
}

func argEnum(_ *Decoder, dst []byte, p *param, rec *record.Record, i int) []byte {
	return p.tab.appendEnumJSON(dst, rec.Args[i], false)
}

func argOpenFlags(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	dst = append(dst, '"')
	dst = appendOpenFlags(dst, rec.Args[i], d.flags.open)
	return append(dst, '"')
}

// openModeUnused says whether open's mode is left out: unless its flags may create a file.
func openModeUnused(p *param, rec *record.Record) bool {
	return p.related >= 0 && rec.Args[p.related]&(oCreat|oTmpfile) == 0
}

// argSockOptName renders a socket option by the names of its level, in decimal for levels swoll has none for.
func argSockOptName(d *Decoder, dst []byte, p *param, rec *record.Record, i int) []byte {
	if tb := d.optNames(rec.Args[p.related]); tb != nil {
		return tb.appendEnumJSON(dst, rec.Args[i], true)
	}
	return strconv.AppendInt(dst, int64(int32(rec.Args[i])), 10)
}

func argFcntlArg(d *Decoder, dst []byte, p *param, rec *record.Record, i int) []byte {
	return d.appendFcntlArg(dst, rec.Args[p.related], rec.Args[i])
}

func argPrctlArg(d *Decoder, dst []byte, p *param, rec *record.Record, i int) ([]byte, bool) {
	return d.appendPrctlArg(dst, rec.Args[p.related], i, rec, rec.Ret), false
}

func argIoctlArg(d *Decoder, dst []byte, p *param, rec *record.Record, i int) ([]byte, bool) {
	return d.appendIoctlArg(dst, rec.Args[p.related], rec.Args[i], &rec.Captures[i], rec.Ret), false
}

func argFdSet(_ *Decoder, dst []byte, p *param, rec *record.Record, i int) []byte {
	return appendFdSet(dst, rec.Captures[i].Data, int64(int32(rec.Args[p.related])))
}

func argPollFds(d *Decoder, dst []byte, p *param, rec *record.Record, i int) []byte {
	dst, _ = d.appendPollFds(dst, rec.Captures[i].Data, rec.Args[p.related])
	return dst
}

func argEpollEvents(d *Decoder, dst []byte, _ *param, rec *record.Record, i int) []byte {
	return d.appendEpollEvents(dst, rec.Captures[i].Data, rec.Ret)
}

func appendTimespecNs(dst, b []byte) []byte { return appendTimespec(dst, b, "tv_nsec") }

func appendSigsetBytes(dst, b []byte) []byte { return appendSigset(dst, u64(b, 0), 64) }

// appendModeT and appendFileModeT render a mode_t argument, which strace reads as an unsigned short.
func appendModeT(dst []byte, v uint64) []byte { return appendOctal(dst, v&0xffff) }

func appendFileModeT(dst []byte, v uint64) []byte { return appendMode(dst, v&0xffff) }
