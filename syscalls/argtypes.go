package syscalls

import "strconv"

// ArgInfo describes an argument type once: its word in the parameter lists, what the probe copies for it,
// what it is to the call (a value, or a pointer to data going in or coming out) and how a strace-like line
// prints it. How the node agent renders a record's argument of the type is the decoder's own table
// (nodeagent/decode), keyed by the same ArgType. Adding a type is one entry in each; tests fail for a type
// either table leaves out.
type ArgInfo struct {
	Word  string // the type's word in the parameter lists: "path", "bits"
	Set   bool   // the parameter names a flag or value table (Param.Set): "flags:bits.open"
	Dir   Dir
	Print Print
	// Fd says whether the argument names a file: an fd or dirfd whose file -y shows and -P matches, a path -P
	// matches, the fds a call fills in (pipe's). FdNone for the rest.
	Fd FdRole
	// capture is what the probe copies for an argument of the type (Syscall.Capture, CaptureOf).
	capture captureRule
}

// Dir says what an argument is to the call: a value, or a pointer to data the caller wrote (in) or the
// kernel fills (out). What an out argument points to shows only once the kernel filled it (Filled); the
// address shows otherwise, as strace shows it.
type Dir uint8

const (
	dirUnset         Dir = iota // a type without an ArgInfo: the completeness test fails for it
	DirValue                    // the value itself: a number, flags, a name, or an address nothing follows
	DirIn                       // data the caller wrote: shown whatever the call returns
	DirInOut                    // value-result: the caller's data, which the kernel may update; shown whatever the return
	DirOut                      // filled by the kernel when the call succeeds (returns >= 0)
	DirOutIfPositive            // filled when the call returns more than 0 (wait4's status; 0: WNOHANG, nothing to report)
	DirOutIfEINTR               // filled when the call is interrupted (nanosleep's remaining time)
	DirByCommand                // a value or a pointer per the command in another argument (fcntl, ioctl, prctl)
)

// eintr is the return of a call a signal interrupted (-EINTR).
const eintr = -4

// Filled says whether what an argument of direction d points to holds what the call's record should show,
// for a call that returned ret. Values and arguments whose meaning depends on a command are not pointers
// to judge by their type: true.
func (d Dir) Filled(ret int64) bool {
	switch d {
	case DirOut:
		return ret >= 0
	case DirOutIfPositive:
		return ret > 0
	case DirOutIfEINTR:
		return ret == eintr
	}
	return true
}

// FdRole is what an argument of a type is to -y (fds shown with what they are) and -P (calls on a path): the
// probe resolves fds and reads paths by it (bpf/fdpath.h's roles, which it matches value for value).
type FdRole uint8

const (
	FdNone        FdRole = iota
	FdArg                // a file descriptor: resolved when the call begins
	FdDir                // a dirfd: like FdArg, AT_FDCWD as the working directory (with -y)
	FdPath               // a path -P compares, read when the call ends
	FdPathAtEntry        // a path read when the call begins (the exec'd file: its memory is gone at the end)
	FdPair               // int[2] of fds the call fills (pipe, socketpair): resolved when the call ends
)

// Print says how a strace-like line (package render) shows an argument's value.
type Print uint8

const (
	printUnset  Print = iota // a type without an ArgInfo: the completeness test fails for it
	PrintBare                // as it is: numbers, flags, names, pointers, structs
	PrintQuoted              // a C string: "...", escaped
	PrintGuess               // a name, a number or a string, per a command: told apart by the text
	PrintFdSet               // an array of descriptors, which strace writes [3 4]
)

// captureRule is how the probe copies an argument of a type: Capture, whose LenArg CaptureOf fills in.
type captureRule struct {
	Capture
	lenNext bool // the length is in the next parameter (its value, or where it points with LenIsPtr)
	// archElem: the return value counts entries of a struct whose size depends on the architecture
	// (epoll_event); Elem is that size there and Max, in the table, the number of entries kept.
	archElem func(Arch) uint16
}

// fixed is the capture of a pointer to a struct or array of size bytes: copied at entry when the caller
// wrote it (in), at exit when the kernel fills it.
func fixed(size uint16, in bool) captureRule {
	return captureRule{Capture: Capture{Kind: CaptureBuf, Max: size, Fixed: true, AtEntry: in}}
}

// argInfos describes every ArgType. A type left out has an empty Word, which the tests catch.
var argInfos = [NumArgTypes]ArgInfo{
	// Numbers.
	ArgInt:   {Word: "int", Dir: DirValue, Print: PrintBare},
	ArgLong:  {Word: "long", Dir: DirValue, Print: PrintBare},
	ArgUint:  {Word: "uint", Dir: DirValue, Print: PrintBare},
	ArgSize:  {Word: "size", Dir: DirValue, Print: PrintBare},
	ArgFd:    {Word: "fd", Dir: DirValue, Print: PrintBare, Fd: FdArg},
	ArgDirFd: {Word: "dirfd", Dir: DirValue, Print: PrintBare, Fd: FdDir},
	ArgPid:   {Word: "pid", Dir: DirValue, Print: PrintBare},
	ArgUID:   {Word: "uid", Dir: DirValue, Print: PrintBare},
	ArgDev:   {Word: "dev", Dir: DirValue, Print: PrintBare},
	// Addresses nothing follows.
	ArgHex:  {Word: "hex", Dir: DirValue, Print: PrintBare},
	ArgAddr: {Word: "addr", Dir: DirValue, Print: PrintBare},
	// Flags, modes and names.
	ArgFlags:         {Word: "bits", Set: true, Dir: DirValue, Print: PrintBare},
	ArgEnum:          {Word: "enum", Set: true, Dir: DirValue, Print: PrintBare},
	ArgOpenFlags:     {Word: "oflags", Dir: DirValue, Print: PrintBare},
	ArgMode:          {Word: "mode", Dir: DirValue, Print: PrintBare},
	ArgFileMode:      {Word: "fmode", Dir: DirValue, Print: PrintBare},
	ArgAccessMode:    {Word: "amode", Dir: DirValue, Print: PrintBare},
	ArgStatxFlags:    {Word: "statxflags", Dir: DirValue, Print: PrintBare},
	ArgSockDomain:    {Word: "domain", Dir: DirValue, Print: PrintBare},
	ArgSockType:      {Word: "socktype", Dir: DirValue, Print: PrintBare},
	ArgSockProto:     {Word: "proto", Dir: DirValue, Print: PrintBare},
	ArgSockLevel:     {Word: "level", Dir: DirValue, Print: PrintBare},
	ArgSockOptName:   {Word: "optname", Dir: DirValue, Print: PrintBare},
	ArgSignal:        {Word: "sig", Dir: DirValue, Print: PrintBare},
	ArgCloneFlags:    {Word: "cloneflags", Dir: DirValue, Print: PrintBare},
	ArgMountFlags:    {Word: "mountflags", Dir: DirValue, Print: PrintBare},
	ArgMmapFlags:     {Word: "mmapflags", Dir: DirValue, Print: PrintBare},
	ArgPtraceRequest: {Word: "ptreq", Dir: DirValue, Print: PrintBare},
	ArgFutexOp:       {Word: "futexop", Dir: DirValue, Print: PrintBare},
	ArgFcntlCmd:      {Word: "fcntlcmd", Dir: DirValue, Print: PrintBare},
	ArgIoctlReq:      {Word: "ioctlreq", Dir: DirValue, Print: PrintBare},
	ArgPrctlOption:   {Word: "prctlopt", Dir: DirValue, Print: PrintBare},
	// Per a command: fcntl's third argument is a value or an address nothing follows; prctl's arg2 is the
	// 16-byte name of PR_SET_NAME and PR_GET_NAME; ioctl's is what the request reads or fills (IoctlArgs).
	ArgFcntlArg: {Word: "fcntlarg", Dir: DirByCommand, Print: PrintBare},
	ArgPrctlArg: {Word: "prctlarg", Dir: DirByCommand, Print: PrintGuess,
		capture: captureRule{Capture: Capture{Kind: CaptureString, Max: 16}}},
	// ioctl's argument is read at exit: a request that sets it leaves it as it was.
	ArgIoctlArg: {Word: "ioctlarg", Dir: DirByCommand, Print: PrintBare,
		capture: captureRule{Capture: Capture{Kind: CaptureBuf, Max: MaxIoctlBytes, Ioctl: true}}},
	// Strings and buffers.
	ArgPath: {Word: "path", Dir: DirIn, Print: PrintQuoted, Fd: FdPath,
		capture: captureRule{Capture: Capture{Kind: CaptureString, Max: MaxPathBytes}}},
	ArgPathAtEntry: {Word: "epath", Dir: DirIn, Print: PrintQuoted, Fd: FdPathAtEntry,
		capture: captureRule{Capture: Capture{Kind: CaptureString, Max: MaxPathBytes, AtEntry: true}}},
	ArgString: {Word: "str", Dir: DirIn, Print: PrintQuoted,
		capture: captureRule{Capture: Capture{Kind: CaptureString, Max: MaxStringBytes}}},
	ArgStringOut: {Word: "strout", Dir: DirOut, Print: PrintQuoted,
		capture: captureRule{Capture: Capture{Kind: CaptureBuf, Max: MaxBufBytes, LenFromRet: true}}},
	ArgStrArray: {Word: "argv", Dir: DirIn, Print: PrintQuoted,
		capture: captureRule{Capture: Capture{Kind: CaptureStrArray, Max: MaxArgvBytes, AtEntry: true}}},
	ArgBufIn: {Word: "bufin", Dir: DirIn, Print: PrintQuoted,
		capture: captureRule{Capture: Capture{Kind: CaptureBuf, Max: MaxBufBytes}, lenNext: true}},
	ArgBufOut: {Word: "bufout", Dir: DirOut, Print: PrintQuoted,
		capture: captureRule{Capture: Capture{Kind: CaptureBuf, Max: MaxBufBytes, LenFromRet: true}}},
	ArgDataIn: {Word: "datain", Dir: DirIn, Print: PrintQuoted,
		capture: captureRule{Capture: Capture{Kind: CaptureBuf, Data: true}, lenNext: true}},
	ArgDataOut: {Word: "dataout", Dir: DirOut, Print: PrintQuoted,
		capture: captureRule{Capture: Capture{Kind: CaptureBuf, LenFromRet: true, Data: true}}},
	ArgIovec: {Word: "iov", Dir: DirIn, Print: PrintBare,
		capture: captureRule{Capture: Capture{Kind: CaptureIovec, Data: true}, lenNext: true}},
	// readv's iovecs: the caller's array, the data the kernel read into it, up to the return value.
	ArgIovecOut: {Word: "iovout", Dir: DirInOut, Print: PrintBare,
		capture: captureRule{Capture: Capture{Kind: CaptureIovec, LenFromRet: true, Data: true}, lenNext: true}},
	ArgMsghdr: {Word: "msghdr", Dir: DirIn, Print: PrintBare,
		capture: captureRule{Capture: Capture{Kind: CaptureMsghdr, Data: true}}},
	ArgMsghdrOut: {Word: "msghdrout", Dir: DirInOut, Print: PrintBare,
		capture: captureRule{Capture: Capture{Kind: CaptureMsghdr, LenFromRet: true, Data: true}}},
	// Sockets.
	ArgSockaddrIn: {Word: "sain", Dir: DirIn, Print: PrintBare,
		capture: captureRule{Capture: Capture{Kind: CaptureSockaddr, Max: MaxSockaddrBytes}, lenNext: true}},
	ArgSockaddrOut: {Word: "saout", Dir: DirOut, Print: PrintBare,
		capture: captureRule{Capture: Capture{Kind: CaptureSockaddr, Max: MaxSockaddrBytes, LenIsPtr: true}, lenNext: true}},
	ArgSockOptVal: {Word: "optval", Dir: DirIn, Print: PrintGuess,
		capture: captureRule{Capture: Capture{Kind: CaptureBuf, Max: MaxSockOptBytes, AtEntry: true}, lenNext: true}},
	ArgSockOptValOut: {Word: "optvalout", Dir: DirOut, Print: PrintGuess,
		capture: captureRule{Capture: Capture{Kind: CaptureBuf, Max: MaxSockOptBytes, LenIsPtr: true}, lenNext: true}},
	// Structs the caller passes.
	ArgOpenHow: {Word: "openhow", Dir: DirIn, Print: PrintBare,
		capture: captureRule{Capture: Capture{Kind: CaptureBuf, Max: MaxStructBytes}, lenNext: true}},
	ArgCloneArgs: {Word: "cloneargs", Dir: DirIn, Print: PrintBare,
		capture: captureRule{Capture: Capture{Kind: CaptureBuf, Max: MaxStructBytes}, lenNext: true}},
	ArgTimespec:     {Word: "ts", Dir: DirIn, Print: PrintBare, capture: fixed(16, true)},
	ArgTimeval:      {Word: "tv", Dir: DirIn, Print: PrintBare, capture: fixed(16, true)},
	ArgTimespecPair: {Word: "ts2", Dir: DirIn, Print: PrintBare, capture: fixed(32, true)},
	ArgItimerspec:   {Word: "its", Dir: DirIn, Print: PrintBare, capture: fixed(32, true)},
	ArgSigset:       {Word: "sigset", Dir: DirIn, Print: PrintBare, capture: fixed(8, true)},
	ArgSigaction:    {Word: "sigact", Dir: DirIn, Print: PrintBare, capture: fixed(32, true)},
	ArgEpollEvent:   {Word: "epev", Dir: DirIn, Print: PrintBare, capture: fixed(16, true)}, // 12 bytes on x86_64 (packed)
	ArgFdSet:        {Word: "fdset", Dir: DirIn, Print: PrintFdSet, capture: fixed(fdSetSize, true)},
	ArgCapHeader:    {Word: "caphdr", Dir: DirIn, Print: PrintBare, capture: fixed(8, true)},
	ArgCapData:      {Word: "capdata", Dir: DirIn, Print: PrintBare, capture: fixed(24, true)}, // two cap_data structs
	ArgRlimit:       {Word: "rlim", Dir: DirIn, Print: PrintBare, capture: fixed(16, true)},
	ArgPollFds: {Word: "pollfds", Dir: DirIn, Print: PrintBare,
		capture: captureRule{Capture: Capture{Kind: CaptureBuf, Max: MaxPollFds * 8, Shift: 3, AtEntry: true},
			lenNext: true}},
	// Structs the kernel fills.
	ArgTimespecOut:   {Word: "tsout", Dir: DirOut, Print: PrintBare, capture: fixed(16, false)},
	ArgTimespecRem:   {Word: "tsrem", Dir: DirOutIfEINTR, Print: PrintBare, capture: fixed(16, false)},
	ArgSigsetOut:     {Word: "sigsetout", Dir: DirOut, Print: PrintBare, capture: fixed(8, false)},
	ArgSigactionOut:  {Word: "sigactout", Dir: DirOut, Print: PrintBare, capture: fixed(32, false)},
	ArgStatOut:       {Word: "statout", Dir: DirOut, Print: PrintBare, capture: fixed(statSize, false)},
	ArgStatxOut:      {Word: "statxout", Dir: DirOut, Print: PrintBare, capture: fixed(statxSize, false)},
	ArgCapDataOut:    {Word: "capdataout", Dir: DirOut, Print: PrintBare, capture: fixed(24, false)},
	ArgRlimitOut:     {Word: "rlimout", Dir: DirOut, Print: PrintBare, capture: fixed(16, false)},
	ArgUtsnameOut:    {Word: "utsout", Dir: DirOut, Print: PrintBare, capture: fixed(utsnameSize, false)},
	ArgFdPairOut:     {Word: "fdpair", Dir: DirOut, Print: PrintBare, Fd: FdPair, capture: fixed(8, false)},
	ArgWaitStatusOut: {Word: "wstatus", Dir: DirOutIfPositive, Print: PrintBare, capture: fixed(4, false)},
	ArgIntOut:        {Word: "intout", Dir: DirInOut, Print: PrintBare, capture: fixed(4, false)}, // getsockopt's optlen
	ArgEpollEventsOut: {Word: "epevout", Dir: DirOut, Print: PrintBare,
		capture: captureRule{Capture: Capture{Kind: CaptureBuf, Max: MaxEpollEvents, LenFromRet: true},
			archElem: EpollEventSize}},
}

// Info returns the description of t; the zero ArgInfo for a value that is no ArgType. The table is never
// written after init: safe for concurrent use.
func (t ArgType) Info() ArgInfo {
	if t >= NumArgTypes {
		return ArgInfo{}
	}
	return argInfos[t]
}

// String returns t's word in the parameter lists.
func (t ArgType) String() string {
	if w := t.Info().Word; w != "" {
		return w
	}
	return "ArgType(" + strconv.Itoa(int(t)) + ")"
}

// argTypeWords maps each type's word in the parameter lists to the type.
var argTypeWords = func() map[string]ArgType {
	m := make(map[string]ArgType, NumArgTypes)
	for t := range NumArgTypes {
		if w := t.Info().Word; w != "" {
			m[w] = t
		}
	}
	return m
}()
