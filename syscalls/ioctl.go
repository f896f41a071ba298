package syscalls

// IoctlArgKind says what an ioctl request's third argument is, as strace shows it.
type IoctlArgKind uint8

const (
	IoctlAddr     IoctlArgKind = iota // not decoded: the value in hex (requests not in IoctlArgs)
	IoctlNone                         // the request takes no argument: not shown
	IoctlValue                        // the argument itself, a signed int (TCSBRK, TIOCSCTTY)
	IoctlEnum                         // the argument itself, named by IoctlSpec.Set (TCXONC, TCFLSH)
	IoctlInt                          // int *: [N]
	IoctlModem                        // int * of TIOCM_* bits: [TIOCM_DTR|TIOCM_RTS]
	IoctlChar                         // const char * of one byte (TIOCSTI)
	IoctlWinsize                      // struct winsize *
	IoctlTermios                      // struct termios * (the kernel's: 36 bytes)
	IoctlTermios2                     // struct termios2 *
	IoctlTermio                       // struct termio *
)

// IoctlSpec is how one request's argument is captured and shown.
type IoctlSpec struct {
	Kind IoctlArgKind
	Out  bool   // the kernel fills it: shown only when the call succeeds (an address otherwise)
	Set  string // the value table of IoctlEnum
}

// Size is how many bytes the probe copies of what the argument points to (0: nothing).
func (s IoctlSpec) Size() uint16 {
	switch s.Kind {
	case IoctlInt, IoctlModem:
		return 4
	case IoctlChar:
		return 1
	case IoctlWinsize:
		return 8
	case IoctlTermios:
		return 36
	case IoctlTermios2:
		return 44
	case IoctlTermio:
		return 18
	}
	return 0
}

// ioctlSpecs are the requests whose argument swoll decodes, by their names in the "ioctl" flag table: the
// terminal requests strace decodes (its term.c), with the same directions.
var ioctlSpecs = map[string]IoctlSpec{
	"TCGETS": {Kind: IoctlTermios, Out: true}, "TIOCGLCKTRMIOS": {Kind: IoctlTermios, Out: true},
	"TCSETS": {Kind: IoctlTermios}, "TCSETSW": {Kind: IoctlTermios}, "TCSETSF": {Kind: IoctlTermios},
	"TIOCSLCKTRMIOS": {Kind: IoctlTermios},
	"TCGETS2":        {Kind: IoctlTermios2, Out: true},
	"TCSETS2":        {Kind: IoctlTermios2}, "TCSETSW2": {Kind: IoctlTermios2}, "TCSETSF2": {Kind: IoctlTermios2},
	"TCGETA": {Kind: IoctlTermio, Out: true},
	"TCSETA": {Kind: IoctlTermio}, "TCSETAW": {Kind: IoctlTermio}, "TCSETAF": {Kind: IoctlTermio},
	"TIOCGWINSZ": {Kind: IoctlWinsize, Out: true}, "TIOCSWINSZ": {Kind: IoctlWinsize},
	"TCXONC": {Kind: IoctlEnum, Set: "tcxonc"}, "TCFLSH": {Kind: IoctlEnum, Set: "tcflsh"},
	"TCSBRK": {Kind: IoctlValue}, "TCSBRKP": {Kind: IoctlValue}, "TIOCSCTTY": {Kind: IoctlValue},
	"TIOCMGET": {Kind: IoctlModem, Out: true},
	"TIOCMBIS": {Kind: IoctlModem}, "TIOCMBIC": {Kind: IoctlModem}, "TIOCMSET": {Kind: IoctlModem},
	"TIOCGPGRP": {Kind: IoctlInt, Out: true}, "TIOCGSID": {Kind: IoctlInt, Out: true},
	"TIOCGETD": {Kind: IoctlInt, Out: true}, "TIOCGSOFTCAR": {Kind: IoctlInt, Out: true},
	"TIOCGPTN": {Kind: IoctlInt, Out: true}, "FIONREAD": {Kind: IoctlInt, Out: true},
	"TIOCOUTQ": {Kind: IoctlInt, Out: true}, "TIOCGEXCL": {Kind: IoctlInt, Out: true},
	"TIOCGDEV":  {Kind: IoctlInt, Out: true},
	"TIOCSPGRP": {Kind: IoctlInt}, "TIOCSETD": {Kind: IoctlInt}, "FIONBIO": {Kind: IoctlInt},
	"FIOASYNC": {Kind: IoctlInt}, "TIOCPKT": {Kind: IoctlInt}, "TIOCSSOFTCAR": {Kind: IoctlInt},
	"TIOCSPTLCK": {Kind: IoctlInt},
	"TIOCSTI":    {Kind: IoctlChar},
	"TIOCSBRK":   {Kind: IoctlNone}, "TIOCCBRK": {Kind: IoctlNone}, "TIOCCONS": {Kind: IoctlNone},
	"TIOCNOTTY": {Kind: IoctlNone}, "TIOCEXCL": {Kind: IoctlNone}, "TIOCNXCL": {Kind: IoctlNone},
	"FIOCLEX": {Kind: IoctlNone}, "FIONCLEX": {Kind: IoctlNone}, "TIOCVHANGUP": {Kind: IoctlNone},
}

// IoctlArgs returns the decoded requests of arch by request number. The map is shared: do not modify it.
func IoctlArgs(arch Arch) map[uint64]IoctlSpec {
	return ioctlArgs[arch]
}

var ioctlArgs = map[Arch]map[uint64]IoctlSpec{AMD64: ioctlTable(AMD64), ARM64: ioctlTable(ARM64)}

func ioctlTable(arch Arch) map[uint64]IoctlSpec {
	m := map[uint64]IoctlSpec{}
	for _, f := range flagSets[arch]["ioctl"].Flags {
		if s, ok := ioctlSpecs[f.Name]; ok {
			m[f.Value] = s
		}
	}
	return m
}
