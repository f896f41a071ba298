package trace

import "github.com/swoll-dev/swoll/syscalls"

// resolveSyscalls checks names against one architecture's table and returns the names to send to an agent of
// that architecture (class:X and group:Y expanded).
var resolveSyscalls = syscalls.ResolveNames

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
