package syscalls

import (
	"strconv"
	"strings"
)

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

// errnoByName maps every errno name ErrnoName gives (the kernel-internal ones too) to its number.
var errnoByName = func() map[string]int {
	m := map[string]int{}
	for e := 1; e <= MaxErrno; e++ {
		if n := ErrnoName(e); n != "E"+strconv.Itoa(e) {
			m[n] = e
		}
	}
	// libc's other names of the same numbers
	m["EWOULDBLOCK"], m["EDEADLOCK"], m["ENOTSUP"] = m["EAGAIN"], m["EDEADLK"], m["EOPNOTSUPP"]
	return m
}()

// ErrnoByName returns the number of an errno: its name, in any case ("ENOENT", "enoent"), "E<number>" or a
// number in 1..MaxErrno. The map is read-only after init: safe for concurrent use.
func ErrnoByName(name string) (int, bool) {
	name = strings.ToUpper(strings.TrimSpace(name))
	if e, ok := errnoByName[name]; ok {
		return e, true
	}
	digits := strings.TrimPrefix(name, "E")
	if e, err := strconv.Atoi(digits); err == nil && e >= 1 && e <= MaxErrno && digits != "" && digits[0] != '+' {
		return e, true
	}
	return 0, false
}
