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
// arch (t's ArgInfo). Lengths taken from another argument refer to the parameter right after this one,
// which is where every Linux system call puts them (write's count, connect's addrlen, clone3's size).
func CaptureOf(arch Arch, t ArgType, paramIndex int, params []Param) Capture {
	r := t.Info().capture
	c := r.Capture
	c.LenArg = -1
	if r.lenNext && paramIndex >= 0 && paramIndex+1 < len(params) {
		c.LenArg = int8(paramIndex + 1)
	}
	if r.archElem != nil {
		c.Elem = r.archElem(arch)
		c.Max *= c.Elem
	}
	return c
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
