package render

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/event"
)

func TestAppendEvent(t *testing.T) {
	base := event.Event{
		Syscall: event.Syscall{Nr: 257, Name: "openat"},
		Start:   1_000, Finish: 13_000,
		Pid: 42, Comm: "cat", Error: "OK", Return: 3,
	}
	tests := []struct {
		name string
		edit func(e *event.Event)
		want string
	}{
		{"success", func(e *event.Event) {
			e.Args = json.RawMessage(`{"dirfd":"AT_FDCWD","pathname":"/etc/hosts","flags":"O_RDONLY|O_CLOEXEC"}`)
		}, `[cat/42] openat(dirfd=AT_FDCWD, pathname="/etc/hosts", flags=O_RDONLY|O_CLOEXEC) = 3 <12.0µs>`},
		{"error", func(e *event.Event) {
			e.Error, e.Return = "ENOENT", -2
			e.Args = json.RawMessage(`{"dirfd":"AT_FDCWD","pathname":"/etc/x","flags":"O_RDONLY|O_CLOEXEC"}`)
		}, `[cat/42] (ENOENT) openat(dirfd=AT_FDCWD, pathname="/etc/x", flags=O_RDONLY|O_CLOEXEC) = -1 <12.0µs>`},
		{"reordered args print in man-page order", func(e *event.Event) {
			e.Args = json.RawMessage(`{"flags":"O_RDONLY","pathname":"/a","dirfd":3}`)
		}, `[cat/42] openat(dirfd=3, pathname="/a", flags=O_RDONLY) = 3 <12.0µs>`},
		{"a path that looks like a flag is still quoted", func(e *event.Event) {
			e.Args = json.RawMessage(`{"dirfd":3,"pathname":"O_RDONLY","flags":"O_RDONLY"}`)
		}, `[cat/42] openat(dirfd=3, pathname="O_RDONLY", flags=O_RDONLY) = 3 <12.0µs>`},
		{"unreadable path prints as the address, like strace", func(e *event.Event) {
			e.Args = json.RawMessage(`{"dirfd":3,"pathname":"0x55dd9f0a7089","pathname_unreadable":true,"flags":"O_RDONLY"}`)
		}, `[cat/42] openat(dirfd=3, pathname=0x55dd9f0a7089, flags=O_RDONLY) = 3 <12.0µs>`},
		{"signal sets, wait statuses and fd sets in strace's notation", func(e *event.Event) {
			e.Syscall.Name = "rt_sigaction"
			e.Args = json.RawMessage(`{"signum":"SIGINT","act":{"sa_handler":"SIG_IGN","sa_mask":"~[KILL STOP]","sa_flags":"0"},` +
				`"oldact":null,"sigsetsize":8}`)
		}, `[cat/42] rt_sigaction(signum=SIGINT, act={sa_handler=SIG_IGN, sa_mask=~[KILL STOP], sa_flags=0}, oldact=NULL, sigsetsize=8) = 3 <12.0µs>`},
		{"fd sets", func(e *event.Event) {
			e.Syscall.Name = "select"
			e.Args = json.RawMessage(`{"nfds":5,"readfds":[3,4],"writefds":null,"exceptfds":null,"timeout":{"tv_sec":0,"tv_usec":5}}`)
		}, `[cat/42] select(nfds=5, readfds=[3 4], writefds=NULL, exceptfds=NULL, timeout={tv_sec=0, tv_usec=5}) = 3 <12.0µs>`},
		{"truncated path", func(e *event.Event) {
			e.Args = json.RawMessage(`{"dirfd":3,"pathname":"/very/lo","pathname_truncated":true,"flags":"O_RDONLY"}`)
		}, `[cat/42] openat(dirfd=3, pathname="/very/lo"..., flags=O_RDONLY) = 3 <12.0µs>`},
		{"unpaired surrogate and control characters", func(e *event.Event) {
			e.Args = json.RawMessage(`{"dirfd":3,"pathname":"a\ud800b\u0007\u00e9\ud83d\ude00","flags":"O_RDONLY"}`)
		}, `[cat/42] openat(dirfd=3, pathname="a�b\x07é😀", flags=O_RDONLY) = 3 <12.0µs>`},
		{"container prefix", func(e *event.Event) {
			e.Container = &event.Container{ID: "abc", Pod: "web-1", Name: "nginx", Namespace: "shop"}
			e.Args = json.RawMessage(`{}`)
		}, `nginx.web-1.shop: [cat/42] openat() = 3 <12.0µs>`},
		{"container with only an id", func(e *event.Event) {
			e.Container = &event.Container{ID: "0123456789abcdef0123"}
			e.Args = json.RawMessage(`{}`)
		}, `0123456789ab: [cat/42] openat() = 3 <12.0µs>`},
		{"unknown syscall guesses quoting", func(e *event.Event) {
			e.Syscall = event.Syscall{Nr: 999, Name: "frobnicate"}
			e.Args = json.RawMessage(`{"path":"/x","mode":"0644","flags":"FROB_A|0x10","ptr":"0x7f","n":5,"argv":["a","b"],"p":null}`)
		}, `[cat/42] frobnicate(path="/x", mode=0644, flags=FROB_A|0x10, ptr=0x7f, n=5, argv=["a", "b"], p=NULL) = 3 <12.0µs>`},
		{"no syscall name", func(e *event.Event) {
			e.Syscall = event.Syscall{Nr: 4000}
			e.Args = json.RawMessage(`{"arg0":"0x1"}`)
		}, `[cat/42] syscall_4000(arg0=0x1) = 3 <12.0µs>`},
		{"malformed args print raw", func(e *event.Event) {
			e.Args = json.RawMessage(`{"dirfd":3,"pathname":`)
		}, `[cat/42] openat({"dirfd":3,"pathname":) = 3 <12.0µs>`},
		{"address return", func(e *event.Event) {
			e.Syscall = event.Syscall{Nr: 9, Name: "mmap"}
			e.Return = 0x7f0000000000
			e.Args = json.RawMessage(`{"addr":"0x0","length":4096}`)
		}, `[cat/42] mmap(addr=0x0, length=4096) = 0x7f0000000000 <12.0µs>`},
		{"sockaddr inet6 and unix abstract", func(e *event.Event) {
			e.Syscall = event.Syscall{Nr: 42, Name: "connect"}
			e.Return = 0
			e.Args = json.RawMessage(`{"sockfd":3,"addr":{"family":"AF_INET6","port":443,"addr":"::1","scope_id":3},"addrlen":28}`)
		}, `[cat/42] connect(sockfd=3, addr={sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=3}, addrlen=28) = 0 <12.0µs>`},
		{"truncated argv", func(e *event.Event) {
			e.Syscall = event.Syscall{Nr: 59, Name: "execve"}
			e.Return = 0
			e.Args = json.RawMessage(`{"pathname":"/bin/sh","argv":["sh","-c"],"argv_truncated":true,"envp":"0x10"}`)
		}, `[cat/42] execve(pathname="/bin/sh", argv=["sh", "-c"...], envp=0x10) = 0 <12.0µs>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := base
			tt.edit(&e)
			got := string(AppendEvent(nil, &e))
			if got != tt.want+"\n" {
				t.Errorf("got  %s\nwant %s", strings.TrimSuffix(got, "\n"), tt.want)
			}
			body := string(AppendBody(nil, &e))
			if !strings.HasSuffix(tt.want, body) || strings.Contains(body, "\n") {
				t.Errorf("body %q is not the line without its prefix", body)
			}
		})
	}
}

func TestAppendDuration(t *testing.T) {
	for ns, want := range map[int64]string{
		-5: "0ns", 0: "0ns", 999: "999ns", 1000: "1.00µs", 1234: "1.23µs", 12_345: "12.3µs", 123_456: "123µs",
		1_005_000: "1.00ms", 45_600_000: "45.6ms", 2_500_000_000: "2.50s", 3_600_000_000_000: "3600s",
	} {
		if got := string(appendDuration(nil, ns)); got != want {
			t.Errorf("%dns: got %s, want %s", ns, got, want)
		}
	}
}

func BenchmarkAppendEvent(b *testing.B) {
	e := event.Event{
		Syscall: event.Syscall{Nr: 257, Name: "openat"}, Start: 1_000, Finish: 13_000, Pid: 42, Comm: "cat",
		Error: "OK", Return: 3, Container: &event.Container{Pod: "web-1", Name: "nginx", Namespace: "shop"},
		Args: json.RawMessage(`{"dirfd":"AT_FDCWD","pathname":"/usr/share/zoneinfo/Europe/Berlin","flags":"O_RDONLY|O_CLOEXEC"}`),
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEvent(buf[:0], &e)
	}
}

// FuzzAppendEvent: whatever a stream carries in args, formatting it does not panic and stays on one line.
func FuzzAppendEvent(f *testing.F) {
	f.Add("openat", `{"dirfd":"AT_FDCWD","pathname":"/x\n","pathname_truncated":true,"flags":"O_RDONLY"}`, "c\x00m")
	f.Add("connect", `{"sockfd":3,"addr":{"family":"AF_UNIX","path":"@"},"addrlen":3}`, "")
	f.Add("bind", `{"addr":{"family":"AF_NETLINK","pid":1,"groups":"x"}}`, "")
	f.Add("x", `[1,{"a":[{"b":"\u12"}]}]`, "")
	f.Add("execve", `{"argv":["a",1,null,{"z":1}],"argv_truncated":true}`, "")
	f.Fuzz(func(t *testing.T, name, args, comm string) {
		e := event.Event{Syscall: event.Syscall{Name: name}, Comm: comm, Args: json.RawMessage(args)}
		line := AppendEvent(nil, &e)
		if strings.Count(string(line), "\n") != 1 {
			t.Fatalf("not one line: %q", line)
		}
	})
}
