//go:build linux

package agentcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/nodeagent/tracer"
)

type runResult struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, stdin string, args ...string) runResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return runResult{code, out.String(), errb.String()}
}

func TestVersion(t *testing.T) {
	r := run(t, "", "version")
	if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
		t.Fatalf("version: %+v", r)
	}
}

// TestTraceBadInput checks that every mistake gives one line on stderr, a non-zero exit and no output. None
// of these cases gets as far as loading the probe, so they run without root.
func TestTraceBadInput(t *testing.T) {
	noProc := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown syscall", []string{"trace", "--pid", "1", "-s", "openat,opnat"}, 2,
			`swoll-agent: unknown syscall "opnat" (did you mean "openat"?)`},
		{"nothing to trace", []string{"trace"}, 2,
			"swoll-agent: nothing to trace: give --pid, --container-id or --no-containers"},
		{"conflicting modes", []string{"trace", "--no-containers", "--pid", "1"}, 2,
			"swoll-agent: --no-containers traces everything: it cannot be combined with --pid or --container-id"},
		{"bad output", []string{"trace", "--pid", "1", "-o", "yaml"}, 2,
			`swoll-agent: --output "yaml": want json or cli`},
		{"negative pid", []string{"trace", "--pid", "-4"}, 2,
			"swoll-agent: --pid -4: not a process id"},
		{"capture data too large", []string{"trace", "--pid", "1", "--capture-data", "9999"}, 2,
			"swoll-agent: --capture-data 9999: want 0 to 4096 bytes"},
		{"failed and succeeded", []string{"trace", "--pid", "1", "-Z", "-z"}, 2,
			"swoll-agent: --failed (-Z) and --succeeded (-z) exclude each other"},
		{"unknown errno", []string{"trace", "--pid", "1", "--errno", "ENOPE"}, 2,
			`swoll-agent: --errno "ENOPE": not an errno name`},
		{"-y three times", []string{"trace", "--pid", "1", "-yyy"}, 2,
			"swoll-agent: -y: give it once (paths) or twice, -yy (sockets and devices too); got level 3"},
		{"empty path", []string{"trace", "--pid", "1", "-P", ""}, 2, `swoll-agent: -P/--path "": empty path`},
		{"latency without counting", []string{"trace", "--pid", "1", "--latency=false"}, 2,
			"swoll-agent: --latency=false is for --count: events always say how long their call took"},
		{"unknown flag", []string{"trace", "--frob"}, 2,
			"swoll-agent: unknown flag: --frob"},
		{"pid not a number", []string{"trace", "--pid", "x"}, 2, `swoll-agent: --pid "x": not a valid number`},
		{"duration without unit", []string{"trace", "--pid", "1", "--duration", "5"}, 2,
			`swoll-agent: --duration "5": missing unit in duration "5"`},
		{"unknown command", []string{"frob"}, 2,
			`swoll-agent: unknown command "frob" for "swoll-agent"`},
		{"no such pid", []string{"trace", "--pid", "2147483646"}, 1,
			"swoll-agent: no process with pid 2147483646"},
		{"missing CRI socket", []string{"trace", "--container-id", "abc", "--cri", "/nonexistent/cri.sock"}, 1,
			"swoll-agent: CRI socket /nonexistent/cri.sock: not found or not a socket"},
		{"unknown container", []string{"trace", "--container-id", "containerd://abc123", "--proc", noProc,
			"--host-root", noProc}, 1, `swoll-agent: container "abc123" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", tt.args...)
			if r.code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", r.code, tt.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tt.want) {
				t.Errorf("stderr %q, want one line starting %q", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
}

func TestTraceWithoutBTF(t *testing.T) {
	saved := btfPath
	btfPath = filepath.Join(t.TempDir(), "vmlinux")
	defer func() { btfPath = saved }()
	r := run(t, "", "trace", "--pid", strconv.Itoa(os.Getpid()))
	want := "swoll-agent: kernel " + kernelRelease() + " has no BTF (" + btfPath + "): swoll needs a kernel built with " +
		"CONFIG_DEBUG_INFO_BTF, Linux 5.10 or newer\n"
	if r.code != 1 || r.stderr != want {
		t.Fatalf("exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
	}
}

func TestExplainLoadError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("loading the probe: %w", unix.EPERM), errNotPrivileged.Error()},
		{fmt.Errorf("loading the probe: tp_btf: x; raw_tracepoint: %w", unix.EACCES), errNotPrivileged.Error()},
		{fmt.Errorf("loading the probe: %w", unix.EINVAL), "loading the probe: invalid argument"},
	}
	if !hasBPFCapabilities() { // without privileges, every load error is about them
		tests[2].want = errNotPrivileged.Error()
	}
	for _, tt := range tests {
		if got := explainLoadError(tt.err).Error(); got != tt.want {
			t.Errorf("explainLoadError(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestHoldWithoutSession(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "session.lock")
	r := run(t, "", "hold", "--wait", "1ms", "--poll", "1ms", "--lock", lock)
	if r.code != 0 || r.stderr != "swoll-agent: no session started; exiting\n" {
		t.Fatalf("hold: %+v", r)
	}
}

func TestSessionBadStart(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "session.lock")
	r := run(t, `{"op":"ping"}`+"\n", "session", "--lock", lock)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", r.code, r.stderr)
	}
	var l event.Line
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || l.Notice == nil || l.Notice.Kind != event.NoticeError {
		t.Fatalf("stdout %q, want one error notice", r.stdout)
	}
	if !strings.Contains(r.stderr, `the first command must be "start"`) {
		t.Fatalf("stderr %q", r.stderr)
	}
}

func TestSessionEOFBeforeStart(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "session.lock")
	r := run(t, "", "session", "--lock", lock)
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("session: %+v", r)
	}
	// The session marked the lock file for "hold".
	if data, err := os.ReadFile(lock); err != nil || len(data) == 0 {
		t.Fatalf("lock file %q, %v: want the session's mark", data, err)
	}
}

func TestProbeWithout(t *testing.T) {
	tests := []struct {
		in      string
		want    tracer.Features
		wantErr bool
	}{
		{"", 0, false},
		{"task_storage", tracer.TaskStorage, false},
		{"bpf_loop,task_storage", tracer.TaskStorage | tracer.Loop, false},
		{"kprobes", 0, true},
	}
	for _, tt := range tests {
		got, err := probeWithout(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("probeWithout(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
