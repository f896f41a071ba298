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

// Every program of the probe and of counting mode, under each kind of incident filter and -y, leaves the
// verifier headroom.
func TestVerifierHeadroom(t *testing.T) {
	roottest.Require(t)
	processed := regexp.MustCompile(`processed (\d+) insns`)
	for _, c := range []struct {
		name string
		spec callfilter.Spec
	}{
		{"none", callfilter.Spec{}},
		{"fds", callfilter.Spec{Fds: callfilter.FdsAll}},
		{"path", callfilter.Spec{Paths: []string{"/etc/hostname"}}},
		{"path and fds", callfilter.Spec{Paths: []string{"/etc/hostname"}, Fds: callfilter.FdsAll}},
		{"failed and fds", callfilter.Spec{Failed: true, Fds: callfilter.FdsAll}},
		{"succeeded and fds", callfilter.Spec{Succeeded: true, Fds: callfilter.FdsAll}},
		{"all", callfilter.Spec{Errnos: []string{"ENOENT"}, SlowerThan: 1000, PathsUnder: []string{"/etc/"},
			Comms: []string{"x"}, Pids: []int{1}, Fds: callfilter.FdsAll}},
	} {
		t.Run(c.name, func(t *testing.T) {
			forVariants(t, func(t *testing.T, opts Options) {
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
