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

// IovecLayout: what the probe writes for CaptureIovec and CaptureMsghdr, read at exit. It is a run of
// segments, each a little-endian uint16 length and that many bytes:
//
//	CaptureMsghdr only: the struct msghdr (56 bytes), its msg_name (up to MaxSockaddrBytes of msg_namelen;
//	                    empty when NULL), its msg_control (up to MaxMsgControlBytes of msg_controllen)
//	the iovec array:    up to MaxIovecs struct iovec {base, len} (16 bytes each); the capture is marked
//	                    truncated when there were more
//	with Max (data):    one segment per iovec of the array: its bytes, up to iov_len, up to what is left of
//	                    the return value when LenFromRet (readv, recvmsg), up to Max in all; the length
//	                    SegUnreadable when the iovec's memory could not be read
//
// A segment that could not be read has the length SegUnreadable and no bytes. A capture that ends early (a
// fault, no room) is marked truncated or faulted; the decoder shows what it has.
const SegUnreadable = 0xffff

// Limits of the iovec and msghdr captures (see IovecLayout).
const (
	MaxIovecs          = 16  // iovecs kept per array
	MaxMsgControlBytes = 128 // msg_control bytes kept
)

// CaptureOf returns how the probe copies the parameter at paramIndex of params, whose type is t, on
// arch. Lengths taken from another argument refer to the parameter right after this one, which is
// where every Linux system call puts them (write's count, connect's addrlen, clone3's size).
func CaptureOf(arch Arch, t ArgType, paramIndex int, params []Param) Capture {
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
	case ArgIovec:
		return Capture{Kind: CaptureIovec, LenArg: next, Data: true}
	case ArgIovecOut:
		return Capture{Kind: CaptureIovec, LenArg: next, LenFromRet: true, Data: true}
	case ArgMsghdr:
		return Capture{Kind: CaptureMsghdr, LenArg: -1, Data: true}
	case ArgMsghdrOut:
		return Capture{Kind: CaptureMsghdr, LenArg: -1, LenFromRet: true, Data: true}
	case ArgEpollEventsOut:
		size := EpollEventSize(arch)
		return Capture{Kind: CaptureBuf, Max: MaxEpollEvents * size, LenArg: -1, LenFromRet: true, Elem: size}
	case ArgIoctlArg: // read at exit: a request that sets leaves it as it was
		return Capture{Kind: CaptureBuf, Max: MaxIoctlBytes, LenArg: -1, Ioctl: true}
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
	MaxEpollEvents  = 32  // epoll events shown before the array is marked truncated
	MaxIoctlBytes   = 64  // the largest struct an ioctl request in IoctlArgs takes
	statSize        = 144 // struct stat: 144 bytes on x86_64, 128 on arm64
	statxSize       = 256
	fdSetSize       = 128 // FD_SETSIZE bits
	utsnameSize     = 390 // 6 fields of 65 bytes
)

// EpollEventSize is the size of struct epoll_event on arch: packed (12 bytes) on x86_64, 16 elsewhere.
func EpollEventSize(arch Arch) uint16 {
	if arch == AMD64 {
		return 12
	}
	return 16
}

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
