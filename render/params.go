package render

import "github.com/swoll-dev/swoll/syscalls"

// paramsOf returns the parameters of the named syscall, or nil when no table knows it. Events do not say
// which architecture they come from, and architectures may order a call's parameters differently (arm64's
// clone); the table whose order matches the order of the args object wins, amd64's otherwise.
func paramsOf(name string, args []byte) []syscalls.Param {
	var first []syscalls.Param
	for _, arch := range syscalls.Arches {
		t, err := syscalls.ForArch(arch)
		if err != nil {
			continue
		}
		s, ok := t.ByName(name)
		if !ok {
			continue
		}
		if first == nil {
			first = s.Params
		}
		if sameOrder(s.Params, args) {
			return s.Params
		}
	}
	return first
}

// sameOrder says whether the keys of args that name params appear in params order.
func sameOrder(params []syscalls.Param, args []byte) bool {
	last := -1
	m := newMembers(args)
	for {
		k, _, ok := m.next()
		if !ok {
			return true
		}
		for i, p := range params {
			if p.Name == string(k) {
				if i < last {
					return false
				}
				last = i
				break
			}
		}
	}
}
