// Package cmd wires kubectl-swoll's cobra commands. (Placeholder: the plugin issue replaces this.)
package cmd

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/swoll-dev/swoll/internal/version"
)

// Execute runs the root command and returns the process exit code.
func Execute() int {
	root := &cobra.Command{
		Use:           "kubectl-swoll",
		Short:         "A Kubernetes-aware strace",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the plugin version",
		Run:   func(*cobra.Command, []string) { fmt.Println(version.Version) },
	})
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	return 0
}
