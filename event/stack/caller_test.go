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
