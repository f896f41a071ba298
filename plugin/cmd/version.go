package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/version"
	"github.com/swoll-dev/swoll/protocol"
)

// NewVersionCommand builds `kubectl swoll version`.
func NewVersionCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the plugin version and the agent image it runs",
		Example: `  # The version, the agent image (by digest in a release), the event schema's version and the agent protocol's
  kubectl swoll version`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(streams.Out, "kubectl-swoll %s\nagent image: %s\nevent schema: %d (revision %d)\nagent protocol: %d\n",
				version.Version, version.AgentImage(), event.SchemaVersion, event.SchemaRevision, protocol.Version)
			return err
		},
	}
}

const imageLong = `Print the agent image this plugin schedules on nodes (unless --image says otherwise).

A released plugin names the image by digest: nodes pull exactly the image it was built with, and a registry can
neither move nor replace it. The image is an index for linux/amd64 and linux/arm64.

For a cluster that cannot reach the image's registry, copy the image with every platform and its digest unchanged
to a registry the nodes can reach (crane copy, or skopeo copy --all --preserve-digests), then point the plugin at
the copy with --image.`

const imageExample = `  # The image the plugin schedules
  kubectl swoll image

  # Mirror it for an air-gapped cluster, then trace with the copy
  crane copy "$(kubectl swoll image)" "$(kubectl swoll image --mirror registry.internal/tools)"
  kubectl swoll trace --image "$(kubectl swoll image --mirror registry.internal/tools)" -l app=web`

// NewImageCommand builds `kubectl swoll image`: what to mirror for an air-gapped cluster.
func NewImageCommand(streams genericiooptions.IOStreams) *cobra.Command {
	var mirror string
	cmd := &cobra.Command{
		Use:     "image [--mirror REGISTRY/PATH]",
		Short:   "Print the agent image reference (what to mirror for an air-gapped cluster)",
		Long:    imageLong,
		Example: imageExample,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if !version.Pinned() {
				_, _ = fmt.Fprintln(streams.ErrOut, "warning: this plugin was built without its image digest (not by make dist): "+
					"it names the agent image by tag")
			}
			ref := version.AgentImage()
			if mirror != "" {
				if err := checkMirror(mirror); err != nil {
					return err
				}
				ref = version.MirrorImage(mirror)
			}
			_, err := fmt.Fprintln(streams.Out, ref)
			return err
		},
	}
	cmd.Flags().StringVar(&mirror, "mirror", "", "Print the reference the image has once copied under this registry path")
	return cmd
}

// checkMirror accepts a registry with an optional port and path (registry.internal:5000/tools), nothing that
// would turn the result into a different reference (a tag, a digest, blanks).
func checkMirror(m string) error {
	host, path, _ := strings.Cut(strings.TrimSuffix(m, "/"), "/")
	if host == "" || strings.ContainsAny(m, "@ \t\n") || strings.Contains(path, ":") || strings.Contains(path, "//") {
		return fmt.Errorf("--mirror %q: want a registry and path such as registry.internal:5000/tools (no tag, no digest)", m)
	}
	return nil
}
