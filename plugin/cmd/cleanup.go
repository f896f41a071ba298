package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/swoll-dev/swoll/internal/termesc"
	"github.com/swoll-dev/swoll/plugin/agentns"
	"github.com/swoll-dev/swoll/plugin/cleanup"
	"github.com/swoll-dev/swoll/plugin/preflight"
)

// NewCleanupCommand builds `kubectl swoll cleanup`.
func NewCleanupCommand(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	var all, force bool
	var timeout time.Duration
	const defaultTimeout = 30 * time.Second
	cmd := &cobra.Command{
		Use:   "cleanup [--all-namespaces] [--force]",
		Short: "Delete the agents that swoll sessions left behind",
		Long: `Delete swoll agents (their Jobs and pods) in the agent namespace, or in every namespace with -A, and wait
until they are gone. The agent namespace is -n, else the one set once ($` + agentns.EnvVar + ` or the
kubeconfig context's ` + agentns.Extension + ` extension), else the kubeconfig's namespace. Agents are found by their labels: app.kubernetes.io/name=swoll-agent,
app.kubernetes.io/managed-by=kubectl-swoll.

Agents of a session that is over, or past its deadline, are removed whoever started it. Agents of a live
session are removed only when it is one of yours (it ends); other users' live sessions are left alone and
named, unless --force. Agents remove themselves even when kubectl swoll is killed, so cleanup is rarely
needed.`,
		Example: `  # Agents in the agent namespace
  kubectl swoll cleanup

  # Agents in the namespace swoll
  kubectl swoll cleanup -n swoll

  # Everywhere, other users' live sessions included
  kubectl swoll cleanup -A --force`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ns, explicit, err := configFlags.ToRawKubeConfigLoader().Namespace()
			if err != nil {
				return fmt.Errorf("reading kubeconfig: %w", err)
			}
			if !explicit {
				// where the agents are: the agent namespace set once, unless -n says otherwise
				set, err := agentns.FromFlags(configFlags)
				if err != nil {
					return err
				}
				if set != "" {
					ns = set
				}
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
			opts := cleanup.Options{User: preflight.WhoAmI(ctx, client), Force: force}
			return runCleanup(ctx, client, ns, opts, streams)
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "Remove agents in every namespace")
	cmd.Flags().BoolVar(&force, "force", false, "Also remove the agents of other users' live sessions (they end)")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultTimeout, "How long to wait for the pods to go away")
	return cmd
}

func runCleanup(ctx context.Context, client kubernetes.Interface, ns string, opts cleanup.Options, streams genericiooptions.IOStreams) error {
	res, err := cleanup.Cleanup(ctx, client, ns, opts)
	for _, p := range res.Removed {
		if _, err := fmt.Fprintf(streams.Out, "removed %s\n", p); err != nil {
			return err
		}
	}
	for _, k := range res.Kept {
		_, _ = fmt.Fprintf(streams.ErrOut, "swoll: %s\n", termesc.String(k)) // a user name from the cluster
	}
	if err != nil {
		return err
	}
	if len(res.Removed) == 0 && len(res.Kept) == 0 {
		where := "in namespace " + ns
		if ns == "" {
			where = "in any namespace"
		}
		_, err = fmt.Fprintf(streams.Out, "no swoll agent pods %s\n", where)
		return err
	}
	return nil
}
