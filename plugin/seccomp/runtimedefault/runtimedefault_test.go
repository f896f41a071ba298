package runtimedefault

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/swoll-dev/swoll/syscalls"
)

func TestCapabilities(t *testing.T) {
	defaults := DefaultCapabilities()
	for _, tc := range []struct {
		name       string
		add, drop  []string
		has, lacks []string
	}{
		{"defaults", nil, nil, []string{"CAP_SYS_CHROOT", "CAP_NET_RAW"}, []string{"CAP_SYS_ADMIN"}},
		{"add without prefix", []string{"sys_admin"}, nil, []string{"CAP_SYS_ADMIN", "CAP_CHOWN"}, nil},
		{"drop one", nil, []string{"NET_RAW"}, []string{"CAP_CHOWN"}, []string{"CAP_NET_RAW"}},
		{"drop all, add one", []string{"NET_BIND_SERVICE"}, []string{"ALL"}, []string{"CAP_NET_BIND_SERVICE"}, []string{"CAP_CHOWN", "CAP_SYS_CHROOT"}},
		{"add all", []string{"ALL"}, nil, []string{"CAP_SYS_ADMIN", "CAP_BPF", "CAP_CHOWN"}, nil},
	} {
		got := Capabilities(tc.add, tc.drop)
		for _, c := range tc.has {
			if !slices.Contains(got, c) {
				t.Errorf("%s: %v lacks %s", tc.name, got, c)
			}
		}
		for _, c := range tc.lacks {
			if slices.Contains(got, c) {
				t.Errorf("%s: %v has %s", tc.name, got, c)
			}
		}
	}
	if len(defaults) != 14 {
		t.Errorf("containerd's default capabilities: %v, want its 14", defaults)
	}
}

func names(p *specs.LinuxSeccomp) map[string]bool {
	m := map[string]bool{}
	for _, s := range p.Syscalls {
		if s.Action == specs.ActAllow && len(s.Args) == 0 {
			for _, n := range s.Names {
				m[n] = true
			}
		}
	}
	return m
}

func TestFor(t *testing.T) {
	if v := Version(); v != "v1.6.20" {
		t.Errorf("containerd %s, want the version the e2e cluster runs (v1.6.20)", v)
	}
	for _, a := range syscalls.Arches {
		base, err := For(a, nil)
		if err != nil {
			t.Fatal(err)
		}
		admin, err := For(a, []string{"CAP_SYS_ADMIN"})
		if err != nil {
			t.Fatal(err)
		}
		if base.DefaultAction != specs.ActErrno {
			t.Errorf("%s: default action %s", a, base.DefaultAction)
		}
		b, ad := names(base), names(admin)
		if b["mount"] || !ad["mount"] || b["clone"] || !ad["clone"] || !b["read"] || !ad["read"] {
			t.Errorf("%s: CAP_SYS_ADMIN must allow mount and clone whatever its flags, the base neither", a)
		}
		for _, s := range admin.Syscalls {
			if slices.Contains(s.Names, "clone3") && s.Action == specs.ActErrno {
				t.Errorf("%s: CAP_SYS_ADMIN keeps clone3's ENOSYS rule", a)
			}
		}
	}
	amd, _ := For(syscalls.AMD64, nil)
	arm, _ := For(syscalls.ARM64, nil)
	if !names(amd)["arch_prctl"] || names(arm)["arch_prctl"] || !slices.Contains(arm.Architectures, specs.ArchAARCH64) {
		t.Error("each architecture's own profile: arch_prctl on amd64 only, AARCH64 in arm64's")
	}
	if _, err := For("s390x", nil); err == nil {
		t.Error("no error for an architecture without data")
	}
}
