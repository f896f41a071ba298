package record

import (
	"encoding/binary"
	"errors"
)

// Layout of the probe's record (struct rec_hdr and struct cap_hdr in bpf/probe.c; a tracer test checks that
// these offsets match the generated Go types). All fields are little-endian: swoll's targets (amd64, arm64)
// are little-endian.
const (
	offNr      = 0
	offTarget  = 4
	offRet     = 8
	offArgs    = 16
	offStart   = 64
	offFinish  = 72
	offPid     = 80
	offTid     = 84
	offNsPid   = 88
	offUID     = 92
	offGID     = 96
	offPidNS   = 100
	offUtsNS   = 104
	offMntNS   = 108
	offComm    = 112
	offSize    = 128
	offNCaps   = 132
	offFlags   = 134
	offCgroup  = 136
	HeaderSize = 144

	capHeaderSize = 4
	capFaulted    = 1
	capTruncated  = 2

	// fdSlotBase is the capture number of the first fd description (bpf/fdpath.h's FD_SLOT).
	fdSlotBase = 8

	flagCapsDropped = 1
	flagNoReturn    = 2
)

// Parse errors. They mean the sample is not a record of this probe version: a bug, never user input.
var (
	ErrShort      = errors.New("record: shorter than its header")
	ErrSize       = errors.New("record: size field disagrees with the sample")
	ErrCapture    = errors.New("record: capture runs past the end of the record")
	ErrCaptureArg = errors.New("record: capture names an argument out of range")
)

var le = binary.LittleEndian

// Parse decodes one ring-buffer sample into r, overwriting every field. Capture data aliases b. It never
// allocates and never panics, whatever b holds.
func Parse(b []byte, r *Record) error {
	if len(b) < HeaderSize {
		return ErrShort
	}
	size := le.Uint32(b[offSize:])
	// The ring pads samples to 8 bytes, so the sample may be longer than the record, never shorter.
	if size < HeaderSize || uint64(size) > uint64(len(b)) {
		return ErrSize
	}
	b = b[:size]
	r.Nr = le.Uint32(b[offNr:])
	r.TargetID = le.Uint32(b[offTarget:])
	r.Ret = int64(le.Uint64(b[offRet:]))
	for i := range r.Args {
		r.Args[i] = le.Uint64(b[offArgs+8*i:])
	}
	r.Start = le.Uint64(b[offStart:])
	r.Finish = le.Uint64(b[offFinish:])
	r.Pid = le.Uint32(b[offPid:])
	r.Tid = le.Uint32(b[offTid:])
	r.NsPid = le.Uint32(b[offNsPid:])
	r.UID = le.Uint32(b[offUID:])
	r.GID = le.Uint32(b[offGID:])
	r.PidNS = le.Uint32(b[offPidNS:])
	r.UtsNS = le.Uint32(b[offUtsNS:])
	r.MntNS = le.Uint32(b[offMntNS:])
	r.Cgroup = le.Uint64(b[offCgroup:])
	copy(r.Comm[:], b[offComm:offComm+len(r.Comm)])
	flags := le.Uint16(b[offFlags:])
	r.CapsDropped = flags&flagCapsDropped != 0
	r.NoReturn = flags&flagNoReturn != 0
	r.Captures = [MaxArgs]Capture{}
	r.Fds = [FdSlots]Fd{}

	n := int(le.Uint16(b[offNCaps:]))
	rest := b[HeaderSize:]
	for i := 0; i < n; i++ {
		if len(rest) < capHeaderSize {
			return ErrCapture
		}
		arg, flags, l := rest[0], rest[1], int(le.Uint16(rest[2:]))
		rest = rest[capHeaderSize:]
		if l > len(rest) {
			return ErrCapture
		}
		if int(arg) >= fdSlotBase && int(arg) < fdSlotBase+FdSlots {
			if l < fdInfoSize {
				return ErrCapture
			}
			parseFd(&r.Fds[int(arg)-fdSlotBase], rest[:l:l])
			rest = rest[l:]
			continue
		}
		if int(arg) >= MaxArgs {
			return ErrCaptureArg
		}
		r.Captures[arg] = Capture{
			Present:   true,
			Faulted:   flags&capFaulted != 0,
			Truncated: flags&capTruncated != 0,
			Data:      rest[:l:l],
		}
		rest = rest[l:]
	}
	return nil
}

// parseFd reads a bpf/fdpath.h struct fd_info and its data.
func parseFd(f *Fd, b []byte) {
	flags := b[1]
	*f = Fd{
		Present:   true,
		Kind:      FdKind(b[0]),
		Deleted:   flags&fdDeleted != 0,
		Truncated: flags&fdTrunc != 0,
		Magic:     le.Uint32(b[4:]),
		Ino:       le.Uint64(b[8:]),
		Mode:      le.Uint32(b[16:]),
		Rdev:      le.Uint32(b[20:]),
		Data:      b[fdInfoSize:],
	}
}

// CommString is the task's command name without the NUL padding.
func (r *Record) CommString() string {
	for i, c := range r.Comm {
		if c == 0 {
			return string(r.Comm[:i])
		}
	}
	return string(r.Comm[:])
}
