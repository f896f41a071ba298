//go:build linux

package parity

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/swoll-dev/swoll/syscalls"
)

// TestParseStraceLine checks the parser and the canonical form of strace's renderings against swoll's,
// without root: these are what the parity test's verdicts rest on.
func TestParseStraceLine(t *testing.T) {
	table, err := syscalls.ForArch(syscalls.AMD64)
	if err != nil {
		t.Fatal(err)
	}
	cn := &canon{pids: map[int]string{100: "main", 101: "main/1"}}
	cases := []struct {
		line  string
		swoll string // the event's args
		ret   int64
		errno string
		same  bool
	}{
		{`openat(AT_FDCWD, "/etc/x", O_RDONLY|O_CLOEXEC) = 3`,
			`{"dirfd":"AT_FDCWD","pathname":"/etc/x","flags":"O_RDONLY|O_CLOEXEC"}`, 3, "OK", true},
		{`openat(AT_FDCWD, "/etc/x", O_RDONLY|O_CLOEXEC) = 3`,
			`{"dirfd":"AT_FDCWD","pathname":"/etc/y","flags":"O_RDONLY|O_CLOEXEC"}`, 3, "OK", false},
		{`openat(AT_FDCWD, "x", O_WRONLY|O_CREAT, 0640) = -1 ENOENT (No such file or directory)`,
			`{"dirfd":"AT_FDCWD","pathname":"x","flags":"O_WRONLY|O_CREAT","mode":"0640"}`, -2, "ENOENT", true},
		{`openat(AT_FDCWD, "x", O_WRONLY|O_CREAT, 0640) = -1 ENOENT (No such file or directory)`,
			`{"dirfd":"AT_FDCWD","pathname":"x","flags":"O_WRONLY|O_CREAT","mode":"0640"}`, -13, "EACCES", false},
		{`openat(AT_FDCWD, "x", O_WRONLY|O_CREAT, 0640) = 3`,
			`{"dirfd":"AT_FDCWD","pathname":"x","flags":"O_WRONLY|O_CREAT"}`, 3, "OK", false},
		{`write(3, "tab\tq\"b\\c\1\177\n\0caf\303\251 \377", 16) = 16`,
			`{"fd":3,"buf":"tab\tq\"b\\c\u0001\u007f\n\u0000café \ufffd","count":16}`, 16, "OK", true},
		{`write(3, "abcdef", 6) = 6`, `{"fd":3,"buf":"abc","buf_truncated":true,"count":6}`, 6, "OK", true},
		{`write(3, "abcdef", 6) = 6`, `{"fd":3,"buf":"abd","buf_truncated":true,"count":6}`, 6, "OK", false},
		{`read(-1, 0x7ffda40262a0, 8) = -1 EBADF (Bad file descriptor)`,
			`{"fd":-1,"buf":"0x7ffc00001000","count":8}`, -9, "EBADF", true},
		{`connect(3, {sa_family=AF_INET6, sin6_port=htons(9), sin6_flowinfo=htonl(74565), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0`,
			`{"sockfd":3,"addr":{"family":"AF_INET6","port":9,"addr":"::1","flowinfo":74565},"addrlen":28}`, 0, "OK", true},
		{`connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("10.0.0.1")}, 16) = 0`,
			`{"sockfd":3,"addr":{"family":"AF_INET","port":8080,"addr":"10.0.0.1"},"addrlen":16}`, 0, "OK", false},
		{`bind(3, {sa_family=AF_UNIX, sun_path=@"name"}, 7) = 0`,
			`{"sockfd":3,"addr":{"family":"AF_UNIX","path":"@name"},"addrlen":7}`, 0, "OK", true},
		{`accept4(3, {sa_family=AF_UNIX}, [110 => 2], SOCK_CLOEXEC) = 5`,
			`{"sockfd":3,"addr":{"family":"AF_UNIX"},"addrlen":[2],"flags":"SOCK_CLOEXEC"}`, 5, "OK", true},
		{`rt_sigprocmask(SIG_UNBLOCK, ~[], ~[KILL STOP], 8) = 0`,
			`{"how":"SIG_UNBLOCK","set":"~[]","oldset":"~[KILL STOP]","sigsetsize":8}`, 0, "OK", true},
		{`getrlimit(RLIMIT_STACK, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0`,
			`{"resource":"RLIMIT_STACK","rlim":{"rlim_cur":8388608,"rlim_max":"RLIM64_INFINITY"}}`, 0, "OK", true},
		{`fstat(3, {st_mode=S_IFREG|0644, st_size=14, ...}) = 0`,
			`{"fd":3,"statbuf":{"st_dev":1,"st_mode":"S_IFREG|0644","st_size":14}}`, 0, "OK", true},
		{`wait4(5, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 5`,
			`{"pid":5,"wstatus":"[{WIFEXITED(s) && WEXITSTATUS(s) == 3}]","options":"0","rusage":null}`, 5, "OK", true},
		{`select(6, [3 5], NULL, NULL, {tv_sec=0, tv_usec=0}) = 0 (Timeout)`,
			`{"nfds":6,"readfds":[3,5],"writefds":null,"exceptfds":null,"timeout":{"tv_sec":0,"tv_usec":0}}`, 0, "OK", true},
		{`socket(0x3039 /* AF_??? */, SOCK_STREAM, 0) = -1 EAFNOSUPPORT (Address family not supported by protocol)`,
			`{"domain":"12345","type":"SOCK_STREAM","protocol":0}`, -97, "EAFNOSUPPORT", true},
		{`execve("/bin/x", ["x", "a b"], 0x7ffd1000 /* 3 vars */) = 0`,
			`{"pathname":"/bin/x","argv":["x","a b"],"envp":"0x7ffe2000"}`, 0, "OK", true},
		{`execve("/x", ["a", "bcd", "e"], NULL) = -1 ENOENT (No such file or directory)`,
			`{"pathname":"/x","argv":["a","bc"],"argv_truncated":true,"envp":"0x0"}`, -2, "ENOENT", true},
		{`execve("/x", ["a", "bcd", "e"], NULL) = -1 ENOENT (No such file or directory)`,
			`{"pathname":"/x","argv":["a","bd"],"argv_truncated":true,"envp":"0x0"}`, -2, "ENOENT", false},
		{`execve("/x", NULL, NULL) = -1 ENOENT (No such file or directory)`,
			`{"pathname":"/x","argv":null,"envp":"0x0"}`, -2, "ENOENT", true},
		{`kill(100, SIGUSR1) = 0`, `{"pid":100,"sig":"SIGUSR1"}`, 0, "OK", true},
		{`clone(child_stack=NULL, flags=SIGCHLD) = 101`,
			`{"flags":"SIGCHLD","stack":"0x0","parent_tid":"0x0","child_tid":"0x0","tls":"0x0"}`, 101, "OK", true},
		{`clone3({flags=0, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 88) = 101`,
			`{"cl_args":{"flags":"0","pidfd":null,"child_tid":null,"parent_tid":null,"exit_signal":"SIGCHLD","stack":null,"stack_size":0,"tls":null,"set_tid":null,"set_tid_size":0,"cgroup":0},"size":88}`, 101, "OK", true},
		{`clone3(0x7ffd82a6b910, 8) = -1 EINVAL (Invalid argument)`,
			`{"cl_args":{"flags":"0"},"size":8}`, -22, "EINVAL", true},
		{`openat2(AT_FDCWD, "x", {flags=O_WRONLY|O_CREAT, mode=0600, resolve=0}, 24) = 5`,
			`{"dirfd":"AT_FDCWD","pathname":"x","how":{"flags":"O_WRONLY|O_CREAT","mode":"0600"},"size":24}`, 5, "OK", true},
		{`ptrace(PTRACE_ATTACH, 100) = -1 EPERM (Operation not permitted)`,
			`{"request":"PTRACE_ATTACH","pid":100,"addr":"0x0","data":"0x0"}`, -1, "EPERM", true},
	}
	for _, tc := range cases {
		sc, err := parseStraceLine(tc.line)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		spec, ok := table.ByName(sc.name)
		if !ok {
			t.Fatalf("no %s in the table", sc.name)
		}
		s, err := cn.fromStrace(spec, &sc)
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		e := fakeEvent(sc.name, tc.swoll, tc.ret, tc.errno)
		w, err := cn.fromSwoll(spec, e)
		if err != nil {
			t.Errorf("%s: %v", tc.swoll, err)
			continue
		}
		if d := diff(s, w); (len(d) == 0) != tc.same {
			t.Errorf("%s\nvs %s: differences %q, want same=%v", tc.line, tc.swoll, d, tc.same)
		}
	}
}

// TestStraceResumedLines: a call strace split around another thread's output is read as one.
func TestStraceResumedLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace.1")
	text := "clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>\n<... clone resumed>) = 7\n+++ exited with 0 +++\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	calls, err := readStraceFile(path)
	if err != nil || len(calls) != 1 {
		t.Fatalf("%+v, %v", calls, err)
	}
	if c := calls[0]; c.name != "clone" || c.ret != "7" || c.named["flags"].text != "SIGCHLD" {
		t.Errorf("%+v", c)
	}
	if _, err := parseStraceLine(`openat(AT_FDCWD, "x`); err == nil {
		t.Error("an unterminated line parsed")
	}
}

// TestParseStraceFdLines: strace's -y and -yy descriptions of fds, in arguments, pairs and returns, against
// swoll's _file objects, with what differs between runs masked (inodes, picked ports, a netlink port id).
func TestParseStraceFdLines(t *testing.T) {
	table, err := syscalls.ForArch(syscalls.AMD64)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		line    string
		swoll   string // the event's args
		retFile string // its return_file
		ret     int64
		same    bool
	}{
		{`openat(AT_FDCWD</w d>, "a b", O_RDONLY) = 3</w d/a b>`,
			`{"dirfd":"AT_FDCWD","dirfd_file":{"path":"/w d"},"pathname":"a b","flags":"O_RDONLY"}`, `{"path":"/w d/a b"}`, 3, true},
		{`openat(AT_FDCWD</w>, "a", O_RDONLY) = 3</w/a>`,
			`{"dirfd":"AT_FDCWD","dirfd_file":{"path":"/w"},"pathname":"a","flags":"O_RDONLY"}`, `{"path":"/w/b"}`, 3, false},
		{`write(3</tmp/x>(deleted), "x", 1) = 1`,
			`{"fd":3,"fd_file":{"path":"/tmp/x","deleted":true},"buf":"x","count":1}`, "", 1, true},
		{`write(3</tmp/x>(deleted), "x", 1) = 1`, `{"fd":3,"fd_file":{"path":"/tmp/x"},"buf":"x","count":1}`, "", 1, false},
		{`write(1</dev/null<char 1:3>>, "x", 1) = 1`,
			`{"fd":1,"fd_file":{"path":"/dev/null","device":"char 1:3"},"buf":"x","count":1}`, "", 1, true},
		{`pipe2([3<pipe:[1543199]>, 4<pipe:[1543199]>], O_CLOEXEC) = 0`,
			`{"pipefd":[3,4],"pipefd_files":[{"path":"pipe:[99]"},{"path":"pipe:[99]"}],"flags":"O_CLOEXEC"}`, "", 0, true},
		{`close(5<TCP:[127.0.0.1:29321->127.0.0.1:57345]>) = 0`,
			`{"fd":5,"fd_file":{"path":"socket:[7]","socket":"TCP:[127.0.0.1:29321->127.0.0.1:41000]"}}`, "", 0, true},
		{`close(5<TCP:[127.0.0.1:29321->127.0.0.1:29322]>) = 0`,
			`{"fd":5,"fd_file":{"path":"socket:[7]","socket":"TCP:[127.0.0.1:29321->127.0.0.1:29323]"}}`, "", 0, false},
		{`socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 5<TCP:[1543203]>`,
			`{"domain":"AF_INET","type":"SOCK_STREAM","protocol":"IPPROTO_IP"}`, `{"path":"socket:[42]","socket":"TCP:[42]"}`, 5, true},
		{`close(3<UNIX-STREAM:[1543200->1543201]>) = 0`,
			`{"fd":3,"fd_file":{"path":"socket:[8]","socket":"UNIX-STREAM:[8->9]"}}`, "", 0, true},
		{`close(12<NETLINK:[ROUTE:100]>) = 0`, `{"fd":12,"fd_file":{"path":"socket:[8]","socket":"NETLINK:[ROUTE:100]"}}`, "", 0, true},
	}
	if sc, err := parseStraceLine(`capset({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=1<<CAP_CHOWN|1<<CAP_KILL, permitted=0, inheritable=0}) = 0`); err != nil ||
		renderS(sc.args[1]) != "{effective=1<<CAP_CHOWN|1<<CAP_KILL, permitted=0, inheritable=0}" {
		t.Errorf("shifts read as fd descriptions: %+v, %v", sc.args, err)
	}
	for _, tc := range cases {
		cn := &canon{pids: map[int]string{100: "main"}, sockets: map[string]string{}}
		sc, err := parseStraceLine(tc.line)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		spec, _ := table.ByName(sc.name)
		s, err := cn.fromStrace(spec, &sc)
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		e := fakeEvent(sc.name, tc.swoll, tc.ret, "OK")
		if tc.retFile != "" {
			e.ReturnFile = []byte(tc.retFile)
		}
		w, err := cn.fromSwoll(spec, e)
		if err != nil {
			t.Errorf("%s: %v", tc.swoll, err)
			continue
		}
		if d := diff(s, w); (len(d) == 0) != tc.same {
			t.Errorf("%s\nvs %s: differences %q, want same=%v", tc.line, tc.swoll, d, tc.same)
		}
	}
	// strace -yy keeps a socket's first details: swoll's later ones are read through the same cache.
	cn := &canon{pids: map[int]string{}, sockets: map[string]string{}}
	first := cn.swollFd([]byte(`{"path":"socket:[7]","socket":"UDPv6:[[::1]:29324]"}`))
	later := cn.swollFd([]byte(`{"path":"socket:[7]","socket":"UDPv6:[[::1]:29324->[::1]:29323]"}`))
	unbound := cn.swollFd([]byte(`{"path":"socket:[8]","socket":"UDP:[8]"}`))
	bound := cn.swollFd([]byte(`{"path":"socket:[8]","socket":"UDP:[127.0.0.1:29321]"}`))
	if first != later || first != "<UDPv6:[[::1]:29324]>" || unbound != "<UDP:[<ino>]>" || bound != "<UDP:[127.0.0.1:29321]>" {
		t.Errorf("socket cache: %s, %s, %s, %s", first, later, unbound, bound)
	}
}

// TestStraceDetachedLine: a call strace lost the thread in makes the run no reference (runStrace runs it again).
func TestStraceDetachedLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace.1")
	if err := os.WriteFile(path, []byte("getpid() = 5\nkill(6, SIGKILL <detached ...>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if calls, err := readStraceFile(path); !errors.Is(err, errStraceDetached) {
		t.Errorf("readStraceFile = %+v, %v; want errStraceDetached", calls, err)
	}
}
