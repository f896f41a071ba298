package syscalls

import "testing"

func TestCaptureSpecs(t *testing.T) {
	for _, tc := range []struct {
		call  string
		param int
		want  Capture
	}{
		{"openat", 1, Capture{Kind: CaptureString, Max: 4096, LenArg: -1}},
		{"openat", 0, Capture{Kind: CaptureNone, LenArg: -1}},
		{"openat", 3, Capture{Kind: CaptureNone, LenArg: -1}},
		{"execve", 0, Capture{Kind: CaptureString, Max: 4096, LenArg: -1, AtEntry: true}},
		{"execve", 1, Capture{Kind: CaptureStrArray, Max: 4096, LenArg: -1, AtEntry: true}},
		{"execve", 2, Capture{Kind: CaptureNone, LenArg: -1}},
		{"write", 1, Capture{Kind: CaptureBuf, LenArg: 2, Data: true}},
		{"read", 1, Capture{Kind: CaptureBuf, LenArg: -1, LenFromRet: true, Data: true}},
		{"getcwd", 0, Capture{Kind: CaptureBuf, Max: 256, LenArg: -1, LenFromRet: true}},
		{"fstat", 1, Capture{Kind: CaptureBuf, Max: statSize, LenArg: -1, Fixed: true}},
		{"nanosleep", 0, Capture{Kind: CaptureBuf, Max: 16, LenArg: -1, Fixed: true, AtEntry: true}},
		{"ppoll", 0, Capture{Kind: CaptureBuf, Max: MaxPollFds * 8, LenArg: 1, Shift: 3, AtEntry: true}},
		{"getsockopt", 3, Capture{Kind: CaptureBuf, Max: MaxSockOptBytes, LenArg: 4, LenIsPtr: true}},
		{"connect", 1, Capture{Kind: CaptureSockaddr, Max: 128, LenArg: 2}},
		{"accept4", 1, Capture{Kind: CaptureSockaddr, Max: 128, LenArg: 2, LenIsPtr: true}},
		{"sendto", 4, Capture{Kind: CaptureSockaddr, Max: 128, LenArg: 5}},
		{"recvfrom", 4, Capture{Kind: CaptureSockaddr, Max: 128, LenArg: 5, LenIsPtr: true}},
		{"clone3", 0, Capture{Kind: CaptureBuf, Max: MaxStructBytes, LenArg: 1}},
		{"openat2", 2, Capture{Kind: CaptureBuf, Max: MaxStructBytes, LenArg: 3}},
		{"mount", 2, Capture{Kind: CaptureString, Max: 256, LenArg: -1}},
		{"writev", 1, Capture{Kind: CaptureIovec, LenArg: 2, Data: true}},
		{"readv", 1, Capture{Kind: CaptureIovec, LenArg: 2, LenFromRet: true, Data: true}},
		{"sendmsg", 1, Capture{Kind: CaptureMsghdr, LenArg: -1, Data: true}},
		{"recvmsg", 1, Capture{Kind: CaptureMsghdr, LenArg: -1, LenFromRet: true, Data: true}},
		{"ioctl", 2, Capture{Kind: CaptureBuf, Max: MaxIoctlBytes, LenArg: -1, Ioctl: true}},
		{"getpid", 0, Capture{Kind: CaptureNone, LenArg: -1}}, // out of range
		{"read", -1, Capture{Kind: CaptureNone, LenArg: -1}},
	} {
		for _, a := range Arches {
			s, ok := mustTable(t, a).ByName(tc.call)
			if !ok {
				t.Fatalf("%s: %s missing", a, tc.call)
			}
			if got := s.Capture(tc.param); got != tc.want {
				t.Errorf("%s: %s param %d capture = %+v, want %+v", a, tc.call, tc.param, got, tc.want)
			}
		}
	}
}

// TestCapturesConsistent checks every parameter of every call: lengths point at a parameter
// that can hold one, limits are set, and only entry-time types are read at entry.
func TestEpollEventsByArch(t *testing.T) {
	for _, tc := range []struct {
		arch Arch
		size uint16
	}{{AMD64, 12}, {ARM64, 16}} {
		s, _ := mustTable(t, tc.arch).ByName("epoll_pwait")
		want := Capture{Kind: CaptureBuf, Max: MaxEpollEvents * tc.size, LenArg: -1, LenFromRet: true, Elem: tc.size}
		if got := s.Capture(1); got != want {
			t.Errorf("%s: epoll_pwait events capture = %+v, want %+v", tc.arch, got, want)
		}
	}
}

func TestIoctlArgs(t *testing.T) {
	for _, a := range Arches {
		m := IoctlArgs(a)
		if len(m) != len(ioctlSpecs) {
			t.Errorf("%s: %d requests resolved, want the %d named (a name missing from the ioctl table?)", a, len(m), len(ioctlSpecs))
		}
		for req, s := range m {
			if s.Size() > MaxIoctlBytes {
				t.Errorf("%s: request %#x takes %d bytes, more than the capture's %d", a, req, s.Size(), MaxIoctlBytes)
			}
			if s.Kind == IoctlEnum && Flags(a, s.Set) == nil {
				t.Errorf("%s: request %#x names no table %q", a, req, s.Set)
			}
		}
	}
	tcgets := Flags(AMD64, "ioctl")
	for _, f := range tcgets.Flags {
		if f.Name == "TIOCGWINSZ" && (IoctlArgs(AMD64)[f.Value] != IoctlSpec{Kind: IoctlWinsize, Out: true}) {
			t.Errorf("TIOCGWINSZ: %+v", IoctlArgs(AMD64)[f.Value])
		}
	}
}

func TestCapturesConsistent(t *testing.T) {
	lengthTypes := map[ArgType]bool{ArgSize: true, ArgUint: true, ArgInt: true}
	for _, a := range Arches {
		for _, s := range mustTable(t, a).All() {
			for i, p := range s.Params {
				c := s.Capture(i)
				if c != CaptureOf(a, p.Type, i, s.Params) {
					t.Errorf("%s: %s.%s: Syscall.Capture and CaptureOf disagree", a, s.Name, p.Name)
				}
				if c.Kind == CaptureNone {
					if c.LenArg != -1 || c.Max != 0 || c.AtEntry || c.LenFromRet || c.LenIsPtr {
						t.Errorf("%s: %s.%s: uncaptured param with capture details %+v", a, s.Name, p.Name, c)
					}
					continue
				}
				if (c.Max == 0) != c.Data {
					t.Errorf("%s: %s.%s: capture limit %d (data: %v)", a, s.Name, p.Name, c.Max, c.Data)
				}
				// What the caller wrote may be read at entry; what the kernel fills only at exit. A struct
				// of known size the caller wrote is read at entry, before the call can change it.
				if dir := p.Type.Info().Dir; (c.AtEntry && dir != DirIn) || (c.Fixed && c.AtEntry != (dir == DirIn)) {
					t.Errorf("%s: %s.%s: AtEntry = %v for a type of direction %d", a, s.Name, p.Name, c.AtEntry, dir)
				}
				needsLen := (c.Kind == CaptureBuf && !c.LenFromRet && !c.Fixed && !c.Ioctl) || c.Kind == CaptureSockaddr ||
					c.Kind == CaptureIovec
				if c.Elem != 0 && (!c.LenFromRet || c.Max%c.Elem != 0) {
					t.Errorf("%s: %s.%s: entries of %d bytes need LenFromRet and a whole number of them in %d", a, s.Name, p.Name, c.Elem, c.Max)
				}
				if !needsLen {
					if c.LenArg != -1 {
						t.Errorf("%s: %s.%s: unexpected LenArg %d", a, s.Name, p.Name, c.LenArg)
					}
					continue
				}
				if c.LenArg < 0 || int(c.LenArg) >= len(s.Params) || int(c.LenArg) == i {
					t.Errorf("%s: %s.%s: LenArg %d out of range", a, s.Name, p.Name, c.LenArg)
					continue
				}
				lp := s.Params[c.LenArg]
				switch {
				case c.LenIsPtr && lp.Type != ArgIntOut:
					t.Errorf("%s: %s.%s: length pointer %s has type %d, want ArgIntOut", a, s.Name, p.Name, lp.Name, lp.Type)
				case !c.LenIsPtr && !lengthTypes[lp.Type]:
					t.Errorf("%s: %s.%s: length %s has non-numeric type %d", a, s.Name, p.Name, lp.Name, lp.Type)
				}
			}
		}
	}
}
