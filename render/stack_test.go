package render

import (
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/event/stack"
)

const libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"

// straceFrames and straceText are what strace 6.1 -k printed on this project's build machine for write(2)
// called by inner(), called by outer(), called by main() of a small C program, /tmp/a (PIE), with the
// addresses the probe would have given for the same stack.
var straceFrames = []stack.Frame{
	{IP: 0x7f3c9a8f8350, Symbol: "__write", Offset: 0x10, Module: libc, ModuleOffset: 0xf8350},
	{IP: 0x55d0c1a01153, Symbol: "inner", Offset: 0x1a, Module: "/tmp/a", ModuleOffset: 0x1153},
	{IP: 0x55d0c1a0115e, Symbol: "outer", Offset: 0x9, Module: "/tmp/a", ModuleOffset: 0x115e},
	{IP: 0x55d0c1a01169, Symbol: "main", Offset: 0x9, Module: "/tmp/a", ModuleOffset: 0x1169},
}

const straceText = ` > /usr/lib/x86_64-linux-gnu/libc.so.6(__write+0x10) [0xf8350]
 > /tmp/a(inner+0x1a) [0x1153]
 > /tmp/a(outer+0x9) [0x115e]
 > /tmp/a(main+0x9) [0x1169]
`

func TestAppendStack(t *testing.T) {
	tests := []struct {
		name      string
		frames    []stack.Frame
		truncated bool
		want      string
	}{
		{name: "strace -k's own output", frames: straceFrames, want: straceText},
		{name: "empty stack", frames: nil, want: ""},
		{name: "empty truncated stack", frames: nil, truncated: true, want: " > [truncated]\n"},
		{
			name:   "no symbol: empty parentheses and the file offset",
			frames: []stack.Frame{{IP: 0x7f3c9a82724a, Module: libc, ModuleOffset: 0x2724a}},
			want:   " > " + libc + "() [0x2724a]\n",
		},
		{
			name:   "in no mapping: the address in the process",
			frames: []stack.Frame{{IP: 0x7ffd2a1c0040}},
			want:   " > [unknown] [0x7ffd2a1c0040]\n",
		},
		{
			name:   "symbol at offset zero, module at offset zero",
			frames: []stack.Frame{{IP: 0x7f0000000000, Symbol: "_init", Module: "[vdso]"}},
			want:   " > [vdso](_init+0x0) [0x0]\n",
		},
		{
			name:      "truncated after the frames",
			frames:    straceFrames[:1],
			truncated: true,
			want:      " > " + libc + "(__write+0x10) [0xf8350]\n > [truncated]\n",
		},
		{
			name: "C++ names keep their parentheses and spaces",
			frames: []stack.Frame{{
				IP: 0x401136, Symbol: "ns::Widget::poke(int, std::vector<int, std::allocator<int> > const&)",
				Offset: 0x1f, Module: "/app/widget", ModuleOffset: 0x1136,
			}},
			want: " > /app/widget(ns::Widget::poke(int, std::vector<int, std::allocator<int> > const&)+0x1f) [0x1136]\n",
		},
		{
			name: "a container's file and function names cannot drive the terminal",
			frames: []stack.Frame{{
				IP: 0x401000, Symbol: "evil\x1b[2J\u202e", Offset: 1, Module: "/app/x\ny", ModuleOffset: 0x1000,
			}},
			want: " > /app/x\\x0ay(evil\\x1b[2J\\u202e+0x1) [0x1000]\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendStack([]byte("prefix\n"), tt.frames, tt.truncated))
			if got != "prefix\n"+tt.want {
				t.Errorf("AppendStack:\n got %q\nwant %q", got, "prefix\n"+tt.want)
			}
		})
	}
}

func TestAppendKernelStack(t *testing.T) {
	tests := []struct {
		name   string
		frames []stack.Frame
		want   string
	}{
		{name: "none", want: ""},
		{
			name: "the kernel's image and a module; the address in brackets",
			frames: []stack.Frame{
				{IP: 0xffffffffc0a01234, Symbol: "nft_do_chain", Offset: 0x34, Module: "[kernel:nf_tables]"},
				{IP: 0xffffffff81e0012b, Symbol: "entry_SYSCALL_64_after_hwframe", Offset: 0x76, Module: stack.KernelModule},
			},
			want: " > [kernel:nf_tables](nft_do_chain+0x34) [0xffffffffc0a01234]\n" +
				" > [kernel](entry_SYSCALL_64_after_hwframe+0x76) [0xffffffff81e0012b]\n",
		},
		{
			name:   "no symbol (kallsyms unreadable)",
			frames: []stack.Frame{{IP: 0xffffffff81000010}},
			want:   " > [kernel]() [0xffffffff81000010]\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendKernelStack(nil, tt.frames)); got != tt.want {
				t.Errorf("AppendKernelStack:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestAppendStackNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { buf = AppendStack(buf[:0], straceFrames, true) }); n != 0 {
		t.Errorf("AppendStack allocates %v times per stack", n)
	}
}

// An event's line is followed by its kernel frames, then its user frames; an event without stacks is one line.
func TestAppendEventWithStacks(t *testing.T) {
	e := &event.Event{Syscall: event.Syscall{Name: "write"}, Comm: "a", Pid: 7, Error: "OK", Return: 1,
		Args: []byte(`{"fd":1,"buf":"x","count":1}`), Stack: straceFrames[:2], StackTruncated: true,
		KernelStack: []stack.Frame{{IP: 0xffffffff81e0012b, Symbol: "do_syscall_64", Offset: 0x5b, Module: stack.KernelModule}}}
	got := string(AppendEvent(nil, e))
	want := `[a/7] write(fd=1, buf="x", count=1) = 1 <0ns>
 > [kernel](do_syscall_64+0x5b) [0xffffffff81e0012b]
 > /usr/lib/x86_64-linux-gnu/libc.so.6(__write+0x10) [0xf8350]
 > /tmp/a(inner+0x1a) [0x1153]
 > [truncated]
`
	if got != want {
		t.Errorf("AppendEvent:\n got %q\nwant %q", got, want)
	}
	e.Stack, e.StackTruncated, e.KernelStack = nil, false, nil
	if got := string(AppendEvent(nil, e)); strings.Count(got, "\n") != 1 {
		t.Errorf("without stacks: %q", got)
	}
}
