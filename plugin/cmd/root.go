// Package cmd is kubectl-swoll's root command: kubectl's connection flags, the commands (trace and top in
// their own packages; report, cleanup, rbac, version and image here), shell completion, and how errors are printed.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/swoll-dev/swoll/internal/termesc"
	"github.com/swoll-dev/swoll/plugin/cmd/advise"
	"github.com/swoll-dev/swoll/plugin/cmd/check"
	"github.com/swoll-dev/swoll/plugin/cmd/top"
	"github.com/swoll-dev/swoll/plugin/cmd/trace"
	"github.com/swoll-dev/swoll/plugin/complete"
)

// Execute runs the command line and returns the process exit code. ctx ends on the first interrupt; force is
// closed on the second (both come from main, which owns the process's signals).
func Execute(ctx context.Context, force <-chan struct{}) int {
	if os.Getenv("SWOLL_DEBUG") == "" {
		// client-go logs through klog (e.g. "Unhandled Error" lines); the session reports what matters itself
		klog.SetLogger(logr.Discard())
	}
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	return Run(ctx, os.Args[1:], streams, force)
}

// Run runs args against streams (a function so tests can drive the whole command line).
func Run(ctx context.Context, args []string, streams genericiooptions.IOStreams, force <-chan struct{}) int {
	root := NewRootCommand(streams, force)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		printError(streams.ErrOut, err)
		return 1
	}
	return 0
}

func printError(w io.Writer, err error) {
	msg := err.Error()
	// one line, no stack, no bare EOF
	msg = strings.TrimSpace(strings.ReplaceAll(msg, "\n", " "))
	if errors.Is(err, io.EOF) && msg == "EOF" {
		msg = "the connection to the API server closed unexpectedly"
	}
	_, _ = fmt.Fprintln(w, "error:", termesc.String(msg)) // API errors quote cluster text
}

// NewRootCommand builds `kubectl swoll`; force is closed on a second interrupt.
func NewRootCommand(streams genericiooptions.IOStreams, force <-chan struct{}) *cobra.Command {
	configFlags := genericclioptions.NewConfigFlags(true).WithDeprecatedPasswordFlag()
	root := &cobra.Command{
		Use:   "kubectl-swoll",
		Short: "A Kubernetes-aware strace",
		Long: `kubectl swoll traces the system calls of the containers you select, decodes them as strace does, and
tags each with node, namespace, pod and container. It starts one short-lived agent (a Job, with only the
capabilities eBPF needs) per node that runs a target, streams from it, and removes it when you stop.`,
		Example: `  # Every openat and connect of the pods labelled app=nginx, as JSON lines
  kubectl swoll trace -l app=nginx -s openat,connect | jq .

  # Live counts, errors and latency per pod and system call, counted in the kernel
  kubectl swoll top -l app=nginx

  # A seccomp profile learned from what the pods do, and a check of one before enforcing it
  kubectl swoll advise seccomp -l app=nginx --duration 5m > nginx.json
  kubectl swoll check seccomp runtime/default -l app=nginx

  # The agent image this plugin runs (what to mirror), and its version
  kubectl swoll image
  kubectl swoll version

  # The least-privilege Roles and bindings for alice to trace in shop, agents in the namespace swoll
  kubectl swoll rbac shop --user alice --agent-namespace swoll | kubectl apply -f -

  # Remove what an interrupted session left behind (in the agent namespace)
  kubectl swoll cleanup`,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl swoll",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	trace.AddConfigFlags(root.PersistentFlags(), configFlags)
	root.AddCommand(
		trace.NewCommand(trace.NewOptions(configFlags, streams, force)),
		top.NewCommand(trace.NewOptions(configFlags, streams, force)),
		advise.NewCommand(trace.NewOptions(configFlags, streams, force), configFlags),
		check.NewCommand(trace.NewOptions(configFlags, streams, force), configFlags),
		NewReportCommand(streams),
		NewCleanupCommand(configFlags, streams),
		NewRBACCommand(configFlags, streams),
		NewVersionCommand(streams),
		NewImageCommand(streams),
	)
	// shell completion from the live cluster: kubectl runs the kubectl_complete-swoll shim, which runs __complete
	complete.Register(root, complete.NewSource(configFlags))
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		c.Long = completionLong
		c.Example = completionExample
	}
	return root
}

const completionLong = `Print the shell completion script of kubectl-swoll (names of namespaces, pods, label keys and values,
nodes and containers come from the cluster; system calls, class: and group: from swoll's tables).

Typed as "kubectl swoll", completion goes through kubectl (1.26+), which runs the executable
kubectl_complete-swoll from PATH: put the shim that comes in every archive (krew unpacks it next to the plugin)
on PATH and kubectl's own completion does the rest. The scripts below are for typing kubectl-swoll directly.`

const completionExample = `  # kubectl swoll <TAB> through kubectl's completion, after kubectl krew install swoll
  ln -s "${KREW_ROOT:-$HOME/.krew}"/store/swoll/*/kubectl_complete-swoll "${KREW_ROOT:-$HOME/.krew}/bin/"

  # kubectl-swoll <TAB> in bash (zsh, fish and powershell alike)
  source <(kubectl-swoll completion bash)`
