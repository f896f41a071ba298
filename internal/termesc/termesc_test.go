package termesc

import (
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text / path-1.txt", "plain text / path-1.txt"},
		{"tab\tkept", "tab\tkept"},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"bell\a cr\r nl\n del\x7f", `bell\x07 cr\x0d nl\x0a del\x7f`},
		{"c1 \u009b2J csi", `c1 \u009b2J csi`},
		{"bidi \u202egnp.exe\u202c \u2066x\u2069 \u200f", `bidi \u202egnp.exe\u202c \u2066x\u2069 \u200f`},
		{"bad \xff\xfe utf8 \xc3", `bad \xff\xfe utf8 \xc3`},
		{`back\slash`, `back\\slash`},
		{"ünïcödé ✓ 日本", "ünïcödé ✓ 日本"},
	}
	for _, tc := range tests {
		if got := String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzString: whatever the input, the output is valid UTF-8 without a control or bidi character.
func FuzzString(f *testing.F) {
	for _, s := range []string{"\x1b]0;title\a", "\u202e", "\xff", "ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if !utf8.ValidString(out) {
			t.Fatalf("%q: invalid UTF-8 out: %q", s, out)
		}
		for _, r := range out {
			if (r < 0x20 && r != '\t') || r == 0x7f || unsafeRune(r) {
				t.Fatalf("%q: unsafe rune %U in %q", s, r, out)
			}
		}
	})
}
