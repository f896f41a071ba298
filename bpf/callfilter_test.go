//go:build linux

package bpf

import (
	"testing"
	"time"

	"github.com/swoll-dev/swoll/callfilter"
	"github.com/swoll-dev/swoll/syscalls"
)

// Each call's fd roles come from its parameters' types (syscalls.ArgInfo.Fd) and RetFd.
func TestCallFds(t *testing.T) {
	table := syscalls.Native()
	for _, c := range []struct {
		name string
		want ProbeCallFds
		ok   bool
	}{
		{"openat", ProbeCallFds{Role: [6]uint8{fdrDirFd, fdrPath}, RetFd: 1, Entry: 1}, true},
		{"close", ProbeCallFds{Role: [6]uint8{fdrFd}, Entry: 1}, true},
		{"dup2", ProbeCallFds{Role: [6]uint8{fdrFd, fdrFd}, RetFd: 1, Entry: 1}, true},
		{"pipe2", ProbeCallFds{Pair: 1, Role: [6]uint8{fdrFdPair}}, true},
		{"socketpair", ProbeCallFds{Pair: 4, Role: [6]uint8{3: fdrFdPair}}, true},
		{"execve", ProbeCallFds{Role: [6]uint8{fdrEPath}, Entry: 1}, true},
		{"renameat2", ProbeCallFds{Role: [6]uint8{fdrDirFd, fdrPath, fdrDirFd, fdrPath}, Entry: 1}, true},
		{"eventfd2", ProbeCallFds{RetFd: 1}, true},
		{"getppid", ProbeCallFds{}, false},
	} {
		sc, ok := table.ByName(c.name)
		if !ok {
			t.Fatalf("no %s", c.name)
		}
		got, ok := CallFds(sc)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// A Spec becomes the flags, constants and LPM keys exitfilter.h reads.
func TestNewCallFilter(t *testing.T) {
	table := syscalls.Native()
	c, err := NewCallFilter(callfilter.Spec{Errnos: []string{"ENOENT", "EACCES"}, SlowerThan: time.Millisecond,
		Paths: []string{"/etc/hostname"}, PathsUnder: []string{"/var/"}, Comms: []string{"nginx"}, Pids: []int{1}}, table)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint32(xfErrno | xfSlow | xfComm | xfPid | xfPath); c.flags != want {
		t.Errorf("flags %#x, want %#x", c.flags, want)
	}
	if c.minNs != 1e6 || c.errnos[0] != 1<<2 || c.errnos[1] != 1<<(13-8) || c.comms[0] != [16]byte{'n', 'g', 'i', 'n', 'x'} {
		t.Errorf("constants: %+v", c)
	}
	keys := map[string]uint32{}
	for _, k := range c.paths {
		keys[string(k.Data[:k.Prefixlen/8])] = k.Prefixlen
	}
	want := map[string]uint32{"/etc/hostname\x00": 8 * 14, "/var\x00": 8 * 5, "/var/": 8 * 5}
	if len(keys) != len(want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	for k, v := range want {
		if keys[k] != v {
			t.Errorf("key %q: prefix %d bits, want %d", k, keys[k], v)
		}
	}
	if len(c.calls) == 0 {
		t.Error("-P without the calls' fd roles")
	}
	if c, _ := NewCallFilter(callfilter.Spec{Failed: true}, table); c.flags != xfFailed || c.calls != nil {
		t.Errorf("--failed: %+v", c)
	}
	if _, err := NewCallFilter(callfilter.Spec{Failed: true, Succeeded: true}, table); err == nil {
		t.Error("an invalid Spec accepted")
	}
}
