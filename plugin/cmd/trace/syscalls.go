package trace

import (
	"fmt"

	"github.com/swoll-dev/swoll/syscalls"
)

// resolveSyscalls checks names against one architecture's table and returns the names to send to an agent of
// that architecture (class:X and group:Y expanded).
func resolveSyscalls(arch string, names []string) ([]string, error) {
	table, err := syscalls.ForArch(syscalls.Arch(arch))
	if err != nil {
		return nil, fmt.Errorf("node architecture %q is not supported (swoll supports amd64 and arm64)", arch)
	}
	resolved, err := table.Resolve(names)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(resolved))
	for i, s := range resolved {
		out[i] = s.Name
	}
	return out, nil
}

// checkSyscallsAnyArch catches typos before contacting the cluster: a name must exist on at least one
// supported architecture (the nodes' own architectures are checked once they are known).
func checkSyscallsAnyArch(names []string) error {
	if len(names) == 0 {
		return nil
	}
	var firstErr error
	for _, a := range syscalls.Arches {
		if _, err := resolveSyscalls(string(a), names); err == nil {
			return nil
		} else if firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}
