package syscalls

import (
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name    string
		arch    Arch
		in      []string
		want    []string // resolved names, in order
		wantErr string   // exact error text
	}{
		{name: "plain", arch: AMD64, in: []string{"openat", "connect"}, want: []string{"openat", "connect"}},
		{name: "prefix and case", arch: ARM64, in: []string{"sys_openat", "CONNECT"}, want: []string{"openat", "connect"}},
		{name: "duplicates removed in order", arch: AMD64, in: []string{"read", "openat", "sys_read", "READ", "openat"}, want: []string{"read", "openat"}},
		{name: "empty entries ignored", arch: AMD64, in: []string{"", " ", "write", ""}, want: []string{"write"}},
		{name: "nothing", arch: AMD64, in: nil, want: []string{}},
		{name: "typo", arch: AMD64, in: []string{"opnat"}, wantErr: `unknown syscall "opnat" (did you mean "openat"?)`},
		{name: "transposition", arch: ARM64, in: []string{"conenct"}, wantErr: `unknown syscall "conenct" (did you mean "connect"?)`},
		{name: "typo prefers the shorter call", arch: AMD64, in: []string{"readd"}, wantErr: `unknown syscall "readd" (did you mean "read"?)`},
		{name: "typo keeps the start", arch: AMD64, in: []string{"writ"}, wantErr: `unknown syscall "writ" (did you mean "write"?)`},
		{name: "no suggestion", arch: AMD64, in: []string{"xyzzy"}, wantErr: `unknown syscall "xyzzy"`},
		{name: "too short to guess", arch: AMD64, in: []string{"rd"}, wantErr: `unknown syscall "rd"`},
		{name: "other arch with replacement", arch: ARM64, in: []string{"open"}, wantErr: `syscall "open" does not exist on arm64 (use "openat")`},
		{name: "other arch prefixed", arch: ARM64, in: []string{"sys_unlink"}, wantErr: `syscall "unlink" does not exist on arm64 (use "unlinkat")`},
		{name: "other arch without replacement", arch: ARM64, in: []string{"arch_prctl"}, wantErr: `syscall "arch_prctl" does not exist on arm64`},
		{name: "all problems in one line", arch: ARM64, in: []string{"openat", "stat", "conect"},
			wantErr: `syscall "stat" does not exist on arm64 (use "newfstatat"); unknown syscall "conect" (did you mean "connect"?)`},
		{name: "group", arch: AMD64, in: []string{"group:Naming"}, want: []string{"sethostname", "setdomainname"}},
		{name: "group merges with names", arch: AMD64, in: []string{"setdomainname", "group:naming"}, want: []string{"setdomainname", "sethostname"}},
		{name: "class", arch: ARM64, in: []string{"class:Network"}, want: nil /* checked below */},
		{name: "unknown class", arch: AMD64, in: []string{"class:Netwrk"}, wantErr: `unknown class "Netwrk" (did you mean "Network"?)`},
		{name: "unknown group lists none close", arch: AMD64, in: []string{"group:zzzzzzzzzz"}, wantErr: `unknown group "zzzzzzzzzz" (valid: `},
		{name: "unknown selector", arch: AMD64, in: []string{"kind:x"}, wantErr: `unknown selector "kind" in "kind:x" (use a syscall name, class:<Class> or group:<Group>)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := mustTable(t, tc.arch)
			got, err := tab.Resolve(tc.in)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("Resolve(%q) = %v, want error %q", tc.in, names(got), tc.wantErr)
				}
				if strings.HasSuffix(tc.wantErr, " ") || strings.HasSuffix(tc.wantErr, ": ") {
					if !strings.HasPrefix(err.Error(), tc.wantErr) {
						t.Fatalf("error %q, want prefix %q", err, tc.wantErr)
					}
				} else if err.Error() != tc.wantErr {
					t.Fatalf("error\n %q\nwant\n %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tc.in, err)
			}
			if tc.want == nil {
				for _, s := range got {
					if s.Class != "Network" {
						t.Errorf("class:Network gave %s of class %s", s.Name, s.Class)
					}
				}
				if len(got) < 15 {
					t.Errorf("class:Network gave only %v", names(got))
				}
				return
			}
			if g := strings.Join(names(got), ","); g != strings.Join(tc.want, ",") {
				t.Fatalf("Resolve(%q) = %s, want %s", tc.in, g, strings.Join(tc.want, ","))
			}
		})
	}
}

func TestLegacyReplacementsExist(t *testing.T) {
	amd, arm := mustTable(t, AMD64), mustTable(t, ARM64)
	for old, repl := range legacyReplacements {
		if _, ok := amd.ByName(old); !ok {
			t.Errorf("legacy %s is not an amd64 syscall", old)
		}
		if _, ok := arm.ByName(old); ok {
			t.Errorf("legacy %s exists on arm64; no replacement needed", old)
		}
		if _, ok := arm.ByName(repl); !ok {
			t.Errorf("replacement %s for %s is not an arm64 syscall", repl, old)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"read", "read", 0},
		{"", "read", 4},
		{"opnat", "openat", 1},
		{"conenct", "connect", 1},
		{"kitten", "sitting", 3},
		{"ab", "ba", 1},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := editDistance(tc.b, tc.a); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}

func names(calls []*Syscall) []string {
	out := make([]string, 0, len(calls))
	for _, s := range calls {
		out = append(out, s.Name)
	}
	return out
}
