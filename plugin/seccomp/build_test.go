package seccomp

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"sigs.k8s.io/yaml"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/syscalls"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs from the golden file (go test ./plugin/seccomp -update to accept):\n%s", name, got)
	}
}

func TestCrossArch(t *testing.T) {
	for _, tc := range []struct {
		arch syscalls.Arch
		name string
		want []string
	}{
		{syscalls.AMD64, "openat", []string{"openat"}},
		{syscalls.AMD64, "open", []string{"open", "openat"}},
		{syscalls.AMD64, "stat", []string{"stat", "newfstatat"}},
		{syscalls.AMD64, "epoll_wait", []string{"epoll_wait", "epoll_pwait"}},
		{syscalls.AMD64, "arch_prctl", []string{"arch_prctl"}}, // amd64 only, no counterpart
		{syscalls.ARM64, "openat", []string{"openat"}},
		{syscalls.ARM64, "newfstatat", []string{"newfstatat"}},
	} {
		if got := crossArch(tc.arch, tc.name); !slices.Equal(got, tc.want) {
			t.Errorf("crossArch(%s, %s) = %v, want %v", tc.arch, tc.name, got, tc.want)
		}
	}
}

func snapshot(node string, from, to int64, rows ...event.Count) *event.Snapshot {
	return &event.Snapshot{Node: node, From: from, To: to, Rows: rows}
}

func count(ns, pod, container, name string, calls uint64) event.Count {
	return event.Count{Syscall: event.Syscall{Name: name}, Error: "OK", Calls: calls,
		Container: &event.Container{Namespace: ns, Pod: pod, Name: container}}
}

var testLookup = Lookup{
	Workload: func(_, pod string) string {
		if pod == "batch-x1" {
			return "Job/batch"
		}
		return "Deployment/web"
	},
	NodeArch: func(node string) syscalls.Arch {
		if node == "node-arm" {
			return syscalls.ARM64
		}
		return syscalls.AMD64
	},
}

// recorded: two replicas of a Deployment on an amd64 and an arm64 node, a sidecar, and a Job's pod.
func recorded() *Recorder {
	const s = int64(1_800_000_000_000_000_000)
	r := NewRecorder()
	_ = r.Snapshot(snapshot("node-amd", s, s+1e9,
		count("shop", "web-7d9f8c6b5-aaaaa", "web", "accept4", 10),
		count("shop", "web-7d9f8c6b5-aaaaa", "web", "open", 3), // amd64 only: openat for arm64
		count("shop", "web-7d9f8c6b5-aaaaa", "web", "arch_prctl", 1),
		count("shop", "web-7d9f8c6b5-aaaaa", "web", "read", 100),
		count("shop", "web-7d9f8c6b5-aaaaa", "proxy", "connect", 5),
		count("shop", "batch-x1", "main", "write", 1),
	))
	_ = r.Snapshot(snapshot("node-arm", s+5e8, s+60e9,
		count("shop", "web-7d9f8c6b5-bbbbb", "web", "accept4", 7),
		count("shop", "web-7d9f8c6b5-bbbbb", "web", "read", 50),
		count("shop", "web-7d9f8c6b5-bbbbb", "web", "pselect6", 2),
		count("shop", "web-7d9f8c6b5-bbbbb", "web", "syscall_999", 1), // not in any table
	))
	return r
}

func TestBuildMergesReplicasAndArches(t *testing.T) {
	built := recorded().Build(testLookup)
	var got []string
	for _, b := range built {
		l := b.Profile.Learned
		got = append(got, l.Workload+"/"+l.Container)
	}
	want := []string{"Deployment/web/proxy", "Deployment/web/web", "Job/batch/main"}
	if !slices.Equal(got, want) {
		t.Fatalf("profiles for %v, want %v", got, want)
	}
	web := built[1]
	l := web.Profile.Learned
	if !slices.Equal(l.Pods, []string{"web-7d9f8c6b5-aaaaa", "web-7d9f8c6b5-bbbbb"}) {
		t.Errorf("pods %v", l.Pods)
	}
	if !slices.Equal(l.Arches, []string{"amd64", "arm64"}) {
		t.Errorf("arches %v", l.Arches)
	}
	if l.Calls["accept4"] != 17 || l.Calls["read"] != 150 {
		t.Errorf("calls %v: want accept4 17, read 150 (merged across replicas)", l.Calls)
	}
	if !slices.Equal(web.Unknown, []string{"syscall_999"}) {
		t.Errorf("unknown %v", web.Unknown)
	}
	if l.Duration != "1m0s" {
		t.Errorf("duration %s", l.Duration)
	}
	p := web.Profile
	if p.DefaultAction != specs.ActErrno || !slices.Equal(p.Architectures, []specs.Arch{specs.ArchX86_64, specs.ArchAARCH64}) {
		t.Errorf("defaultAction %s, architectures %v", p.DefaultAction, p.Architectures)
	}
	names := p.Syscalls[0].Names
	for _, n := range []string{"accept4", "open", "openat", "arch_prctl", "pselect6", "execve", "capset", "prctl"} {
		if !slices.Contains(names, n) {
			t.Errorf("profile lacks %s", n)
		}
	}
	if slices.Contains(l.Runtime, "openat") || !slices.Contains(l.Runtime, "execve") {
		t.Errorf("runtime list %v: openat was seen (as open's arm64 counterpart), execve was not", l.Runtime)
	}
}

// Every name of a learned profile is a call of one of the tables, every call seen on an architecture is
// allowed there by its own name, and every amd64-only call has its arm64 counterpart beside it.
func TestBuildNamesValidForBothTables(t *testing.T) {
	amd, _ := syscalls.ForArch(syscalls.AMD64)
	arm, _ := syscalls.ForArch(syscalls.ARM64)
	for _, b := range recorded().Build(testLookup) {
		names := b.Profile.Syscalls[0].Names
		for _, n := range names {
			_, onAMD := amd.ByName(n)
			_, onARM := arm.ByName(n)
			if !onAMD && !onARM {
				t.Errorf("%s: %q is in neither table", b.Profile.Learned.Container, n)
			}
			if onAMD && !onARM {
				if r, ok := syscalls.Replacement(n); ok {
					if _, there := arm.ByName(r); there && !slices.Contains(names, r) {
						t.Errorf("%s: amd64's %s without arm64's %s", b.Profile.Learned.Container, n, r)
					}
				}
			}
		}
	}
	// the runtime's set maps onto arm64 as well
	for _, c := range runtimeCalls {
		if _, ok := amd.ByName(c.name); !ok {
			t.Errorf("runtime call %q is not an amd64 call", c.name)
		}
		found := false
		for _, x := range crossArch(syscalls.AMD64, c.name) {
			if _, ok := arm.ByName(x); ok {
				found = true
			}
		}
		if !found && c.name != "select" {
			t.Errorf("runtime call %q has no arm64 counterpart", c.name)
		}
	}
}

func TestBuildGolden(t *testing.T) {
	built := recorded().Build(testLookup)
	b, err := built[1].Profile.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "web.json", b)
	// a runtime reads it as runtime-spec's type: only the OCI keys
	p, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Syscalls) != 1 || p.Learned.Workload != "Deployment/web" {
		t.Fatalf("parsed back: %+v", p)
	}
	y, err := yaml.Marshal(built[1].Profile.SPO())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "web.spo.yaml", y)
	// and check reads the resource back as the same profile
	back, err := Parse(y)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Syscalls[0].Names, p.Syscalls[0].Names) || back.DefaultAction != p.DefaultAction {
		t.Fatalf("the SeccompProfile read back differs: %+v", back.LinuxSeccomp)
	}
}

func TestResourceName(t *testing.T) {
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{[]string{"shop", "web", "web"}, "shop-web-web"},
		{[]string{"Shop", "My_App", "c"}, "shop-my-app-c"},
		{[]string{"", "..", ""}, "profile"},
	} {
		if got := resourceName(tc.parts...); got != tc.want {
			t.Errorf("resourceName(%q) = %q, want %q", tc.parts, got, tc.want)
		}
	}
}

// The calls a container's processes made before they exec'd its program are the runtime's setup: advise leaves
// them out of the profile.
func TestRecorderLeavesPreExecCallsOut(t *testing.T) {
	r := NewRecorder()
	ctr := &event.Container{Namespace: "ns", Pod: "p", Name: "c"}
	row := func(name string, preExec bool) event.Count {
		return event.Count{Syscall: event.Syscall{Name: name}, Error: "OK", Container: ctr, Calls: 1, PreExec: preExec}
	}
	if err := r.Snapshot(&event.Snapshot{Node: "n", From: 1, To: 2, Rows: []event.Count{
		row("pivot_root", true), row("sethostname", true), row("execve", false), row("read", false),
	}}); err != nil {
		t.Fatal(err)
	}
	built := r.Build(Lookup{Workload: func(_, pod string) string { return "Pod/" + pod },
		NodeArch: func(string) syscalls.Arch { return syscalls.AMD64 }})
	if len(built) != 1 {
		t.Fatalf("%d profiles", len(built))
	}
	calls := built[0].Profile.Learned.Calls
	if calls["pivot_root"] != 0 || calls["sethostname"] != 0 || calls["execve"] != 1 || calls["read"] != 1 {
		t.Errorf("learned calls %v: want execve and read, not the runtime's pre-exec setup", calls)
	}
}

// A pod traced from its first call counts under the pod until its containers are known: those calls go to every
// container of the pod that was recorded (which one made them is unknown), not to a profile of no container.
func TestRecorderGivesPodLevelCallsToContainers(t *testing.T) {
	tests := []struct {
		name string
		rows []event.Count
		want map[string]map[string]uint64 // by container: calls
		pods int
	}{
		{"one container", []event.Count{
			{Syscall: event.Syscall{Name: "nanosleep"}, Container: &event.Container{Namespace: "ns", Pod: "p1"}, Calls: 2},
			{Syscall: event.Syscall{Name: "read"}, Container: &event.Container{Namespace: "ns", Pod: "p1", Name: "web"}, Calls: 5},
		}, map[string]map[string]uint64{"web": {"nanosleep": 2, "read": 5}}, 1},
		{"two containers", []event.Count{
			{Syscall: event.Syscall{Name: "nanosleep"}, Container: &event.Container{Namespace: "ns", Pod: "p1"}, Calls: 2},
			{Syscall: event.Syscall{Name: "read"}, Container: &event.Container{Namespace: "ns", Pod: "p1", Name: "web"}, Calls: 5},
			{Syscall: event.Syscall{Name: "write"}, Container: &event.Container{Namespace: "ns", Pod: "p1", Name: "side"}, Calls: 1},
		}, map[string]map[string]uint64{"web": {"nanosleep": 2, "read": 5}, "side": {"nanosleep": 2, "write": 1}}, 1},
		{"no container known", []event.Count{
			{Syscall: event.Syscall{Name: "nanosleep"}, Container: &event.Container{Namespace: "ns", Pod: "p1"}, Calls: 2},
		}, map[string]map[string]uint64{"": {"nanosleep": 2}}, 1},
		{"another pod's containers are not its", []event.Count{
			{Syscall: event.Syscall{Name: "nanosleep"}, Container: &event.Container{Namespace: "ns", Pod: "p1"}, Calls: 2},
			{Syscall: event.Syscall{Name: "read"}, Container: &event.Container{Namespace: "ns", Pod: "p2", Name: "web"}, Calls: 5},
		}, map[string]map[string]uint64{"": {"nanosleep": 2}, "web": {"read": 5}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRecorder()
			if err := r.Snapshot(&event.Snapshot{Node: "n", From: 1, To: 2, Rows: tt.rows}); err != nil {
				t.Fatal(err)
			}
			built := r.Build(Lookup{Workload: func(_, pod string) string { return "Pod/" + pod },
				NodeArch: func(string) syscalls.Arch { return syscalls.AMD64 }})
			got := map[string]map[string]uint64{}
			for _, b := range built {
				l := b.Profile.Learned
				got[l.Container] = l.Calls
				if len(l.Pods) != tt.pods {
					t.Errorf("container %q learned from pods %v", l.Container, l.Pods)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("learned %v, want %v", got, tt.want)
			}
		})
	}
}
