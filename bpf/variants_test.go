//go:build linux

package bpf

import (
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// featureSets are every set of features a kernel can offer the programs.
func featureSets() []Features {
	var out []Features
	for f := Features(0); f <= AllFeatures; f++ {
		if f.Usable() == f {
			out = append(out, f)
		}
	}
	return out
}

var objects = []struct {
	name     string
	load     func() (*ebpf.CollectionSpec, error)
	variants []Program
}{
	{"probe", LoadProbe, ProbeVariants},
	{"count", LoadCount, CountVariants},
}

// The Go table and the C source agree: each listed program attaches where its section says, reads per-task state
// where its variant keeps it and calls bpf_loop only in its bpf_loop variant; every program is listed once.
func TestVariantsMatchTheObjects(t *testing.T) {
	for _, o := range objects {
		t.Run(o.name, func(t *testing.T) {
			spec, err := o.load()
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, p := range o.variants {
				ps, ok := spec.Programs[p.Name]
				if !ok {
					t.Errorf("%s: not in the object", p.Name)
					continue
				}
				if seen[p.Name] {
					t.Errorf("%s: listed twice", p.Name)
				}
				seen[p.Name] = true
				if p.Built&^p.Varies != 0 {
					t.Errorf("%s: built for %s, which is not among the features it varies by (%s)", p.Name, p.Built, p.Varies)
				}
				if p.Hook != "" {
					sec := "raw_tracepoint/" + p.Hook
					switch {
					case p.Hook == HookCallEnter || p.Hook == HookCallExit:
						sec = "tracepoint/" + p.Hook
						if ps.Type != ebpf.TracePoint || p.Varies&TpBTF != 0 {
							t.Errorf("%s: a per-call program of type %s varying by %s, want a tracepoint program whatever tp_btf", p.Name, ps.Type, p.Varies)
						}
					case p.Built&TpBTF != 0:
						sec = "tp_btf/" + p.Hook
					}
					if ps.SectionName != sec {
						t.Errorf("%s: section %s, want %s", p.Name, ps.SectionName, sec)
					}
				}
				ts, hash, loop := false, false, false
				for _, ins := range ps.Instructions {
					ref := ins.Reference()
					if ins.IsLoadFromMap() && ref != "" && spec.Maps[ref] != nil {
						switch {
						case spec.Maps[ref].Type == ebpf.TaskStorage:
							ts = true
						case strings.HasSuffix(ref, "_by_task"):
							hash = true
						}
					}
					if ins.IsBuiltinCall() && ins.Constant == int64(asm.FnLoop) {
						loop = true
					}
				}
				if ts && p.Built&TaskStorage == 0 || hash && p.Built&TaskStorage != 0 {
					t.Errorf("%s: built for %s, uses task storage %v, hashes by task %v", p.Name, p.Built, ts, hash)
				}
				if loop != (p.Built&Loop != 0) {
					t.Errorf("%s: built for %s, calls bpf_loop %v", p.Name, p.Built, loop)
				}
			}
			for name := range spec.Programs {
				if !seen[name] {
					t.Errorf("program %s is not listed in the variants", name)
				}
			}
		})
	}
}

// For every feature set, Choose keeps one program per tracepoint, built for those features, and only the maps
// of its variant.
func TestChoose(t *testing.T) {
	for _, o := range objects {
		for _, f := range featureSets() {
			t.Run(o.name+"/"+f.String(), func(t *testing.T) {
				spec, err := o.load()
				if err != nil {
					t.Fatal(err)
				}
				att, err := Choose(spec, o.variants, f)
				if err != nil {
					t.Fatal(err)
				}
				var hooks []string
				for _, a := range att {
					hooks = append(hooks, a.Hook)
					if a.BTF != (f&TpBTF != 0 && a.Hook != HookCallEnter && a.Hook != HookCallExit) {
						t.Errorf("%s attaches with BTF %v under %s", a.Program, a.BTF, f)
					}
					if spec.Programs[a.Program] == nil {
						t.Errorf("%s chosen but deleted", a.Program)
					}
				}
				for _, h := range []string{HookSysEnter, HookSysExit} {
					if !slices.Contains(hooks, h) {
						t.Errorf("nothing attaches to %s: %v", h, att)
					}
				}
				// The probe's per-call programs read registers with bpf_task_pt_regs; counting mode's need nothing.
				perCall := o.name == "count" || f&PtRegs != 0
				for _, h := range []string{HookCallEnter, HookCallExit} {
					if slices.Contains(hooks, h) != perCall {
						t.Errorf("%s with %s: per-call program for %s %v, want %v: %v", o.name, f, h, !perCall, perCall, att)
					}
				}
				if o.name == "probe" {
					for _, h := range []string{HookTaskExit, HookTaskExec, HookTaskFork, HookCgroupMove} {
						if !slices.Contains(hooks, h) {
							t.Errorf("the probe attaches nothing to %s: %v", h, att)
						}
					}
				}
				if o.name == "count" && slices.Contains(hooks, HookTaskExit) != (f&TaskStorage == 0) {
					t.Errorf("counting mode with %s: a task exit program is needed only without task storage: %v", f, att)
				}
				for name, m := range spec.Maps {
					if m.Type == ebpf.TaskStorage && f&TaskStorage == 0 || strings.HasSuffix(name, "_by_task") && f&TaskStorage != 0 {
						t.Errorf("map %s (%s) kept under %s", name, m.Type, f)
					}
				}
				for _, name := range FilterMaps {
					if spec.Maps[name] == nil {
						t.Errorf("filter map %s deleted", name)
					}
				}
			})
		}
	}
}

// Counting mode shares the probe's filter: the maps of the same names must be interchangeable.
func TestFilterMapsMatch(t *testing.T) {
	probe, err := LoadProbe()
	if err != nil {
		t.Fatal(err)
	}
	count, err := LoadCount()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range FilterMaps {
		p, c := probe.Maps[name], count.Maps[name]
		if p == nil || c == nil {
			t.Fatalf("%s: probe %v, count %v", name, p != nil, c != nil)
		}
		if p.Type != c.Type || p.KeySize != c.KeySize || p.ValueSize != c.ValueSize || p.MaxEntries != c.MaxEntries || p.Flags != c.Flags {
			t.Errorf("%s differs: probe %+v, count %+v", name, p, c)
		}
	}
	for _, v := range []string{ProbeVarFilterMode, ProbeVarFilterGen, ProbeVarCgroupMoves, ProbeVarPreExecOn,
		ProbeVarCgroupHierarchy, ProbeVarCgroupLevels} {
		pv, cv := probe.Variables[v], count.Variables[v]
		if pv == nil || cv == nil || pv.SectionName != FilterSection || cv.SectionName != FilterSection || pv.Offset != cv.Offset {
			t.Errorf("variable %s is not at the same place of %s in both objects: %+v %+v", v, FilterSection, pv, cv)
		}
	}
}

func TestFeatureNames(t *testing.T) {
	tests := []struct {
		in   string
		want Features
		err  bool
	}{
		{"", 0, false},
		{"task_storage,bpf_loop", TaskStorage | Loop, false},
		{"tp_btf+task_storage+bpf_loop+task_pt_regs", AllFeatures, false},
		{"kprobes", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseFeatures(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseFeatures(%q) = %s, %v; want %s (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
	for _, f := range featureSets() {
		if g, err := ParseFeatures(f.String()); f != 0 && (err != nil || g != f) {
			t.Errorf("round trip of %s: %s, %v", f, g, err)
		}
	}
	if AllFeatures.String() != "tp_btf+task_storage+bpf_loop+task_pt_regs" || Features(0).String() != "none" {
		t.Errorf("names: %s, %s", AllFeatures, Features(0))
	}
}
