package syscalls

import "strconv"

// kernelErrnoNames are the kernel-internal codes (include/linux/errno.h) that never reach user
// space but do show up in a syscall's return value as seen by a tracer, e.g. ERESTARTSYS when
// a signal interrupts a blocking call that will be restarted. Indexed from kernelErrnoBase.
var kernelErrnoNames = [...]string{
	0:  "ERESTARTSYS",           // 512
	1:  "ERESTARTNOINTR",        // 513
	2:  "ERESTARTNOHAND",        // 514
	3:  "ENOIOCTLCMD",           // 515
	4:  "ERESTART_RESTARTBLOCK", // 516
	5:  "EPROBE_DEFER",          // 517
	6:  "EOPENSTALE",            // 518
	7:  "ENOPARAM",              // 519
	9:  "EBADHANDLE",            // 521
	10: "ENOTSYNC",              // 522
	11: "EBADCOOKIE",            // 523
	12: "ENOTSUPP",              // 524
	13: "ETOOSMALL",             // 525
	14: "ESERVERFAULT",          // 526
	15: "EBADTYPE",              // 527
	16: "EJUKEBOX",              // 528
	17: "EIOCBQUEUED",           // 529
	18: "ERECALLCONFLICT",       // 530
	19: "ENOGRACE",              // 531
}

const kernelErrnoBase = 512

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
	case e >= kernelErrnoBase && e-kernelErrnoBase < len(kernelErrnoNames) && kernelErrnoNames[e-kernelErrnoBase] != "":
		return kernelErrnoNames[e-kernelErrnoBase]
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
