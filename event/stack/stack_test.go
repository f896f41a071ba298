package stack

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"

// straceFrames is what strace 6.1 -k printed on this project's build machine for write(2) called by inner(),
// called by outer(), called by main() of a small C program, /tmp/a (PIE), with the addresses the probe would
// have given for the same stack.
var straceFrames = []Frame{
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

func TestAppendCLI(t *testing.T) {
	tests := []struct {
		name      string
		frames    []Frame
		truncated bool
		want      string
	}{
		{name: "strace -k's own output", frames: straceFrames, want: straceText},
		{name: "empty stack", frames: nil, want: ""},
		{name: "empty truncated stack", frames: nil, truncated: true, want: " > [truncated]\n"},
		{
			name:   "no symbol: empty parentheses and the file offset",
			frames: []Frame{{IP: 0x7f3c9a82724a, Module: libc, ModuleOffset: 0x2724a}},
			want:   " > " + libc + "() [0x2724a]\n",
		},
		{
			name:   "in no mapping: the address in the process",
			frames: []Frame{{IP: 0x7ffd2a1c0040}},
			want:   " > [unknown] [0x7ffd2a1c0040]\n",
		},
		{
			name:   "symbol at offset zero, module at offset zero",
			frames: []Frame{{IP: 0x7f0000000000, Symbol: "_init", Module: "[vdso]"}},
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
			frames: []Frame{{
				IP: 0x401136, Symbol: "ns::Widget::poke(int, std::vector<int, std::allocator<int> > const&)",
				Offset: 0x1f, Module: "/app/widget", ModuleOffset: 0x1136,
			}},
			want: " > /app/widget(ns::Widget::poke(int, std::vector<int, std::allocator<int> > const&)+0x1f) [0x1136]\n",
		},
		{
			name: "a container's file and function names cannot drive the terminal",
			frames: []Frame{{
				IP: 0x401000, Symbol: "evil\x1b[2J\u202e", Offset: 1, Module: "/app/x\ny", ModuleOffset: 0x1000,
			}},
			want: " > /app/x\\x0ay(evil\\x1b[2J\\u202e+0x1) [0x1000]\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendCLI([]byte("prefix\n"), tt.frames, tt.truncated))
			if got != "prefix\n"+tt.want {
				t.Errorf("AppendCLI:\n got %q\nwant %q", got, "prefix\n"+tt.want)
			}
		})
	}
}

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name   string
		frames []Frame
		want   string
	}{
		{name: "no frames", want: `[]`},
		{
			name:   "every key",
			frames: straceFrames[:1],
			want:   `[{"ip":"0x7f3c9a8f8350","symbol":"__write","offset":16,"module":"` + libc + `","module_offset":1016656}]`,
		},
		{
			name:   "no symbol",
			frames: []Frame{{IP: 0x55d0c1a01071, Module: "/tmp/a", ModuleOffset: 0x1071}},
			want:   `[{"ip":"0x55d0c1a01071","module":"/tmp/a","module_offset":4209}]`,
		},
		{name: "no module", frames: []Frame{{IP: 0x10}}, want: `[{"ip":"0x10"}]`},
		{
			name:   "kernel addresses stay exact",
			frames: []Frame{{IP: 0xffffffff81e0012b, Symbol: "entry_SYSCALL_64_after_hwframe", Offset: 0x76, Module: "[kernel]"}},
			want:   `[{"ip":"0xffffffff81e0012b","symbol":"entry_SYSCALL_64_after_hwframe","offset":118,"module":"[kernel]"}]`,
		},
		{
			name:   "strings escaped",
			frames: []Frame{{IP: 1, Symbol: "a\"b\\c\x01\u2028é", Module: "/x\xff\u202e"}},
			want:   `[{"ip":"0x1","symbol":"a\"b\\c\u0001\u2028é","module":"/x\ufffd\u202e"}]`,
		},
		{
			name:   "two frames",
			frames: straceFrames[1:3],
			want: `[{"ip":"0x55d0c1a01153","symbol":"inner","offset":26,"module":"/tmp/a","module_offset":4435},` +
				`{"ip":"0x55d0c1a0115e","symbol":"outer","offset":9,"module":"/tmp/a","module_offset":4446}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendJSON(nil, tt.frames))
			if got != tt.want {
				t.Fatalf("AppendJSON:\n got %s\nwant %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("not valid JSON: %s", got)
			}
			// encoding/json writes the same bytes (for what it does not escape differently), and reads it back
			std, err := json.Marshal(tt.frames)
			if err != nil {
				t.Fatal(err)
			}
			if tt.frames != nil && !strings.ContainsAny(got, `\`) && string(std) != got {
				t.Errorf("encoding/json writes\n%s\nAppendJSON\n%s", std, got)
			}
			var back []Frame
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Fatal(err)
			}
			if len(back) != len(tt.frames) {
				t.Fatalf("read back %d frames, want %d", len(back), len(tt.frames))
			}
			for i := range back {
				want := tt.frames[i]
				want.Symbol, want.Module = back[i].Symbol, back[i].Module // escaping changes invalid UTF-8
				if !reflect.DeepEqual(back[i], want) {
					t.Errorf("frame %d read back as %+v, want %+v", i, back[i], want)
				}
			}
		})
	}
}

func TestAddrJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    Addr
		wantErr bool
	}{
		{in: `"0x7f3c9a8f8350"`, want: 0x7f3c9a8f8350},
		{in: `"0XFF"`, want: 0xff},
		{in: `"0xffffffffffffffff"`, want: 0xffffffffffffffff},
		{in: `4096`, want: 4096},
		{in: `"4096"`, wantErr: true},
		{in: `"0x"`, wantErr: true},
		{in: `"0xzz"`, wantErr: true},
		{in: `-1`, wantErr: true},
		{in: `{}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var a Addr
			err := json.Unmarshal([]byte(tt.in), &a)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s): err %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && a != tt.want {
				t.Errorf("Unmarshal(%s) = %#x, want %#x", tt.in, uint64(a), uint64(tt.want))
			}
		})
	}
}

func TestAppendNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { buf = AppendJSON(buf[:0], straceFrames) }); n != 0 {
		t.Errorf("AppendJSON allocates %v times per stack", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = AppendCLI(buf[:0], straceFrames, true) }); n != 0 {
		t.Errorf("AppendCLI allocates %v times per stack", n)
	}
}
