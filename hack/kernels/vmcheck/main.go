//go:build linux

// vmcheck runs inside the VMs of make test-kernels (hack/test-kernels.sh): "features" prints what the
// tracer's probing finds on this kernel, "leftover" fails when any BPF program or map is still loaded (the
// VM runs nothing else that loads them, so every one would be the tests' or the agent's), "load" loads every
// variant of the probe the kernel can run and prints the verifier's whole log for one it rejects, "caps" tells
// which capability sets (with a low RLIMIT_MEMLOCK, as containers get it) let the tracer load and trace.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/nodeagent/countprobe"
	"github.com/swoll-dev/swoll/nodeagent/nsid"
	"github.com/swoll-dev/swoll/nodeagent/tracer"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == "capchild" {
		capChild(os.Args[2], os.Args[3] == "low-memlock")
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: vmcheck features|leftover|load|caps")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "features":
		fmt.Println(tracer.ProbeFeatures())
	case "leftover":
		progs, maps, err := loaded()
		if err != nil {
			fmt.Fprintln(os.Stderr, "vmcheck:", err)
			os.Exit(1)
		}
		fmt.Printf("%d programs, %d maps loaded\n", progs, maps)
		if progs+maps > 0 {
			os.Exit(1)
		}
	case "caps":
		capMatrix()
	case "load":
		if !loadAll() {
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, "vmcheck: unknown command", os.Args[1])
		os.Exit(2)
	}
}

// loaded counts the BPF programs and maps the kernel holds.
func loaded() (progs, maps int, err error) {
	for id := ebpf.ProgramID(0); ; progs++ {
		id, err = ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			break
		} else if err != nil {
			return 0, 0, fmt.Errorf("listing programs: %w", err)
		}
	}
	for id := ebpf.MapID(0); ; maps++ {
		id, err = ebpf.MapGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			break
		} else if err != nil {
			return 0, 0, fmt.Errorf("listing maps: %w", err)
		}
	}
	return progs, maps, nil
}

// loadAll loads each variant of the probe and of the counting programs this kernel has the features for.
func loadAll() bool {
	ok := true
	have := tracer.ProbeFeatures()
	for f := have; ; f = (f - 1) & have { // every subset of have, have first
		if f.Usable() == f {
			ok = loadVariant(f, have&^f) && ok
		}
		if f == 0 {
			break
		}
	}
	return ok
}

// loadVariant loads the tracer and a counter on its filter without the given features.
func loadVariant(f, without tracer.Features) bool {
	report := func(what string, err error) {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			fmt.Printf("%s %s: %+v\n", f, what, ve)
		} else {
			fmt.Printf("%s %s: %v\n", f, what, err)
		}
	}
	t, err := tracer.New(tracer.Options{Without: without})
	if err != nil {
		report("probe", err)
		return false
	}
	fmt.Printf("%s probe: loaded (%s)\n", f, t.AttachType())
	m, err := countprobe.NewMode(t, countprobe.Options{})
	if err != nil {
		report("count", err)
		_ = t.Close()
		return false
	}
	fmt.Printf("%s count: loaded (%s)\n", f, m.AttachType())
	_ = m.Close()
	return true
}

// capSets are the capability sets tried by "caps".
var capSets = []struct {
	name string
	caps []int
}{
	{"CAP_BPF,CAP_PERFMON", []int{unix.CAP_BPF, unix.CAP_PERFMON}},
	{"CAP_BPF,CAP_PERFMON,CAP_SYS_RESOURCE", []int{unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_SYS_RESOURCE}},
	{"CAP_SYS_ADMIN", []int{unix.CAP_SYS_ADMIN}},
	{"CAP_SYS_ADMIN,CAP_SYS_RESOURCE", []int{unix.CAP_SYS_ADMIN, unix.CAP_SYS_RESOURCE}},
}

// capMatrix runs a child per capability set and memlock limit and prints one line each.
func capMatrix() {
	for _, cs := range capSets {
		for _, ml := range []string{"low-memlock", "inherited-memlock"} {
			out, err := exec.Command("/proc/self/exe", "capchild", cs.name, ml).CombinedOutput()
			verdict := "ok"
			if err != nil {
				verdict = "FAILS: " + strings.TrimSpace(string(out))
			}
			fmt.Printf("caps %s %s: %s\n", cs.name, ml, verdict)
		}
	}
}

// capChild keeps only the named capabilities (on every thread), then loads the tracer and traces its own
// mount namespace. With low-memlock, RLIMIT_MEMLOCK is 8 MiB (hard and soft): kernels before 5.11 charge
// BPF memory to it.
func capChild(names string, lowMemlock bool) {
	if lowMemlock {
		lim := unix.Rlimit{Cur: 8 << 20, Max: 8 << 20}
		if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &lim); err != nil {
			fail("setrlimit: %v", err)
		}
	}
	var keep []int
	for _, cs := range capSets {
		if cs.name == names {
			keep = cs.caps
		}
	}
	var data [2]unix.CapUserData
	for _, c := range keep {
		data[c/32].Effective |= 1 << (c % 32)
		data[c/32].Permitted |= 1 << (c % 32)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)),
		uintptr(unsafe.Pointer(&data[0])), 0); errno != 0 {
		fail("capset: %v", errno)
	}
	t, err := tracer.New(tracer.Options{})
	if err != nil {
		fail("%v", err)
	}
	defer func() { _ = t.Close() }()
	id, _, err := nsid.MountNSID(0)
	if err != nil {
		fail("%v", err)
	}
	if err := t.AddMountNS(id, 1); err != nil {
		fail("%v", err)
	}
	if err := t.AddPid(uint32(os.Getpid()), 2); err != nil {
		fail("%v", err)
	}
	fmt.Println("loaded, features " + t.Features().String() + ", pid " + strconv.Itoa(os.Getpid()))
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(1)
}
