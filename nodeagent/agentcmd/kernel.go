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
		return nil, fmt.Errorf("kernel has no BTF (%s): swoll needs a BTF-enabled kernel (5.8+)", btfPath)
	}
	t, err := tracer.New(opts)
	if err != nil {
		return nil, explainLoadError(err)
	}
	return t, nil
}

func explainLoadError(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return errNotPrivileged
	}
	return err
}
