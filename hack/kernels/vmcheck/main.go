//go:build linux

// vmcheck runs inside the VMs of make test-kernels (hack/test-kernels.sh): "features" prints what the
// tracer's probing finds on this kernel, "leftover" fails when any BPF program or map is still loaded (the
// VM runs nothing else that loads them, so every one would be the tests' or the agent's), "load" loads every
// variant of the probe the kernel can run and prints the verifier's whole log for one it rejects.
package main

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/swoll-dev/swoll/nodeagent/tracer"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: vmcheck features|leftover|load")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "features":
		fmt.Println(tracer.ProbeFeatures())
	case "leftover":
		progs, maps, err := loaded()
		if err != nil {
			fmt.Fprintln(os.Stderr, "vmcheck:", err)
			os.Exit(1)
		}
		fmt.Printf("%d programs, %d maps loaded\n", progs, maps)
		if progs+maps > 0 {
			os.Exit(1)
		}
	case "load":
		if !loadAll() {
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, "vmcheck: unknown command", os.Args[1])
		os.Exit(2)
	}
}

// loaded counts the BPF programs and maps the kernel holds.
func loaded() (progs, maps int, err error) {
	for id := ebpf.ProgramID(0); ; progs++ {
		id, err = ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			break
		} else if err != nil {
			return 0, 0, fmt.Errorf("listing programs: %w", err)
		}
	}
	for id := ebpf.MapID(0); ; maps++ {
		id, err = ebpf.MapGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			break
		} else if err != nil {
			return 0, 0, fmt.Errorf("listing maps: %w", err)
		}
	}
	return progs, maps, nil
}

// loadAll loads each variant of the probe this kernel has the features for.
func loadAll() bool {
	ok := true
	have := tracer.ProbeFeatures()
	var seen []tracer.Features
	for _, without := range []tracer.Features{0, tracer.Loop, tracer.TaskStorage | tracer.Loop} {
		f := have &^ without
		if slices.Contains(seen, f) {
			continue
		}
		seen = append(seen, f)
		for _, raw := range []bool{false, true} {
			t, err := tracer.New(tracer.Options{Without: without, RawTracepoints: raw})
			if err != nil {
				ok = false
				var ve *ebpf.VerifierError
				if errors.As(err, &ve) {
					fmt.Printf("%s raw=%v: %+v\n", f, raw, ve)
				} else {
					fmt.Printf("%s raw=%v: %v\n", f, raw, err)
				}
				continue
			}
			fmt.Printf("%s raw=%v: loaded (%s)\n", f, raw, t.AttachType())
			_ = t.Close()
		}
	}
	return ok
}
