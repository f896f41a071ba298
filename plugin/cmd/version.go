package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/version"
)

// NewVersionCommand builds `kubectl swoll version`.
func NewVersionCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the plugin version and the agent image it runs",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(streams.Out, "kubectl-swoll %s\nagent image: %s\nevent schema: %d\n",
				version.Version, version.AgentImage(), event.SchemaVersion)
			return err
		},
	}
}
