//go:build linux

package bpf

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// TestOldCheckCFG replays the control-flow check of the verifiers of 5.10 to 6.1 (check_cfg) on every program
// of both architectures' objects: those kernels accept a back edge (an edge to an instruction whose successors
// are still being explored) only when it is a jump's, never an ordinary instruction's fall-through nor a call's
// return, and refuse the whole object with "back-edge from insn X to Y" otherwise. Newer kernels allow both, so
// a loop laid out with its header after its latch loads on the host and fails only in make test-kernels; this
// catches it here.
func TestOldCheckCFG(t *testing.T) {
	objs, err := filepath.Glob("*_bpfel.o")
	if err != nil || len(objs) == 0 {
		t.Fatalf("no objects: %v", err)
	}
	for _, obj := range objs {
		spec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			t.Fatal(err)
		}
		for name, p := range spec.Programs {
			if e := oldCheckCFG(p.Instructions); e != "" {
				t.Errorf("%s: %s: %s", obj, name, e)
			}
		}
	}
}

// oldCheckCFG is check_cfg's depth-first walk over raw instruction offsets; it returns the first refused back
// edge, or "".
func oldCheckCFG(insns asm.Instructions) string {
	off := make([]int, len(insns))
	at := map[int]int{}
	sym := map[string]int{}
	raw := 0
	for i, ins := range insns {
		off[i], at[raw] = raw, i
		if s := ins.Symbol(); s != "" {
			sym[s] = raw
		}
		raw += int(ins.Size() / asm.InstructionSize)
	}
	type edge struct {
		to     int
		loopOK bool
	}
	succ := func(i int) []edge {
		ins := insns[i]
		next := off[i] + int(ins.Size()/asm.InstructionSize)
		if !ins.OpCode.Class().IsJump() {
			return []edge{{next, false}}
		}
		switch ins.OpCode.JumpOp() {
		case asm.Exit:
			return nil
		case asm.Call:
			e := []edge{{next, false}}
			if ins.IsFunctionCall() {
				e = append(e, edge{sym[ins.Reference()], false})
			}
			return e
		case asm.Ja:
			return []edge{{off[i] + int(ins.Offset) + 1, true}}
		}
		return []edge{{next, true}, {off[i] + int(ins.Offset) + 1, true}}
	}
	const (
		unseen = iota
		exploring
		done
	)
	state := make([]int, raw)
	type frame struct {
		at    int
		edges []edge
	}
	stack := []frame{{0, succ(0)}}
	state[0] = exploring
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if len(f.edges) == 0 {
			state[f.at] = done
			stack = stack[:len(stack)-1]
			continue
		}
		e := f.edges[0]
		f.edges = f.edges[1:]
		i, ok := at[e.to]
		if !ok {
			continue
		}
		switch state[e.to] {
		case exploring:
			if !e.loopOK {
				return fmt.Sprintf("back-edge from insn %d to %d (%v -> %v)", f.at, e.to, insns[at[f.at]], insns[i])
			}
		case unseen:
			state[e.to] = exploring
			stack = append(stack, frame{e.to, succ(i)})
		}
	}
	return ""
}
