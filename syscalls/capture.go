package syscalls

// Capture limits. The probe copies at most this many bytes of an argument; the rest of a
// longer value is reported as truncated by the decoder.
const (
	MaxPathBytes     = 4096 // PATH_MAX
	MaxStringBytes   = 256
	MaxBufBytes      = 256
	MaxSockaddrBytes = 128 // sizeof(struct sockaddr_storage)
	MaxStructBytes   = 128 // struct clone_args and struct open_how, with room to grow
	MaxArgvBytes     = 4096
	MaxArgvStrings   = 64 // argv entries copied before the array is reported as truncated
	// MaxDataBytes bounds --capture-data, the bytes kept of what a read or write family call transfers.
	MaxDataBytes = 4096
)

// CaptureOf returns how the probe copies the parameter at paramIndex of params, whose type is t.
// Lengths taken from another argument refer to the parameter right after this one, which is
// where every Linux system call puts them (write's count, connect's addrlen, clone3's size).
func CaptureOf(t ArgType, paramIndex int, params []Param) Capture {
	next := int8(-1)
	if paramIndex >= 0 && paramIndex+1 < len(params) {
		next = int8(paramIndex + 1)
	}
	switch t {
	case ArgPath:
		return Capture{Kind: CaptureString, Max: MaxPathBytes, LenArg: -1}
	case ArgPathAtEntry:
		return Capture{Kind: CaptureString, Max: MaxPathBytes, LenArg: -1, AtEntry: true}
	case ArgString:
		return Capture{Kind: CaptureString, Max: MaxStringBytes, LenArg: -1}
	case ArgBufIn:
		return Capture{Kind: CaptureBuf, Max: MaxBufBytes, LenArg: next}
	case ArgBufOut, ArgStringOut:
		return Capture{Kind: CaptureBuf, Max: MaxBufBytes, LenArg: -1, LenFromRet: true}
	case ArgSockaddrIn:
		return Capture{Kind: CaptureSockaddr, Max: MaxSockaddrBytes, LenArg: next}
	case ArgSockaddrOut:
		return Capture{Kind: CaptureSockaddr, Max: MaxSockaddrBytes, LenArg: next, LenIsPtr: true}
	case ArgStrArray:
		return Capture{Kind: CaptureStrArray, Max: MaxArgvBytes, LenArg: -1, AtEntry: true}
	case ArgCloneArgs, ArgOpenHow:
		return Capture{Kind: CaptureBuf, Max: MaxStructBytes, LenArg: next}
	case ArgDataIn:
		return Capture{Kind: CaptureBuf, LenArg: next, Data: true}
	case ArgDataOut:
		return Capture{Kind: CaptureBuf, LenArg: -1, LenFromRet: true, Data: true}
	case ArgPrctlArg: // PR_SET_NAME and PR_GET_NAME: a 16-byte name
		return Capture{Kind: CaptureString, Max: 16, LenArg: -1}
	case ArgPollFds:
		return Capture{Kind: CaptureBuf, Max: MaxPollFds * 8, LenArg: next, Shift: 3, AtEntry: true}
	case ArgSockOptVal:
		return Capture{Kind: CaptureBuf, Max: MaxSockOptBytes, LenArg: next, AtEntry: true}
	case ArgSockOptValOut:
		return Capture{Kind: CaptureBuf, Max: MaxSockOptBytes, LenArg: next, LenIsPtr: true}
	}
	if size, in := structSize(t); size > 0 {
		return Capture{Kind: CaptureBuf, Max: size, LenArg: -1, Fixed: true, AtEntry: in}
	}
	return Capture{Kind: CaptureNone, LenArg: -1}
}

// Sizes of what the fixed-size types point to. Where the architectures differ, the larger: the decoder
// reads the layout of the record's architecture.
const (
	MaxPollFds      = 32  // pollfds shown before the array is marked truncated
	MaxSockOptBytes = 64  // socket option values kept
	statSize        = 144 // struct stat: 144 bytes on x86_64, 128 on arm64
	statxSize       = 256
	fdSetSize       = 128 // FD_SETSIZE bits
	utsnameSize     = 390 // 6 fields of 65 bytes
	msghdrSize      = 56
)

// structSize returns the size of the fixed-size value a parameter of type t points to, and whether it is
// an input (read at entry) rather than an output (read at exit); 0 when t is not such a type.
func structSize(t ArgType) (uint16, bool) {
	switch t {
	case ArgTimespec, ArgTimeval:
		return 16, true
	case ArgTimespecPair, ArgItimerspec:
		return 32, true
	case ArgSigset:
		return 8, true
	case ArgSigaction:
		return 32, true
	case ArgEpollEvent:
		return 16, true // 12 bytes on x86_64 (packed), 16 on arm64
	case ArgFdSet:
		return fdSetSize, true
	case ArgCapHeader:
		return 8, true
	case ArgCapData:
		return 24, true // two struct __user_cap_data_struct (version 2 and 3)
	case ArgRlimit:
		return 16, true
	case ArgTimespecOut, ArgTimespecRem:
		return 16, false
	case ArgMsghdr:
		return msghdrSize, true
	case ArgMsghdrOut:
		return msghdrSize, false
	case ArgSigsetOut:
		return 8, false
	case ArgSigactionOut:
		return 32, false
	case ArgStatOut:
		return statSize, false
	case ArgStatxOut:
		return statxSize, false
	case ArgCapDataOut:
		return 24, false
	case ArgRlimitOut:
		return 16, false
	case ArgUtsnameOut:
		return utsnameSize, false
	case ArgFdPairOut:
		return 8, false
	case ArgWaitStatusOut, ArgIntOut:
		return 4, false
	}
	return 0, false
}
