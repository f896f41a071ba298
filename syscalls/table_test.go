package syscalls

import (
	"runtime"
	"strings"
	"testing"
)

func mustTable(t testing.TB, a Arch) *Table {
	t.Helper()
	tab, err := ForArch(a)
	if err != nil {
		t.Fatalf("ForArch(%s): %v", a, err)
	}
	return tab
}

func TestForArch(t *testing.T) {
	for _, a := range Arches {
		tab := mustTable(t, a)
		if tab.Arch() != a {
			t.Errorf("ForArch(%s).Arch() = %s", a, tab.Arch())
		}
		if again := mustTable(t, a); again != tab {
			t.Errorf("ForArch(%s) built the table twice", a)
		}
	}
	for _, bad := range []Arch{"", "386", "riscv64", "x86_64", "AMD64"} {
		tab, err := ForArch(bad)
		if err == nil || tab != nil {
			t.Errorf("ForArch(%q) = %v, %v; want an error", bad, tab, err)
			continue
		}
		if !strings.Contains(err.Error(), "unsupported architecture") {
			t.Errorf("ForArch(%q) error %q does not say the architecture is unsupported", bad, err)
		}
	}
}

func TestNative(t *testing.T) {
	tab := Native()
	switch runtime.GOARCH {
	case "amd64", "arm64":
		if tab == nil || string(tab.Arch()) != runtime.GOARCH {
			t.Fatalf("Native() = %v on %s", tab, runtime.GOARCH)
		}
	default:
		if tab != nil {
			t.Fatalf("Native() on %s = %s table, want nil", runtime.GOARCH, tab.Arch())
		}
	}
}

// TestWellKnownNumbers pins numbers typed from the kernel's syscall tables, independently of
// the generator and of x/sys.
func TestWellKnownNumbers(t *testing.T) {
	want := map[Arch]map[string]int{
		AMD64: {
			"read": 0, "write": 1, "open": 2, "close": 3, "stat": 4, "mmap": 9, "ioctl": 16,
			"access": 21, "socket": 41, "connect": 42, "accept": 43, "sendto": 44, "recvfrom": 45,
			"bind": 49, "listen": 50, "clone": 56, "fork": 57, "execve": 59, "exit": 60, "kill": 62,
			"getcwd": 79, "chdir": 80, "rename": 82, "mkdir": 83, "creat": 85, "unlink": 87,
			"ptrace": 101, "chroot": 161, "mount": 165, "umount2": 166, "init_module": 175,
			"exit_group": 231, "openat": 257, "mkdirat": 258, "newfstatat": 262, "unlinkat": 263,
			"renameat": 264, "faccessat": 269, "unshare": 272, "accept4": 288, "setns": 308,
			"finit_module": 313, "renameat2": 316, "execveat": 322, "statx": 332, "uretprobe": 335,
			"pidfd_send_signal": 424, "clone3": 435, "close_range": 436, "openat2": 437,
			"faccessat2": 439, "fchmodat2": 452, "mseal": 462, "open_tree_attr": 467,
		},
		ARM64: {
			"io_setup": 0, "getcwd": 17, "dup3": 24, "fcntl": 25, "ioctl": 29, "mkdirat": 34,
			"unlinkat": 35, "symlinkat": 36, "linkat": 37, "renameat": 38, "umount2": 39, "mount": 40,
			"faccessat": 48, "chdir": 49, "chroot": 51, "openat": 56, "close": 57, "read": 63,
			"write": 64, "newfstatat": 79, "exit": 93, "exit_group": 94, "unshare": 97,
			"init_module": 105, "ptrace": 117, "kill": 129, "socket": 198, "bind": 200, "listen": 201,
			"accept": 202, "connect": 203, "sendto": 206, "recvfrom": 207, "clone": 220,
			"execve": 221, "mmap": 222, "accept4": 242, "wait4": 260, "setns": 268,
			"finit_module": 273, "renameat2": 276, "execveat": 281, "statx": 291,
			"pidfd_send_signal": 424, "clone3": 435, "openat2": 437, "faccessat2": 439,
		},
	}
	for arch, calls := range want {
		tab := mustTable(t, arch)
		for name, nr := range calls {
			s, ok := tab.ByName(name)
			if !ok {
				t.Errorf("%s: %s missing", arch, name)
				continue
			}
			if s.Nr != nr {
				t.Errorf("%s: %s is %d, want %d", arch, name, s.Nr, nr)
			}
			if got := tab.ByNr(nr); got != s {
				t.Errorf("%s: ByNr(%d) = %v, want %s", arch, nr, got, name)
			}
		}
	}
}

func TestTableShape(t *testing.T) {
	for _, tc := range []struct {
		arch     Arch
		count    int
		absent   []string
		gapsFrom []int
	}{
		{AMD64, 385, []string{"arch_specific_syscall"}, []int{337, 400, 423, 512, 547}},
		{ARM64, 327, []string{"open", "stat", "fork", "arch_prctl", "arch_specific_syscall"}, []int{244, 259, 295, 423}},
	} {
		tab := mustTable(t, tc.arch)
		all := tab.All()
		if len(all) != tc.count {
			t.Errorf("%s: %d syscalls, want %d", tc.arch, len(all), tc.count)
		}
		if last := all[len(all)-1]; last.Nr != tab.Max() {
			t.Errorf("%s: Max() = %d but the last syscall is %d", tc.arch, tab.Max(), last.Nr)
		}
		for i := 1; i < len(all); i++ {
			if all[i-1].Nr >= all[i].Nr {
				t.Errorf("%s: All() not in ascending order at %s", tc.arch, all[i].Name)
			}
		}
		all[0] = nil // All must hand out a copy
		if tab.All()[0] == nil {
			t.Errorf("%s: All() returned the table's own slice", tc.arch)
		}
		for _, name := range tc.absent {
			if s, ok := tab.ByName(name); ok {
				t.Errorf("%s: %s should not exist, got nr %d", tc.arch, name, s.Nr)
			}
		}
		for _, nr := range tc.gapsFrom {
			if s := tab.ByNr(nr); s != nil {
				t.Errorf("%s: ByNr(%d) = %s, want nil", tc.arch, nr, s.Name)
			}
		}
		for _, nr := range []int{-1, -1 << 40, tab.Max() + 1, 1 << 40} {
			if s := tab.ByNr(nr); s != nil {
				t.Errorf("%s: ByNr(%d) = %s, want nil", tc.arch, nr, s.Name)
			}
		}
	}
}

func TestByNameForms(t *testing.T) {
	tab := mustTable(t, AMD64)
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"openat", "openat"},
		{"sys_openat", "openat"},
		{"OpenAt", "openat"},
		{"SYS_OPENAT", "openat"},
		{" connect ", "connect"},
		{"_sysctl", "_sysctl"},
		{"sys__sysctl", "_sysctl"},
		{"opnat", ""},
		{"", ""},
		{"sys_", ""},
	} {
		s, ok := tab.ByName(tc.in)
		if tc.want == "" {
			if ok {
				t.Errorf("ByName(%q) = %s, want not found", tc.in, s.Name)
			}
			continue
		}
		if !ok || s.Name != tc.want {
			t.Errorf("ByName(%q) = %v, %v; want %s", tc.in, s, ok, tc.want)
		}
	}
}

func TestEveryCallComplete(t *testing.T) {
	used := map[string]bool{}
	for _, a := range Arches {
		tab := mustTable(t, a)
		seen := map[string]int{}
		for _, s := range tab.All() {
			used[s.Name] = true
			if prev, dup := seen[s.Name]; dup {
				t.Errorf("%s: %s is both %d and %d", a, s.Name, prev, s.Nr)
			}
			seen[s.Name] = s.Nr
			if s.Name == "" || strings.HasPrefix(s.Name, "sys_") || s.Name != strings.ToLower(s.Name) {
				t.Errorf("%s: bad name %q at %d", a, s.Name, s.Nr)
			}
			if s.Class == "" || s.Group == "" {
				t.Errorf("%s: %s has no class/group", a, s.Name)
			}
			if _, ok := paramSpecs[s.Name]; !ok {
				t.Errorf("%s: %s has no parameter list", a, s.Name)
			}
			if len(s.Params) > 6 {
				t.Errorf("%s: %s has %d params", a, s.Name, len(s.Params))
			}
			names := map[string]bool{}
			for _, p := range s.Params {
				if p.Name == "" || names[p.Name] {
					t.Errorf("%s: %s has an empty or repeated parameter name %q", a, s.Name, p.Name)
				}
				names[p.Name] = true
			}
		}
	}
	// Data for names no table has is a typo waiting to hide a missing entry.
	for name := range paramSpecs {
		if !used[name] {
			t.Errorf("paramSpecs has %q, which no architecture defines", name)
		}
	}
	idx, err := classIndex()
	if err != nil {
		t.Fatal(err)
	}
	for name := range idx {
		if !used[name] {
			t.Errorf("the class map has %q, which no architecture defines", name)
		}
	}
	for arch, over := range archParams {
		tab := mustTable(t, arch)
		for name := range over {
			if _, ok := tab.ByName(name); !ok {
				t.Errorf("archParams[%s] has %q, which %s does not define", arch, name, arch)
			}
		}
	}
}

func TestSeedClasses(t *testing.T) {
	tab := mustTable(t, AMD64)
	for _, tc := range []struct{ name, class, group string }{
		{"openat", "FileSystem", "Files"},
		{"read", "FileSystem", "ReadWrite"},
		{"keyctl", "FileSystem", "ExtendedAttributes"},
		{"connect", "Network", "Sockets"},
		{"sendto", "Network", "IO"},
		{"bpf", "Network", "Filtering"},
		{"mount", "System", "PrivlidgedFileSystem"},
		{"statfs", "System", "UnprivledgedFileSystem"},
		{"kill", "Signals", "Standard"},
		{"futex", "IPC", "Futex"},
		{"execve", "ProcessManagement", "Execution"},
		{"setns", "ProcessManagement", "Namespace"},
		{"unshare", "ProcessManagement", "MiscellaneousPM"},
		{"clone3", "ProcessManagement", "Execution"},
		{"openat2", "FileSystem", "Files"},
		{"faccessat2", "FileSystem", "BasicAttributes"},
		{"io_uring_enter", "FileSystem", "AsynchronousIO"},
	} {
		s, ok := tab.ByName(tc.name)
		if !ok || s.Class != tc.class || s.Group != tc.group {
			t.Errorf("%s: class/group = %v, want %s/%s", tc.name, s, tc.class, tc.group)
		}
	}
}

func TestGroupsBelongToOneClass(t *testing.T) {
	classOf := map[string]string{}
	for _, list := range [][]classGroup{seedClasses, addedClasses} {
		for _, cg := range list {
			if prev, ok := classOf[cg.group]; ok && prev != cg.class {
				t.Errorf("group %s is in classes %s and %s", cg.group, prev, cg.class)
			}
			classOf[cg.group] = cg.class
		}
	}
	if len(Groups()) != len(classOf) {
		t.Errorf("Groups() has %d entries, want %d", len(Groups()), len(classOf))
	}
	if got := Classes(); len(got) != 7 {
		t.Errorf("Classes() = %v, want the seed's seven classes", got)
	}
}

func TestCoreParams(t *testing.T) {
	want := map[string][]Param{
		"openat":   {{Name: "dirfd", Type: ArgDirFd}, {Name: "pathname", Type: ArgPath}, {Name: "flags", Type: ArgOpenFlags}, {Name: "mode", Type: ArgMode}},
		"openat2":  {{Name: "dirfd", Type: ArgDirFd}, {Name: "pathname", Type: ArgPath}, {Name: "how", Type: ArgOpenHow}, {Name: "size", Type: ArgSize}},
		"read":     {{Name: "fd", Type: ArgFd}, {Name: "buf", Type: ArgDataOut}, {Name: "count", Type: ArgSize}},
		"write":    {{Name: "fd", Type: ArgFd}, {Name: "buf", Type: ArgDataIn}, {Name: "count", Type: ArgSize}},
		"close":    {{Name: "fd", Type: ArgFd}},
		"execve":   {{Name: "pathname", Type: ArgPathAtEntry}, {Name: "argv", Type: ArgStrArray}, {Name: "envp", Type: ArgAddr}},
		"execveat": {{Name: "dirfd", Type: ArgDirFd}, {Name: "pathname", Type: ArgPathAtEntry}, {Name: "argv", Type: ArgStrArray}, {Name: "envp", Type: ArgAddr}, {Name: "flags", Type: ArgFlags, Set: "at_execve"}},
		"connect":  {{Name: "sockfd", Type: ArgFd}, {Name: "addr", Type: ArgSockaddrIn}, {Name: "addrlen", Type: ArgUint}},
		"bind":     {{Name: "sockfd", Type: ArgFd}, {Name: "addr", Type: ArgSockaddrIn}, {Name: "addrlen", Type: ArgUint}},
		"accept4":  {{Name: "sockfd", Type: ArgFd}, {Name: "addr", Type: ArgSockaddrOut}, {Name: "addrlen", Type: ArgIntOut}, {Name: "flags", Type: ArgFlags, Set: "sock_flags"}},
		"socket":   {{Name: "domain", Type: ArgSockDomain}, {Name: "type", Type: ArgSockType}, {Name: "protocol", Type: ArgSockProto}},
		"listen":   {{Name: "sockfd", Type: ArgFd}, {Name: "backlog", Type: ArgInt}},
		"kill":     {{Name: "pid", Type: ArgPid}, {Name: "sig", Type: ArgSignal}},
		"clone3":   {{Name: "cl_args", Type: ArgCloneArgs}, {Name: "size", Type: ArgSize}},
		"setns":    {{Name: "fd", Type: ArgFd}, {Name: "nstype", Type: ArgFlags, Set: "setns"}},
		"unshare":  {{Name: "flags", Type: ArgFlags, Set: "unshare"}},
		"mount": {{Name: "source", Type: ArgPath}, {Name: "target", Type: ArgPath}, {Name: "filesystemtype", Type: ArgString},
			{Name: "mountflags", Type: ArgMountFlags}, {Name: "data", Type: ArgString}},
		"umount2":      {{Name: "target", Type: ArgPath}, {Name: "flags", Type: ArgFlags, Set: "umount"}},
		"ptrace":       {{Name: "request", Type: ArgPtraceRequest}, {Name: "pid", Type: ArgPid}, {Name: "addr", Type: ArgHex}, {Name: "data", Type: ArgHex}},
		"unlinkat":     {{Name: "dirfd", Type: ArgDirFd}, {Name: "pathname", Type: ArgPath}, {Name: "flags", Type: ArgFlags, Set: "at_unlink"}},
		"renameat2":    {{Name: "olddirfd", Type: ArgDirFd}, {Name: "oldpath", Type: ArgPath}, {Name: "newdirfd", Type: ArgDirFd}, {Name: "newpath", Type: ArgPath}, {Name: "flags", Type: ArgFlags, Set: "rename"}},
		"faccessat":    {{Name: "dirfd", Type: ArgDirFd}, {Name: "pathname", Type: ArgPath}, {Name: "mode", Type: ArgAccessMode}},
		"faccessat2":   {{Name: "dirfd", Type: ArgDirFd}, {Name: "pathname", Type: ArgPath}, {Name: "mode", Type: ArgAccessMode}, {Name: "flags", Type: ArgFlags, Set: "at_access"}},
		"mkdirat":      {{Name: "dirfd", Type: ArgDirFd}, {Name: "pathname", Type: ArgPath}, {Name: "mode", Type: ArgMode}},
		"chdir":        {{Name: "path", Type: ArgPath}},
		"getcwd":       {{Name: "buf", Type: ArgStringOut}, {Name: "size", Type: ArgSize}},
		"init_module":  {{Name: "module_image", Type: ArgHex}, {Name: "len", Type: ArgSize}, {Name: "param_values", Type: ArgString}},
		"finit_module": {{Name: "fd", Type: ArgFd}, {Name: "param_values", Type: ArgString}, {Name: "flags", Type: ArgFlags, Set: "module_init"}},
		"sendto": {{Name: "sockfd", Type: ArgFd}, {Name: "buf", Type: ArgDataIn}, {Name: "len", Type: ArgSize}, {Name: "flags", Type: ArgFlags, Set: "msg"},
			{Name: "dest_addr", Type: ArgSockaddrIn}, {Name: "addrlen", Type: ArgUint}},
		"recvfrom": {{Name: "sockfd", Type: ArgFd}, {Name: "buf", Type: ArgDataOut}, {Name: "len", Type: ArgSize}, {Name: "flags", Type: ArgFlags, Set: "msg"},
			{Name: "src_addr", Type: ArgSockaddrOut}, {Name: "addrlen", Type: ArgIntOut}},
	}
	amd64Only := map[string][]Param{
		"open":  {{Name: "pathname", Type: ArgPath}, {Name: "flags", Type: ArgOpenFlags}, {Name: "mode", Type: ArgMode}},
		"creat": {{Name: "pathname", Type: ArgPath}, {Name: "mode", Type: ArgMode}},
		"clone": {{Name: "flags", Type: ArgCloneFlags}, {Name: "stack", Type: ArgAddr}, {Name: "parent_tid", Type: ArgAddr}, {Name: "child_tid", Type: ArgAddr}, {Name: "tls", Type: ArgAddr}},
	}
	arm64Only := map[string][]Param{
		"clone": {{Name: "flags", Type: ArgCloneFlags}, {Name: "stack", Type: ArgAddr}, {Name: "parent_tid", Type: ArgAddr}, {Name: "tls", Type: ArgAddr}, {Name: "child_tid", Type: ArgAddr}},
	}
	check := func(arch Arch, calls map[string][]Param) {
		tab := mustTable(t, arch)
		for name, params := range calls {
			s, ok := tab.ByName(name)
			if !ok {
				t.Errorf("%s: %s missing", arch, name)
				continue
			}
			if len(s.Params) != len(params) {
				t.Errorf("%s: %s params = %v, want %v", arch, name, s.Params, params)
				continue
			}
			for i := range params {
				if s.Params[i] != params[i] {
					t.Errorf("%s: %s param %d = %v, want %v", arch, name, i, s.Params[i], params[i])
				}
			}
		}
	}
	check(AMD64, want)
	check(ARM64, want)
	check(AMD64, amd64Only)
	check(ARM64, arm64Only)
}

func TestPathParamsArePaths(t *testing.T) {
	// Every parameter named like a path must be captured as one, or the decoder prints a pointer.
	pathNames := map[string]bool{"pathname": true, "path": true, "oldpath": true, "newpath": true,
		"filename": true, "linkpath": true, "target": true, "new_root": true, "put_old": true}
	for _, a := range Arches {
		for _, s := range mustTable(t, a).All() {
			for _, p := range s.Params {
				if pathNames[p.Name] && p.Type != ArgPath && p.Type != ArgPathAtEntry {
					t.Errorf("%s: %s.%s is type %d, want a path", a, s.Name, p.Name, p.Type)
				}
			}
		}
	}
}

func BenchmarkByNr(b *testing.B) {
	tab := mustTable(b, AMD64)
	max := tab.Max()
	b.ReportAllocs()
	var hits int
	for i := 0; b.Loop(); i++ {
		if tab.ByNr(i&511) != nil {
			hits++
		}
	}
	if hits == 0 && max > 0 {
		b.Fatal("no lookups hit")
	}
}

func TestByNrDoesNotAllocate(t *testing.T) {
	tab := mustTable(t, ARM64)
	allocs := testing.AllocsPerRun(1000, func() {
		for nr := -1; nr <= tab.Max()+1; nr++ {
			_ = tab.ByNr(nr)
		}
	})
	if allocs != 0 {
		t.Fatalf("ByNr allocates %v times per pass", allocs)
	}
}
