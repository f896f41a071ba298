//go:build linux

package agentcmd

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/nodeagent/tracer"
)

// btfPath is where the kernel publishes its BTF; the probe is CO-RE and cannot load without it.
var btfPath = "/sys/kernel/btf/vmlinux"

// errNotPrivileged is a process that may not load BPF programs.
var errNotPrivileged = errors.New("loading BPF programs requires root (CAP_BPF and CAP_PERFMON)")

// newTracer loads the probe, turning the common failures into one line that says what to do.
func newTracer(opts tracer.Options) (*tracer.Tracer, error) {
	if _, err := os.Stat(btfPath); err != nil {
		return nil, fmt.Errorf("kernel has no BTF (%s): swoll needs a BTF-enabled kernel (5.17+)", btfPath)
	}
	t, err := tracer.New(opts)
	if err != nil {
		return nil, explainLoadError(err)
	}
	return t, nil
}

// explainLoadError names missing privileges, which the loader reports in many ways (EPERM, EACCES, or
// "not supported" for map types an unprivileged process may not create).
func explainLoadError(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || !hasBPFCapabilities() {
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
