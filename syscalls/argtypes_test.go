package syscalls

import (
	"strconv"
	"testing"
)

// TestArgInfosComplete: every ArgType has a complete description (a word of its own, a direction, a way to
// print), and what the probe copies for it agrees with its direction. A type added without its ArgInfo
// fails here.
func TestArgInfosComplete(t *testing.T) {
	words := map[string]ArgType{}
	for at := range NumArgTypes {
		info := at.Info()
		if info.Word == "" || info.Dir == dirUnset || info.Print == printUnset {
			t.Errorf("ArgType %d: incomplete ArgInfo %+v", at, info)
			continue
		}
		if prev, dup := words[info.Word]; dup {
			t.Errorf("%s: word of both ArgType %d and %d", info.Word, prev, at)
		}
		words[info.Word] = at
		c := info.capture
		switch info.Dir {
		case DirValue:
			if c.Kind != CaptureNone {
				t.Errorf("%s: a value, but captured as %+v", at, c)
			}
		case DirIn, DirInOut, DirOut, DirOutIfPositive, DirOutIfEINTR:
			if c.Kind == CaptureNone {
				t.Errorf("%s: a pointer shown by what it points to, but not captured", at)
			}
		}
		if c.LenArg != 0 {
			t.Errorf("%s: LenArg %d in the table (CaptureOf sets it)", at, c.LenArg)
		}
	}
	if got, want := NumArgTypes.String(), "ArgType("+strconv.Itoa(int(NumArgTypes))+")"; got != want {
		t.Errorf("NumArgTypes.String() = %q, want %q", got, want)
	}
	if ArgPath.String() != "path" || ArgFlags.String() != "bits" {
		t.Errorf("ArgPath, ArgFlags = %s, %s", ArgPath, ArgFlags)
	}
}

// TestEveryArgTypeUsed: each type is the type of some parameter of some architecture's table; one that no
// call uses any more should go.
func TestEveryArgTypeUsed(t *testing.T) {
	used := map[ArgType]bool{}
	for _, a := range Arches {
		for _, s := range mustTable(t, a).All() {
			for _, p := range s.Params {
				used[p.Type] = true
			}
		}
	}
	for at := range NumArgTypes {
		if !used[at] {
			t.Errorf("%s: no parameter has this type", at)
		}
	}
}

func TestDirFilled(t *testing.T) {
	for _, tc := range []struct {
		dir  Dir
		ret  int64
		want bool
	}{
		{DirValue, -2, true}, {DirIn, -2, true}, {DirInOut, -14, true}, {DirByCommand, -1, true},
		{DirOut, 0, true}, {DirOut, 5, true}, {DirOut, -2, false},
		{DirOutIfPositive, 42, true}, {DirOutIfPositive, 0, false}, {DirOutIfPositive, -10, false},
		{DirOutIfEINTR, -4, true}, {DirOutIfEINTR, 0, false}, {DirOutIfEINTR, -22, false},
	} {
		if got := tc.dir.Filled(tc.ret); got != tc.want {
			t.Errorf("Dir %d Filled(%d) = %v, want %v", tc.dir, tc.ret, got, tc.want)
		}
	}
}

func TestParseParamsRejectsUnknownWords(t *testing.T) {
	for _, spec := range []string{"fd:nosuchtype", "flags:bits", "mode:mode.open", "flags:bits.nosuchtable"} {
		if _, err := parseParams(spec); err == nil {
			t.Errorf("parseParams(%q) accepted", spec)
		}
	}
	if _, err := parseParams("flags:bits.open mode:mode"); err != nil {
		t.Error(err)
	}
}

// Every call listed as returning an fd exists on some architecture (a misspelt name would silently show no
// path with -y).
func TestFdReturnsNamed(t *testing.T) {
	for name := range fdReturns {
		found := false
		for _, a := range Arches {
			if s, ok := mustTable(t, a).ByName(name); ok {
				found = true
				if !s.RetFd {
					t.Errorf("%s on %s: RetFd not set", name, a)
				}
			}
		}
		if !found {
			t.Errorf("%s: no such system call", name)
		}
	}
}
