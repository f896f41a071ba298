package seccomp

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/seccomp/runtimedefault"
	"github.com/swoll-dev/swoll/syscalls"
)

func args(v ...uint64) Args {
	return func(i uint) (uint64, bool) {
		if int(i) < len(v) {
			return v[i], true
		}
		return 0, false
	}
}

func runtimeDefault(t *testing.T, caps []string) *Evaluator {
	t.Helper()
	e, err := RuntimeDefault(caps)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const (
	cloneThread  = 0x3d0f00 // CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|...
	cloneNewUser = 0x10000000 | 17
)

func TestDecideRuntimeDefault(t *testing.T) {
	defaults := runtimedefault.DefaultCapabilities()
	admin := runtimedefault.Capabilities([]string{"SYS_ADMIN"}, nil)
	noChroot := runtimedefault.Capabilities(nil, []string{"SYS_CHROOT"})
	for _, tc := range []struct {
		name    string
		arch    syscalls.Arch
		caps    []string
		call    string
		args    Args
		outcome Outcome
		result  string
	}{
		{"read", syscalls.AMD64, defaults, "read", NoArgs, Allowed, "allowed"},
		{"open (amd64 only)", syscalls.AMD64, defaults, "open", NoArgs, Allowed, "allowed"},
		{"mount without CAP_SYS_ADMIN", syscalls.AMD64, defaults, "mount", NoArgs, Denied, "EPERM"},
		{"mount with CAP_SYS_ADMIN", syscalls.AMD64, admin, "mount", NoArgs, Allowed, "allowed"},
		{"unshare", syscalls.ARM64, defaults, "unshare", NoArgs, Denied, "EPERM"},
		{"clone of a thread", syscalls.AMD64, defaults, "clone", args(cloneThread), Allowed, "allowed"},
		{"clone of a user namespace", syscalls.AMD64, defaults, "clone", args(cloneNewUser), Denied, "EPERM"},
		{"clone of a user namespace, CAP_SYS_ADMIN", syscalls.AMD64, admin, "clone", args(cloneNewUser), Allowed, "allowed"},
		{"clone on arm64", syscalls.ARM64, defaults, "clone", args(cloneNewUser), Denied, "EPERM"},
		{"clone, flags unknown", syscalls.AMD64, defaults, "clone", NoArgs, Undecided, "undecided"},
		{"clone3 answers ENOSYS", syscalls.AMD64, defaults, "clone3", NoArgs, Denied, "ENOSYS"},
		{"clone3 with CAP_SYS_ADMIN", syscalls.AMD64, admin, "clone3", NoArgs, Allowed, "allowed"},
		{"personality(PER_LINUX)", syscalls.AMD64, defaults, "personality", args(0), Allowed, "allowed"},
		{"personality query", syscalls.AMD64, defaults, "personality", args(0xffffffff), Allowed, "allowed"},
		{"personality(ADDR_NO_RANDOMIZE)", syscalls.AMD64, defaults, "personality", args(0x0040000), Denied, "EPERM"},
		{"chroot with the defaults", syscalls.AMD64, defaults, "chroot", NoArgs, Allowed, "allowed"},
		{"chroot, CAP_SYS_CHROOT dropped", syscalls.AMD64, noChroot, "chroot", NoArgs, Denied, "EPERM"},
		{"arch_prctl on amd64", syscalls.AMD64, defaults, "arch_prctl", NoArgs, Allowed, "allowed"},
		{"ptrace (kernel >= 4.8)", syscalls.AMD64, defaults, "ptrace", NoArgs, Allowed, "allowed"},
		{"bpf", syscalls.AMD64, defaults, "bpf", NoArgs, Denied, "EPERM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := runtimeDefault(t, tc.caps).Decide(tc.arch, tc.call, tc.args)
			if v.Outcome != tc.outcome || v.Result() != tc.result {
				t.Errorf("%s: %v %s (%s), want %v %s", tc.call, v.Outcome, v.Result(), v.Why, tc.outcome, tc.result)
			}
		})
	}
}

func TestDecideRules(t *testing.T) {
	errno := uint(13)
	p := &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "openat", "close"}, Action: specs.ActAllow},
			{Names: []string{"socket"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 2, Op: specs.OpEqualTo}, {Index: 0, Value: 10, Op: specs.OpEqualTo}}}, // AF_INET or AF_INET6
			{Names: []string{"mmap"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 2, Value: 4, Op: specs.OpMaskedEqual, ValueTwo: 0}, {Index: 3, Value: 0x20, Op: specs.OpGreaterEqual}}}, // no PROT_EXEC and ...
			{Names: []string{"kill"}, Action: specs.ActErrno, ErrnoRet: &errno},
			{Names: []string{"ptrace"}, Action: specs.ActKillProcess},
			{Names: []string{"read"}, Action: specs.ActErrno}, // redundant with the default: skipped, as runc does
			{Names: []string{"no_such_call"}, Action: specs.ActAllow},
		},
	}
	e := Compile(p)
	for _, tc := range []struct {
		call   string
		args   Args
		result string
	}{
		{"read", NoArgs, "allowed"},
		{"socket", args(2), "allowed"},
		{"socket", args(10), "allowed"},
		{"socket", args(40), "EPERM"}, // AF_VSOCK
		{"mmap", args(0, 0, 3, 0x22), "allowed"},
		{"mmap", args(0, 0, 7, 0x22), "EPERM"},
		{"mmap", args(0, 0, 3, 0x2), "EPERM"},
		{"kill", NoArgs, "EACCES"},
		{"ptrace", NoArgs, "killed"},
		{"getpid", NoArgs, "EPERM"},        // 39 < openat's 257: the default action
		{"memfd_create", NoArgs, "ENOSYS"}, // 319 > every call named (socket 41, openat 257): runc's stub
	} {
		if v := e.Decide(syscalls.AMD64, tc.call, tc.args); v.Result() != tc.result {
			t.Errorf("%s: %s (%s), want %s", tc.call, v.Result(), v.Why, tc.result)
		}
	}
	if got := e.Unknown(); !slices.Equal(got, []string{"no_such_call"}) {
		t.Errorf("unknown names %v", got)
	}
	if c := e.Classify(syscalls.AMD64, "socket"); c != Depends {
		t.Errorf("socket: class %v, want Depends", c)
	}
	not := e.NotRunning(syscalls.AMD64)
	if slices.Contains(not, "read") || !slices.Contains(not, "socket") || !slices.Contains(not, "getpid") {
		t.Errorf("NotRunning: read must not be there, socket and getpid must")
	}
}

func TestNotRunningRuntimeDefault(t *testing.T) {
	e := runtimeDefault(t, nil)
	not := e.NotRunning(syscalls.AMD64)
	for _, n := range []string{"clone", "clone3", "personality", "mount", "unshare", "bpf"} {
		if !slices.Contains(not, n) {
			t.Errorf("%s must be traced by check", n)
		}
	}
	for _, n := range []string{"read", "openat", "futex", "epoll_pwait"} {
		if slices.Contains(not, n) {
			t.Errorf("%s always runs: no need to trace it", n)
		}
	}
	t.Logf("runtime/default without capabilities: check traces %d of %d amd64 calls", len(not), len(mustTable(t, syscalls.AMD64).All()))
}

func mustTable(t *testing.T, a syscalls.Arch) *syscalls.Table {
	t.Helper()
	tb, err := syscalls.ForArch(a)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestEventArgs(t *testing.T) {
	for _, tc := range []struct {
		line  string
		index uint
		want  uint64
		ok    bool
	}{
		{`{"syscall":{"name":"clone","arch":"amd64"},"args":{"flags":"CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID","stack":"0x7ffd1234"}}`, 0, 0x3d0f00, true},
		{`{"syscall":{"name":"clone","arch":"arm64"},"args":{"flags":"CLONE_NEWUSER|SIGCHLD"}}`, 0, 0x10000011, true},
		{`{"syscall":{"name":"clone","arch":"amd64"},"args":{"flags":"CLONE_VM|0x400000000"}}`, 0, 0x400000100, true},
		{`{"syscall":{"name":"socket","arch":"amd64"},"args":{"domain":"AF_VSOCK","type":"SOCK_STREAM|SOCK_CLOEXEC","protocol":0}}`, 0, 40, true},
		{`{"syscall":{"name":"socket","arch":"amd64"},"args":{"domain":"AF_INET","type":"SOCK_STREAM|SOCK_CLOEXEC","protocol":0}}`, 1, 0x80001, true},
		{`{"syscall":{"name":"personality","arch":"amd64"},"args":{"persona":"0xffffffff"}}`, 0, 0xffffffff, true},
		{`{"syscall":{"name":"personality","arch":"amd64"},"args":{"persona":"PER_LINUX"}}`, 0, 0, true},
		{`{"syscall":{"name":"openat","arch":"amd64"},"args":{"dirfd":"AT_FDCWD","pathname":"/x","flags":"O_RDONLY|O_CLOEXEC","mode":"0644"}}`, 3, 0o644, true},
		{`{"syscall":{"name":"read","arch":"amd64"},"args":{"fd":-1,"buf":"0x1","count":10}}`, 0, 0xffffffffffffffff, true},
		{`{"syscall":{"name":"read","arch":"amd64"},"args":{"fd":3}}`, 2, 0, false},               // not in the event
		{`{"syscall":{"name":"socket","arch":"amd64"},"args":{"domain":"AF_NOPE"}}`, 0, 0, false}, // a name swoll does not know
		{`{"syscall":{"name":"openat2","arch":"amd64"},"args":{"how":{"flags":"O_RDONLY"}}}`, 2, 0, false},
	} {
		var ev event.Event
		if err := json.Unmarshal([]byte(tc.line), &ev); err != nil {
			t.Fatal(err)
		}
		got, ok := EventArgs(&ev)(tc.index)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s arg %d = %#x %v, want %#x %v", strings.TrimPrefix(tc.line, `{"syscall":`), tc.index, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`nope`, "not JSON"},
		{`{"syscalls":[]}`, "no defaultAction"},
		{"kind: SeccompProfile\nmetadata: {name: x}\nspec:\n  defaultAction: SCMP_ACT_NOPE\n", `SeccompProfile x: unknown defaultAction "SCMP_ACT_NOPE"`},
		{"just: yaml\n", "not JSON"},
		{`{"defaultAction":"SCMP_ACT_MAYBE"}`, `unknown defaultAction "SCMP_ACT_MAYBE"`},
		{`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":[],"action":"SCMP_ACT_ALLOW"}]}`, "no names"},
		{`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"ALLOW"}]}`, `unknown action "ALLOW"`},
		{`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}`, "argument index 6"},
		{`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"EQ"}]}]}`, `unknown operator "EQ"`},
		{`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":"read"}`, "not a seccomp profile"},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}
