package decode

import "github.com/swoll-dev/swoll/syscalls"

// tableLookup returns the syscalls of arch; none for an architecture swoll has no table for, whose records
// then render with raw arguments.
func tableLookup(arch syscalls.Arch) []*syscalls.Syscall {
	t, err := syscalls.ForArch(arch)
	if err != nil {
		return nil
	}
	return t.All()
}
