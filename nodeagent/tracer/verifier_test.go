package tracer

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/swoll-dev/swoll/bpf"
	"github.com/swoll-dev/swoll/callfilter"
	"github.com/swoll-dev/swoll/internal/roottest"
)

// verifierBudget is the most instructions the verifier may process for any program, under any filters. The limit
// is a million; the verifiers of 5.10 to 6.1 process up to 1.4 times what newer ones do for the same programs,
// so a program near the limit on this kernel fails to load on those (as -P with -y once did, at 744,000 here). A
// branch on a value the rest of a program uses (the return value, a capture's offset) doubles what follows: see
// xf_failed and fd_record_launder in bpf/.
const verifierBudget = 700_000

// Every program of the probe and of counting mode, under each kind of incident filter and -y, with and without
// stacks (-kk at the most frames; counting by caller), leaves the verifier headroom.
//
// Under -test.short (the VMs of make test-kernels) the two variants whose programs bound the others' figures:
// no_task_storage's (hashes keyed by the task; on 6.18 its sys_exit processes 423,000 instructions with -y
// against 320,000 for tp_btf's, its sys_enter 304,000 against 259,000 with stacks and every filter), and
// no_bpf_loop's, the task-storage programs with the larger sys_enter (293,000) and the per-call ones
// (sc_sys_enter_ts 294,000, sc_sys_exit as tp_btf's sys_exit). raw_tracepoint's are within 3% of tp_btf's, and
// per_call's load what tp_btf's and no_bpf_loop's do. Every variant still loads in the functional tests there,
// and gets its headroom checked on the host.
func TestVerifierHeadroom(t *testing.T) {
	roottest.Require(t)
	processed := regexp.MustCompile(`processed (\d+) insns`)
	for _, c := range []struct {
		name   string
		spec   callfilter.Spec
		stacks bool
	}{
		{"none", callfilter.Spec{}, false},
		{"fds", callfilter.Spec{Fds: callfilter.FdsAll}, false},
		{"path", callfilter.Spec{Paths: []string{"/etc/hostname"}}, false},
		{"path and fds", callfilter.Spec{Paths: []string{"/etc/hostname"}, Fds: callfilter.FdsAll}, false},
		{"failed and fds", callfilter.Spec{Failed: true, Fds: callfilter.FdsAll}, false},
		{"succeeded and fds", callfilter.Spec{Succeeded: true, Fds: callfilter.FdsAll}, false},
		{"all", callfilter.Spec{Errnos: []string{"ENOENT"}, SlowerThan: 1000, PathsUnder: []string{"/etc/"},
			Comms: []string{"x"}, Pids: []int{1}, Fds: callfilter.FdsAll}, false},
		{"stacks", callfilter.Spec{}, true},
		{"stacks, path and fds", callfilter.Spec{Paths: []string{"/etc/hostname"}, Fds: callfilter.FdsAll}, true},
		{"stacks, failed and fds", callfilter.Spec{Failed: true, Fds: callfilter.FdsAll}, true},
		{"stacks and all", callfilter.Spec{Errnos: []string{"ENOENT"}, SlowerThan: 1000, PathsUnder: []string{"/etc/"},
			Comms: []string{"x"}, Pids: []int{1}, Fds: callfilter.FdsAll}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			forSomeVariants(t, []string{"no_bpf_loop", "no_task_storage"}, func(t *testing.T, opts Options) {
				features := (bpf.KernelFeatures() &^ opts.Without).Usable()
				for _, obj := range []struct {
					name     string
					load     func() (*ebpf.CollectionSpec, error)
					variants []bpf.Program
				}{{"probe", bpf.LoadProbe, bpf.ProbeVariants}, {"count", bpf.LoadCount, bpf.CountVariants}} {
					if obj.name == "count" && c.spec.Fds > 0 {
						continue // counting mode has no -y
					}
					spec, err := obj.load()
					if err != nil {
						t.Fatal(err)
					}
					if _, err := bpf.Choose(spec, obj.variants, features); err != nil {
						t.Fatal(err)
					}
					cf, err := bpf.NewCallFilter(c.spec, table(t))
					if err != nil {
						t.Fatal(err)
					}
					if err := cf.Prepare(spec); err != nil {
						t.Fatal(err)
					}
					if c.stacks {
						setStacks(t, obj.name, spec)
					}
					coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{
						Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelStats}})
					if err != nil {
						t.Fatalf("%s: %v", obj.name, err)
					}
					for name, p := range coll.Programs {
						m := processed.FindStringSubmatch(p.VerifierLog)
						if m == nil {
							t.Errorf("%s: no statistics in the verifier's log: %q", name, p.VerifierLog)
							continue
						}
						if n, _ := strconv.Atoi(m[1]); n > verifierBudget {
							t.Errorf("%s %s: the verifier processed %d instructions, more than %d", obj.name, name, n, verifierBudget)
						}
					}
					coll.Close()
				}
			})
		})
	}
}

// setStacks turns on the most stacks an object takes: the probe's user and kernel stacks at MaxStackDepth,
// counting mode's key by the caller's stack.
func setStacks(t *testing.T, obj string, spec *ebpf.CollectionSpec) {
	t.Helper()
	vars := map[string]any{bpf.CountVarCountByStack: uint8(1)}
	if obj == "probe" {
		vars = map[string]any{bpf.ProbeVarStackUserDepth: uint32(MaxStackDepth),
			bpf.ProbeVarStackKernelDepth: uint32(MaxStackDepth)}
	}
	for name, v := range vars {
		if err := spec.Variables[name].Set(v); err != nil {
			t.Fatalf("%s: setting %s: %v", obj, name, err)
		}
	}
}
