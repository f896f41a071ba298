//go:build linux

package symbolize

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDemangle: names as strace -k, addr2line -fC and nm -C print them. Where binutils' c++filt is installed,
// the C++ rows are checked against it too (it keeps Rust's hashes, which strace and nm drop).
func TestDemangle(t *testing.T) {
	tests := []struct{ in, want string }{
		// not mangled: C, Go, and what only looks like a mangled name
		{in: "__write", want: "__write"},
		{in: "main.(*Server).handle", want: "main.(*Server).handle"},
		{in: "runtime.goexit", want: "runtime.goexit"},
		{in: "_Zfoo", want: "_Zfoo"},
		{in: "_R", want: "_R"},
		{in: "_", want: "_"},
		// C++
		{in: "_ZN2ns6Widget4pokeEiRKSt6vectorIiSaIiEE", want: "ns::Widget::poke(int, std::vector<int, std::allocator<int> > const&)"},
		{in: "_ZNK2ns6WidgetplERKS0_", want: "ns::Widget::operator+(ns::Widget const&) const"},
		{in: "_ZN2ns5twiceIiEET_S1_", want: "int ns::twice<int>(int)"},
		{in: "_ZNSt6vectorIiSaIiEE17_M_realloc_insertIJRKiEEEvN9__gnu_cxx17__normal_iteratorIPiS1_EEDpOT_",
			want: "void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)"},
		{in: "_ZN12_GLOBAL__N_16hiddenEv", want: "(anonymous namespace)::hidden()"},
		{in: "_Z3foov.cold", want: "foo() [clone .cold]"},
		{in: "_ZZ4mainENKUliE_clEi", want: "main::{lambda(int)#1}::operator()(int) const"},
		// Rust, legacy: the hash goes, escapes are decoded, leading underscores stay
		{in: "_ZN3std2rt10lang_start17h0123456789abcdefE", want: "std::rt::lang_start"},
		{in: "_ZN3std3sys9backtrace28__rust_begin_short_backtrace17hd4fec0b5ae3a1330E", want: "std::sys::backtrace::__rust_begin_short_backtrace"},
		{in: "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h35b9f28e1a24b9a7E", want: "std::rt::lang_start::{{closure}}"},
		{in: "_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$closure$u7d$$u7d$$GT$17h1a2b3c4d5e6f7a8bE",
			want: "core::ptr::drop_in_place<std::rt::lang_start<()>::{{closure}}>"},
		{in: "_ZN1w5inner1S4poke17h8ea86cde88b6318bE.llvm.1234", want: "w::inner::S::poke"},
		// Rust, v0
		{in: "_RNvMNtCsbsFkZsjFIc5_1w5innerNtB2_1S4poke", want: "<w::inner::S>::poke"},
		{in: "_RINvNtCsbsFkZsjFIc5_1w5inner7genericmEB4_", want: "w::inner::generic::<u32>"},
		{in: "_RINvC3foo3barmuE", want: "foo::bar::<u32, ()>"},
		{in: "_RNCNvC3foo3bars_0", want: "foo::bar::{closure#1}"},
	}
	cxxfilt, _ := exec.LookPath("c++filt")
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := demangled(tt.in); got != tt.want {
				t.Errorf("demangled(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if cxxfilt == "" || strings.HasPrefix(tt.in, "_R") || legacyRustHash(tt.in) {
				return
			}
			if out := strings.TrimSpace(run(t, cxxfilt, tt.in)); out != tt.want {
				t.Errorf("c++filt %s = %q, the table says %q", tt.in, out, tt.want)
			}
		})
	}
}

func TestLegacyRustShim(t *testing.T) {
	tests := []struct{ in, want string }{
		{in: "_ZN3std3sys9backtrace28__rust_begin_short_backtrace17hd4fec0b5ae3a1330E", want: "_ZN3std3sys9backtrace29___rust_begin_short_backtrace17hd4fec0b5ae3a1330E"},
		{in: "_ZN3std2rt10lang_start17h0123456789abcdefE", want: "_ZN3std2rt10lang_start17h0123456789abcdefE"},
		// C++ names, even with identifiers starting with an underscore, are not Rust's
		{in: "_ZN12_GLOBAL__N_16hiddenEv", want: "_ZN12_GLOBAL__N_16hiddenEv"},
		{in: "_ZN3foo4_bar17hzzzzzzzzzzzzzzzzE", want: "_ZN3foo4_bar17hzzzzzzzzzzzzzzzzE"},
		// malformed: a length past the end
		{in: "_ZN99_x17h0123456789abcdefE", want: "_ZN99_x17h0123456789abcdefE"},
	}
	for _, tt := range tests {
		if got := legacyRustShim(tt.in); got != tt.want {
			t.Errorf("legacyRustShim(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
