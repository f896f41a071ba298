package syscalls

import "strconv"

// kernelErrnoNames are the kernel-internal codes (include/linux/errno.h) that never reach user
// space but do show up in a syscall's return value as seen by a tracer, e.g. ERESTARTSYS when
// a signal interrupts a blocking call that will be restarted.
var kernelErrnoNames = [...]string{
	512 - 512: "ERESTARTSYS",
	513 - 512: "ERESTARTNOINTR",
	514 - 512: "ERESTARTNOHAND",
	515 - 512: "ENOIOCTLCMD",
	516 - 512: "ERESTART_RESTARTBLOCK",
	517 - 512: "EPROBE_DEFER",
	518 - 512: "EOPENSTALE",
	519 - 512: "ENOPARAM",
	521 - 512: "EBADHANDLE",
	522 - 512: "ENOTSYNC",
	523 - 512: "EBADCOOKIE",
	524 - 512: "ENOTSUPP",
	525 - 512: "ETOOSMALL",
	526 - 512: "ESERVERFAULT",
	527 - 512: "EBADTYPE",
	528 - 512: "EJUKEBOX",
	529 - 512: "EIOCBQUEUED",
	530 - 512: "ERECALLCONFLICT",
	531 - 512: "ENOGRACE",
}

// MaxErrno is the largest value the kernel encodes as an error return (-MaxErrno..-1).
const MaxErrno = 4095

// ErrnoName returns the symbolic name of a Linux errno ("ENOENT"); 0 is "OK" and a number
// without a name is "E<number>". A negative e is treated as the raw return value -e.
// amd64 and arm64 share the generic errno numbering.
func ErrnoName(e int) string {
	if e < 0 {
		e = -e
	}
	switch {
	case e == 0:
		return "OK"
	case e < len(errnoNames) && errnoNames[e] != "":
		return errnoNames[e]
	case e >= 512 && e-512 < len(kernelErrnoNames) && kernelErrnoNames[e-512] != "":
		return kernelErrnoNames[e-512]
	}
	return "E" + strconv.Itoa(e)
}

// ErrnoFromReturn reports whether a raw syscall return value is an error and, if so, its
// errno: the kernel returns -errno in -MaxErrno..-1; everything else is a result.
func ErrnoFromReturn(ret int64) (int, bool) {
	if ret < 0 && ret >= -MaxErrno {
		return int(-ret), true
	}
	return 0, false
}
