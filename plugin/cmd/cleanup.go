package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/swoll-dev/swoll/plugin/cleanup"
)

// NewCleanupCommand builds `kubectl swoll cleanup`.
func NewCleanupCommand(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	var all bool
	var timeout time.Duration
	const defaultTimeout = 30 * time.Second
	cmd := &cobra.Command{
		Use:   "cleanup [--all-namespaces]",
		Short: "Delete the agent pods of every swoll session (leftovers of an interrupted trace)",
		Long: `Delete every swoll agent pod (of any session) in the namespace, or in every namespace with -A, and wait
until they are gone. Agent pods are found by their labels:
app.kubernetes.io/name=swoll-agent,app.kubernetes.io/managed-by=kubectl-swoll.

This also ends sessions still in progress (their agents stop); a session that ends normally removes its own
pods, so cleanup is for what an interrupted or killed session left behind.`,
		Example: `  # Agent pods in the current namespace
  kubectl swoll cleanup

  # Everywhere
  kubectl swoll cleanup -A`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ns, _, err := configFlags.ToRawKubeConfigLoader().Namespace()
			if err != nil {
				return fmt.Errorf("reading kubeconfig: %w", err)
			}
			if all {
				ns = ""
			}
			restConfig, err := configFlags.ToRESTConfig()
			if err != nil {
				return fmt.Errorf("reading kubeconfig: %w", err)
			}
			client, err := kubernetes.NewForConfig(restConfig)
			if err != nil {
				return fmt.Errorf("creating a Kubernetes client: %w", err)
			}
			ctx, cancel := context.WithTimeout(c.Context(), timeout)
			defer cancel()
			return runCleanup(ctx, client, ns, streams)
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "Remove agent pods in every namespace")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultTimeout, "How long to wait for the pods to go away")
	return cmd
}

func runCleanup(ctx context.Context, client kubernetes.Interface, ns string, streams genericiooptions.IOStreams) error {
	removed, err := cleanup.Cleanup(ctx, client, ns)
	for _, p := range removed {
		if _, err := fmt.Fprintf(streams.Out, "removed pod/%s\n", p); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	if len(removed) == 0 {
		where := "in namespace " + ns
		if ns == "" {
			where = "in any namespace"
		}
		_, err = fmt.Fprintf(streams.Out, "no swoll agent pods %s\n", where)
		return err
	}
	return nil
}
