//go:build linux

// Command swoll-agent is the node agent: it traces system calls with eBPF and writes JSON lines.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/swoll-dev/swoll/internal/version"
)

func main() {
	root := &cobra.Command{
		Use:           "swoll-agent",
		Short:         "swoll's node agent: container-aware syscall tracing with eBPF",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the agent version",
		Run:   func(*cobra.Command, []string) { fmt.Println(version.Version) },
	})
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
