//go:build linux

package agentcmd

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/bpf"
	"github.com/swoll-dev/swoll/nodeagent/countprobe"
	"github.com/swoll-dev/swoll/nodeagent/tracer"
	"github.com/swoll-dev/swoll/syscalls"
)

// btfPath is where the kernel publishes its BTF; the probe is CO-RE and cannot load without it.
var btfPath = "/sys/kernel/btf/vmlinux"

// errNotPrivileged is a process that may not load BPF programs.
var errNotPrivileged = errors.New("loading BPF programs requires root (CAP_BPF and CAP_PERFMON)")

// errMemlock is a kernel before 5.11, which charges BPF memory to RLIMIT_MEMLOCK, with a limit this process may
// not raise.
var errMemlock = errors.New("loading BPF programs: this kernel charges them to RLIMIT_MEMLOCK (before Linux 5.11), " +
	"which this process may not raise: give it CAP_SYS_RESOURCE or a memlock limit of at least 64 MiB")

// probeWithoutEnv turns off kernel features the probe would use ("task_storage,bpf_loop,task_pt_regs"), so that the
// fallbacks of older kernels can be measured on a newer one (make bench, make test-kernels).
const probeWithoutEnv = "SWOLL_PROBE_WITHOUT"

func probeWithout(list string) (tracer.Features, error) {
	var f tracer.Features
	for _, name := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' }) {
		switch name {
		case "task_storage":
			f |= tracer.TaskStorage
		case "bpf_loop":
			f |= tracer.Loop
		case "task_pt_regs":
			f |= tracer.PtRegs
		default:
			return 0, fmt.Errorf("%s: unknown feature %q (want task_storage, bpf_loop, task_pt_regs)", probeWithoutEnv, name)
		}
	}
	return f, nil
}

// probeAttachEnv chooses where the system call programs attach ("auto", "raw", "per-call": bpf.AttachMode), so
// that both ways can be tested and measured whatever the selection (the parity test, make bench).
const probeAttachEnv = "SWOLL_PROBE_ATTACH"

func probeAttach() (bpf.AttachMode, error) {
	m, err := bpf.ParseAttachMode(os.Getenv(probeAttachEnv))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", probeAttachEnv, err)
	}
	return m, nil
}

// floorVersion is the oldest kernel swoll is tested on (make test-kernels); older ones with what checkKernel
// looks for may work.
const floorVersion = "5.10"

// newTracer loads the probe, turning the common failures into one line that says what to do.
func newTracer(opts tracer.Options) (*tracer.Tracer, error) {
	if err := checkKernel(); err != nil {
		return nil, err
	}
	without, err := probeWithout(os.Getenv(probeWithoutEnv))
	if err != nil {
		return nil, err
	}
	opts.Without |= without
	if opts.Attach, err = probeAttach(); err != nil {
		return nil, err
	}
	t, err := tracer.New(opts)
	if err != nil {
		return nil, explainLoadError(err)
	}
	return t, nil
}

// newCountMode loads counting mode: the probe's filter and the counting programs on it.
func newCountMode(table *syscalls.Table, opts countprobe.Options) (*countprobe.Mode, error) {
	t, err := newTracer(tracer.Options{Arch: table.Arch(), FilterOnly: true, RingBytes: os.Getpagesize()})
	if err != nil {
		return nil, err
	}
	opts.Table = table
	if opts.Attach, err = probeAttach(); err != nil {
		_ = t.Close()
		return nil, err
	}
	m, err := countprobe.NewMode(t, opts)
	if err != nil {
		_ = t.Close()
		return nil, explainLoadError(err)
	}
	return m, nil
}

// explainLoadError names missing privileges, which the loader reports in many ways (EPERM, EACCES, or
// "not supported" for map types an unprivileged process may not create).
func explainLoadError(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || !hasBPFCapabilities() {
		if hasBPFCapabilities() && rlimit.RemoveMemlock() != nil {
			return errMemlock
		}
		return errNotPrivileged
	}
	return err
}

// hasBPFCapabilities reports whether the process may load tracing programs: CAP_BPF with CAP_PERFMON, or
// CAP_SYS_ADMIN (kernels before 5.8, and what privileged containers have).
func hasBPFCapabilities() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return true // unknown: let the loader's own error speak
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	return has(unix.CAP_SYS_ADMIN) || (has(unix.CAP_BPF) && has(unix.CAP_PERFMON))
}

// checkKernel names the first thing the probe needs that this kernel lacks: BTF (the probe is CO-RE), BPF ring
// buffers (5.8), raw tracepoint programs. What only makes the probe faster is chosen by the tracer. A probe
// that fails for want of privileges says nothing: the loader's error speaks then.
func checkKernel() error {
	rel := kernelRelease()
	if _, err := os.Stat(btfPath); err != nil {
		return fmt.Errorf("kernel %s has no BTF (%s): swoll needs a kernel built with CONFIG_DEBUG_INFO_BTF, Linux %s or newer",
			rel, btfPath, floorVersion)
	}
	missing := func(err error) bool { return errors.Is(err, ebpf.ErrNotSupported) }
	if missing(features.HaveMapType(ebpf.RingBuf)) {
		return fmt.Errorf("kernel %s has no BPF ring buffer (Linux 5.8+): swoll needs Linux %s or newer", rel, floorVersion)
	}
	if missing(features.HaveProgramType(ebpf.RawTracepoint)) {
		return fmt.Errorf("kernel %s has no raw tracepoint BPF programs: swoll needs Linux %s or newer with CONFIG_BPF_EVENTS",
			rel, floorVersion)
	}
	return nil
}

// kernelRelease is uname -r ("unknown" if uname fails).
func kernelRelease() string {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(uts.Release[:])
}
