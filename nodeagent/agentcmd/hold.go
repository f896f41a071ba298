//go:build linux

package agentcmd

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/swoll-dev/swoll/nodeagent/hold"
)

func newHoldCommand(io streams) *cobra.Command {
	var lockPath string
	var wait, poll time.Duration
	cmd := &cobra.Command{
		Use:   "hold",
		Short: "Keep an agent pod alive while tracing sessions run in it",
		Long: `Keep an agent pod alive while tracing sessions run in it: the main process of the pods the kubectl
plugin creates. It exits 0 on SIGTERM, when no session started within --wait, or when sessions ran and
none is left, so that a pod orphaned by a killed plugin completes on its own.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			outcome, err := hold.Wait(cmd.Context(), lockPath, wait, poll)
			if err != nil {
				return failure(err)
			}
			_, _ = fmt.Fprintf(io.stderr, "swoll-agent: %s; exiting\n", outcome)
			return nil
		},
	}
	cmd.Flags().StringVar(&lockPath, "lock", hold.DefaultLockPath(), "lock file sessions hold while they run")
	cmd.Flags().DurationVar(&wait, "wait", 60*time.Second, "exit when no session started within this time")
	cmd.Flags().DurationVar(&poll, "poll", 500*time.Millisecond, "how often to look at the lock")
	return cmd
}
