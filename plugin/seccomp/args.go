package seccomp

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/syscalls"
)

// EventArgs reads an event's decoded arguments back into the values the registers held, for the rules
// that test them: a number is itself; a flag word or a name ("CLONE_VM|CLONE_FS|SIGCHLD", "AF_INET",
// "0x20008") is looked up in the flag table of the parameter, the signals, and the names the decoder gives
// without a table (names below). What cannot be read back (a pointer's target, a name swoll does not know)
// is unknown, and a rule on it leaves the verdict undecided rather than guessed.
func EventArgs(ev *event.Event) Args {
	arch := syscalls.Arch(ev.Syscall.Arch)
	if arch == "" {
		arch = syscalls.AMD64
	}
	t, err := syscalls.ForArch(arch)
	if err != nil {
		return NoArgs
	}
	sc, ok := t.ByName(ev.Syscall.Name)
	if !ok {
		return NoArgs
	}
	var obj map[string]json.RawMessage
	parsed := false
	return func(i uint) (uint64, bool) {
		if int(i) >= len(sc.Params) {
			return 0, false
		}
		if !parsed {
			parsed = true
			if json.Unmarshal(ev.Args, &obj) != nil {
				obj = nil
			}
		}
		p := sc.Params[i]
		raw, ok := obj[p.Name]
		if !ok {
			return 0, false
		}
		return argValue(arch, p, raw)
	}
}

// argValue reads one decoded argument back.
func argValue(arch syscalls.Arch, p syscalls.Param, raw json.RawMessage) (uint64, bool) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return 0, false
	case string(raw) == "null":
		return 0, true
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		return flagWord(arch, p, s)
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		if v, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return uint64(v), true
		}
		if v, err := strconv.ParseUint(string(raw), 10, 64); err == nil {
			return v, true
		}
	}
	return 0, false // objects, arrays, booleans: a pointer's target, not the register
}

// flagWord reads "A|B|0x40" back: each part a number or a name.
func flagWord(arch syscalls.Arch, p syscalls.Param, s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var v uint64
	for _, part := range strings.Split(s, "|") {
		x, ok := number(part)
		if !ok {
			x, ok = nameValue(arch, p, part)
		}
		if !ok {
			return 0, false
		}
		v |= x
	}
	return v, true
}

// number reads 0x1f (hex), 0644 (octal, as modes print), 12 and -100.
func number(s string) (uint64, bool) {
	switch {
	case strings.HasPrefix(s, "0x"):
		v, err := strconv.ParseUint(s[2:], 16, 64)
		return v, err == nil
	case len(s) > 1 && s[0] == '0':
		v, err := strconv.ParseUint(s[1:], 8, 64)
		return v, err == nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return uint64(v), true
	}
	return 0, false
}

// nameValue looks a name up: the parameter's own table first, then the signals, then the names below.
func nameValue(arch syscalls.Arch, p syscalls.Param, name string) (uint64, bool) {
	for _, set := range []string{p.Set, "signal"} {
		if set == "" {
			continue
		}
		if fs := syscalls.Flags(arch, set); fs != nil {
			for _, f := range fs.Flags {
				if f.Name == name {
					return f.Value, true
				}
			}
		}
	}
	if v, ok := decoderNames[name]; ok {
		return v, true
	}
	return 0, false
}

// decoderNames are the names the agent's decoder prints from tables of its own rather than package
// syscalls' flag sets (Linux's UAPI values, the same on amd64 and arm64): clone's flags, address families,
// socket types, AT_FDCWD. They are what the default profiles' rules test (clone's namespace flags,
// personality, socket's family).
var decoderNames = func() map[string]uint64 {
	m := map[string]uint64{
		"CLONE_VM": 0x100, "CLONE_FS": 0x200, "CLONE_FILES": 0x400, "CLONE_SIGHAND": 0x800, "CLONE_PIDFD": 0x1000,
		"CLONE_PTRACE": 0x2000, "CLONE_VFORK": 0x4000, "CLONE_PARENT": 0x8000, "CLONE_THREAD": 0x10000,
		"CLONE_NEWNS": 0x20000, "CLONE_SYSVSEM": 0x40000, "CLONE_SETTLS": 0x80000, "CLONE_PARENT_SETTID": 0x100000,
		"CLONE_CHILD_CLEARTID": 0x200000, "CLONE_DETACHED": 0x400000, "CLONE_UNTRACED": 0x800000,
		"CLONE_CHILD_SETTID": 0x1000000, "CLONE_NEWCGROUP": 0x2000000, "CLONE_NEWUTS": 0x4000000,
		"CLONE_NEWIPC": 0x8000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
		"CLONE_NEWNET": 0x40000000, "CLONE_IO": 0x80000000, "CLONE_CLEAR_SIGHAND": 0x100000000,
		"CLONE_INTO_CGROUP": 0x200000000, "CLONE_NEWTIME": 0x80,
		"SOCK_STREAM": 1, "SOCK_DGRAM": 2, "SOCK_RAW": 3, "SOCK_RDM": 4, "SOCK_SEQPACKET": 5, "SOCK_DCCP": 6,
		"SOCK_PACKET": 10, "SOCK_NONBLOCK": 0x800, "SOCK_CLOEXEC": 0x80000,
		"AT_FDCWD": uint64(0xffffffffffffff9c), // -100
	}
	for i, name := range addressFamilies {
		m[name] = uint64(i)
	}
	return m
}()

// addressFamilies are AF_* by value (linux/socket.h).
var addressFamilies = [...]string{
	"AF_UNSPEC", "AF_UNIX", "AF_INET", "AF_AX25", "AF_IPX", "AF_APPLETALK", "AF_NETROM", "AF_BRIDGE",
	"AF_ATMPVC", "AF_X25", "AF_INET6", "AF_ROSE", "AF_DECnet", "AF_NETBEUI", "AF_SECURITY", "AF_KEY",
	"AF_NETLINK", "AF_PACKET", "AF_ASH", "AF_ECONET", "AF_ATMSVC", "AF_RDS", "AF_SNA", "AF_IRDA", "AF_PPPOX",
	"AF_WANPIPE", "AF_LLC", "AF_IB", "AF_MPLS", "AF_CAN", "AF_TIPC", "AF_BLUETOOTH", "AF_IUCV", "AF_RXRPC",
	"AF_ISDN", "AF_PHONET", "AF_IEEE802154", "AF_CAIF", "AF_ALG", "AF_NFC", "AF_VSOCK", "AF_KCM",
	"AF_QIPCRTR", "AF_SMC", "AF_XDP", "AF_MCTP",
}
