package syscalls

// Flag is one named bit (or group of bits) of a flag word, or one named value.
type Flag struct {
	Name  string
	Value uint64
}

// FlagSet is a table of flag bits (O_*, PROT_*) or of values (F_*, MADV_*), generated from the kernel's
// headers as golang.org/x/sys carries them (syscalls/internal/gen). Flags are in the order strace prints them.
// Sets are shared and must not be modified.
type FlagSet struct {
	Name  string
	Enum  bool   // Flags are values, not bits
	Zero  string // how 0 prints when no flag names it ("PROT_NONE"); "" for "0"
	Flags []Flag
}

//go:generate go run ./internal/gen -o znumbers.go -flags zflags.go

var flagSets = map[Arch]map[string]*FlagSet{AMD64: flagSetsAMD64, ARM64: flagSetsARM64}

// Flags returns the named flag or value table of arch, or nil when there is none.
func Flags(arch Arch, name string) *FlagSet {
	return flagSets[arch][name]
}

// NameOf returns the name of value v in an enum set, or "".
func (s *FlagSet) NameOf(v uint64) string {
	for _, f := range s.Flags {
		if f.Value == v {
			return f.Name
		}
	}
	return ""
}
