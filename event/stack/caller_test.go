package stack

import "testing"

func TestCaller(t *testing.T) {
	const app = "/app/server"
	tests := []struct {
		name   string
		frames []Frame
		want   int
	}{
		{name: "no frames", want: -1},
		{name: "C: past libc's wrapper", want: 1, frames: []Frame{
			{Module: libc, Symbol: "__write"}, {Module: app, Symbol: "flush_log"}, {Module: app, Symbol: "main"}}},
		{name: "C: libc's stdio, then the program", want: 2, frames: []Frame{
			{Module: libc, Symbol: "__write"}, {Module: "/lib/x86_64-linux-gnu/libc-2.31.so", Symbol: "_IO_file_write"},
			{Module: app, Symbol: "flush_log"}}},
		{name: "musl and its loader", want: 2, frames: []Frame{
			{Module: "/lib/ld-musl-x86_64.so.1", Symbol: "read"}, {Module: "/lib/libc.musl-x86_64.so.1"},
			{Module: "/usr/bin/app"}}},
		{name: "a library named like libc is not libc", want: 0, frames: []Frame{
			{Module: "/usr/lib/libcurl.so.4", Symbol: "Curl_recv_plain"}}},
		{name: "vDSO", want: 1, frames: []Frame{{Module: "[vdso]", Symbol: "__vdso_clock_gettime"}, {Module: app, Symbol: "now"}}},
		{name: "Go: past the standard library", want: 4, frames: []Frame{
			{Module: app, Symbol: "internal/runtime/syscall/linux.Syscall6"}, {Module: app, Symbol: "syscall.Syscall"},
			{Module: app, Symbol: "internal/poll.(*FD).Read"}, {Module: app, Symbol: "os.(*File).Read"},
			{Module: app, Symbol: "main.loadConfig"}, {Module: app, Symbol: "main.main"}}},
		{name: "Go: a module's package", want: 1, frames: []Frame{
			{Module: app, Symbol: "golang.org/x/sys/unix.Syscall"}, {Module: app, Symbol: "github.com/acme/db.(*Conn).Exec"}}},
		{name: "Go: all plumbing", want: -1, frames: []Frame{
			{Module: app, Symbol: "runtime.futex"}, {Module: app, Symbol: "runtime.mstart"}}},
		{name: "C++ and Rust names are the caller's", want: 1, frames: []Frame{
			{Module: libc, Symbol: "__read"}, {Module: app, Symbol: "std::fs::read::inner"}}},
		{name: "a frame in no module is the caller's", want: 1, frames: []Frame{{Module: libc, Symbol: "__read"}, {IP: 0x10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Caller(tt.frames); got != tt.want {
				t.Errorf("Caller = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFunction(t *testing.T) {
	for _, tt := range []struct {
		f    Frame
		want string
	}{
		{Frame{Symbol: "main.handler", Module: "/app/server", IP: 0x401000}, "main.handler (server)"},
		{Frame{Module: "/usr/lib/libfoo.so.1", ModuleOffset: 0x1a2b}, "libfoo.so.1+0x1a2b"},
		{Frame{Symbol: "__vdso_clock_gettime", Module: "[vdso]"}, "__vdso_clock_gettime ([vdso])"},
		{Frame{IP: 0x7ffd2a1c0040}, "0x7ffd2a1c0040"},
	} {
		if got := tt.f.Function(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.f, got, tt.want)
		}
	}
	frames := []Frame{{Module: "/usr/lib/x86_64-linux-gnu/libc.so.6", Symbol: "__write"}, {Module: "/app/a", Symbol: "flush"}}
	if got := CallerName(frames); got != "flush (a)" {
		t.Errorf("CallerName %q", got)
	}
	if got := CallerName(frames[:1]); got != "" {
		t.Errorf("CallerName of plumbing %q", got)
	}
}
