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
func TestCapturesConsistent(t *testing.T) {
	lengthTypes := map[ArgType]bool{ArgSize: true, ArgUint: true, ArgInt: true}
	for _, a := range Arches {
		for _, s := range mustTable(t, a).All() {
			for i, p := range s.Params {
				c := s.Capture(i)
				if c != CaptureOf(p.Type, i, s.Params) {
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
				_, in := structSize(p.Type)
				entry := p.Type == ArgPathAtEntry || p.Type == ArgStrArray || p.Type == ArgPollFds || p.Type == ArgSockOptVal || in
				if c.AtEntry != entry {
					t.Errorf("%s: %s.%s: AtEntry = %v for type %d", a, s.Name, p.Name, c.AtEntry, p.Type)
				}
				needsLen := (c.Kind == CaptureBuf && !c.LenFromRet && !c.Fixed) || c.Kind == CaptureSockaddr
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
