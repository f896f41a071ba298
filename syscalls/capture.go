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
	case ArgBufOut:
		return Capture{Kind: CaptureBuf, Max: MaxBufBytes, LenArg: -1, LenFromRet: true}
	case ArgSockaddrIn:
		return Capture{Kind: CaptureSockaddr, Max: MaxSockaddrBytes, LenArg: next}
	case ArgSockaddrOut:
		return Capture{Kind: CaptureSockaddr, Max: MaxSockaddrBytes, LenArg: next, LenIsPtr: true}
	case ArgStrArray:
		return Capture{Kind: CaptureStrArray, Max: MaxArgvBytes, LenArg: -1, AtEntry: true}
	case ArgCloneArgs, ArgOpenHow:
		return Capture{Kind: CaptureBuf, Max: MaxStructBytes, LenArg: next}
	default:
		return Capture{Kind: CaptureNone, LenArg: -1}
	}
}
