package kallsyms

import (
	"reflect"
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/event/stack"
	"github.com/swoll-dev/swoll/internal/roottest"
)

const sample = `ffffffff81000000 T _stext
ffffffff81000000 T _text
ffffffff81001000 t do_one_initcall
ffffffff81002000 T do_syscall_64
ffffffff82000000 D some_data
ffffffff81003000 T entry_SYSCALL_64
ffffffffc0a01000 t nft_do_chain	[nf_tables]
ffffffffc0a02000 t nft_other	[nf_tables]
ffffffffc0b00000 T veth_xmit	[veth]
`

func TestSymbolize(t *testing.T) {
	tab, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if tab.Len() != 7 || tab.Restricted() {
		t.Fatalf("%d symbols (restricted %v), want 7: data left out, one of two at an address", tab.Len(), tab.Restricted())
	}
	got := tab.Symbolize(nil, []uint64{
		0xffffffff81002010, // in do_syscall_64
		0xffffffff81003000, // a return address right after do_syscall_64's end: looked up at ip-1
		0xffffffff81000005, // the first of two symbols at one address
		0xffffffffc0a01034, // a module's
		0xffffffffc0b00001,
		0x1000, // below every symbol
	})
	want := []stack.Frame{
		{IP: 0xffffffff81002010, Symbol: "do_syscall_64", Offset: 0x10, Module: "[kernel]"},
		{IP: 0xffffffff81003000, Symbol: "do_syscall_64", Offset: 0x1000, Module: "[kernel]"},
		{IP: 0xffffffff81000005, Symbol: "_stext", Offset: 5, Module: "[kernel]"},
		{IP: 0xffffffffc0a01034, Symbol: "nft_do_chain", Offset: 0x34, Module: "[kernel:nf_tables]"},
		{IP: 0xffffffffc0b00001, Symbol: "veth_xmit", Offset: 1, Module: "[kernel:veth]"},
		{IP: 0x1000, Module: "[kernel]"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Symbolize:\n got %+v\nwant %+v", got, want)
	}
	if tab.Bytes() <= 0 {
		t.Errorf("Bytes %d", tab.Bytes())
	}
	buf := make([]stack.Frame, 0, 8)
	if n := testing.AllocsPerRun(100, func() { buf = tab.Symbolize(buf[:0], []uint64{0xffffffff81002010}) }); n != 0 {
		t.Errorf("Symbolize allocates %v times", n)
	}
}

// Without CAP_SYSLOG the file shows zeros: the table is empty and says so; frames keep their addresses.
func TestRestricted(t *testing.T) {
	tab, err := Parse(strings.NewReader("0000000000000000 T _stext\n0000000000000000 t do_syscall_64\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !tab.Restricted() || tab.Len() != 0 {
		t.Fatalf("restricted %v, %d symbols", tab.Restricted(), tab.Len())
	}
	got := tab.Symbolize(nil, []uint64{0xffffffff81002010})
	if want := []stack.Frame{{IP: 0xffffffff81002010, Module: "[kernel]"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseRejects(t *testing.T) {
	if _, err := Parse(strings.NewReader("zzzz T x\n")); err == nil {
		t.Error("a malformed address is accepted")
	}
}

// The running kernel's table, as root reads it: do_syscall_64 (or arm64's invoke_syscall) is a symbol.
func TestLoadRunningKernel(t *testing.T) {
	roottest.Require(t) // root reads the kernel's addresses
	tab, err := Load(Path)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Restricted() || tab.Len() < 1000 {
		t.Fatalf("restricted %v, %d symbols", tab.Restricted(), tab.Len())
	}
	t.Logf("%d symbols, %d bytes", tab.Len(), tab.Bytes())
}

func TestTrimTracing(t *testing.T) {
	frames := []stack.Frame{
		{Symbol: "bpf_prog_ffc7c804f9bb42c0_btf_sys_exit", Module: "[kernel:bpf]"},
		{Symbol: "bpf_trace_run2", Module: "[kernel]"},
		{Symbol: "__bpf_trace_sys_exit", Module: "[kernel]"},
		{Symbol: "syscall_exit_work", Module: "[kernel]"},
		{Symbol: "do_syscall_64", Module: "[kernel]"},
	}
	if got := TrimTracing(frames); len(got) != 2 || got[0].Symbol != "syscall_exit_work" {
		t.Errorf("TrimTracing: %+v", got)
	}
	if got := TrimTracing(frames[3:]); len(got) != 2 {
		t.Errorf("TrimTracing of the call's own frames: %+v", got)
	}
	if got := TrimTracing(nil); len(got) != 0 {
		t.Errorf("TrimTracing(nil): %+v", got)
	}
}
