// Package advise is `kubectl swoll advise`: what a workload needs, learned from what its pods do. `advise
// seccomp` runs trace's session in counting mode (the kernel counts each container's calls; no event per call
// leaves the node, so none is lost) and prints one seccomp profile per workload and container (package
// plugin/seccomp). Options are used by cobra's goroutine.
package advise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/swoll-dev/swoll/plugin/cmd/trace"
	"github.com/swoll-dev/swoll/plugin/nodes"
	"github.com/swoll-dev/swoll/plugin/seccomp"
	"github.com/swoll-dev/swoll/plugin/workload"
	"github.com/swoll-dev/swoll/syscalls"
)

// Formats of -o.
const (
	formatJSON = "json"
	formatSPO  = "spo"
)

const seccompExample = `  # Learn a profile for the pods of a Deployment while a load test runs for five minutes
  kubectl swoll advise seccomp -l app=web -n shop --duration 5m > web.json

  # Install it as a Localhost profile (on every node: <kubelet root>/seccomp/swoll/web.json) and use it:
  #   securityContext: {seccompProfile: {type: Localhost, localhostProfile: swoll/web.json}}

  # The Security Profiles Operator's SeccompProfile resource instead, ready for kubectl apply
  kubectl swoll advise seccomp -l app=web -n shop --duration 5m -o spo | kubectl apply -f -

  # Check the profile against the same pods before enforcing it
  kubectl swoll check seccomp web.json -l app=web -n shop --duration 5m`

// NewCommand builds `kubectl swoll advise` and its subcommands on trace's options to; configFlags reach the
// cluster for what the counts do not say (the pods' owners, the nodes' architectures).
func NewCommand(to *trace.Options, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "advise",
		Short: "Learn what the selected pods need from what they do (seccomp profiles)",
		Long: `Learn what the containers of the selected pods need from what they do while you watch them.
Nothing is changed in the cluster besides the short-lived agent pods a trace starts.`,
		Example: strings.ReplaceAll(seccompExample, "kubectl swoll check seccomp", "# then: kubectl swoll check seccomp"),
	}
	cmd.AddCommand(newSeccompCommand(to, configFlags))
	return cmd
}

// Options are `advise seccomp`'s flags: trace's selection and session flags, and the output format.
type Options struct {
	*trace.Options
	configFlags *genericclioptions.ConfigFlags
	Format      string
}

func newSeccompCommand(to *trace.Options, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := &Options{Options: to, configFlags: configFlags, Format: formatJSON}
	cmd := &cobra.Command{
		Use:   "seccomp [POD...] [flags]",
		Short: "Learn a seccomp profile per workload and container from the calls its pods make",
		Long: `Count, in the kernel, every system call of the containers of the selected pods (selected as for trace)
until --duration or Ctrl-C, then print one seccomp profile per workload and container: the calls of every
replica of a Deployment, StatefulSet, DaemonSet or Job merged, on every architecture seen.

Each profile is OCI runtime-spec JSON, as a kubelet Localhost profile or runc reads it: defaultAction
SCMP_ACT_ERRNO, architectures amd64 and arm64, the calls seen allowed under the names of both tables (a call
only amd64 has adds its arm64 counterpart: open adds openat), plus the calls the container runtime (runc,
crun) makes between installing the filter and the entrypoint's execve, so that the container can start.
"comment" and "learned" say where it comes from: pods, time span, each call's count; runtimes ignore them.
-o spo prints the Security Profiles Operator's SeccompProfile resources (YAML) instead.

A profile holds only what the pods did while traced: drive every code path (start-up, traffic, shutdown,
probes) during the session, and check it with kubectl swoll check seccomp before enforcing it.`,
		Example: seccompExample,
		RunE:    trace.RunE(o),
	}
	f := cmd.Flags()
	o.AddSessionFlags(f)
	_ = f.MarkHidden("syscalls") // a profile needs every call
	f.StringVarP(&o.Format, "output", "o", o.Format, "Output format: json (OCI seccomp profiles) or spo (SeccompProfile resources, YAML)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]cobra.Completion{formatJSON, formatSPO}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Validate checks advise's own flags, then trace's.
func (o *Options) Validate() error {
	switch o.Format {
	case formatJSON, formatSPO:
	default:
		return fmt.Errorf("invalid -o/--output %q: want json or spo", o.Format)
	}
	if len(o.Syscalls) > 0 {
		return errors.New("-s/--syscalls does not apply: a profile is learned from every call")
	}
	return o.Options.Validate()
}

// Run counts until the session ends, then prints the profiles.
func (o *Options) Run(ctx context.Context) error {
	rec := seccomp.NewRecorder()
	if err := o.RunSession(ctx, rec, trace.SessionMode{Count: true}); err != nil {
		return err
	}
	if o.DryRun {
		return nil
	}
	if rec.Empty() {
		return errors.New("no call of the selected containers was counted: nothing to learn a profile from (a longer --duration?)")
	}
	client, err := o.client()
	if err != nil {
		return err
	}
	// the session may have ended with Ctrl-C: the lookups still run
	lctx := context.WithoutCancel(ctx)
	pods := workload.NewResolver(client)
	nodeInfo := nodes.NewCache(client)
	var guessed []string
	built := rec.Build(seccomp.Lookup{
		Workload: func(ns, pod string) string {
			w := pods.Workload(lctx, ns, pod)
			if w.Guessed {
				guessed = append(guessed, ns+"/"+pod)
			}
			return w.String()
		},
		NodeArch: func(node string) syscalls.Arch {
			nodeInfo.Lookup(lctx, node)
			if a := nodeInfo.Get(node).Arch; a != "" {
				return syscalls.Arch(a)
			}
			return syscalls.AMD64
		},
	})
	o.warn(rec, built, guessed)
	return o.write(o.Out, built)
}

func (o *Options) client() (kubernetes.Interface, error) {
	rc, err := o.configFlags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig: %w", err)
	}
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("creating a Kubernetes client: %w", err)
	}
	return c, nil
}

// warn says on stderr what may make a profile short.
func (o *Options) warn(rec *seccomp.Recorder, built []seccomp.Built, guessed []string) {
	if n := rec.Overflow(); n > 0 {
		_, _ = fmt.Fprintf(o.ErrOut, "swoll: warning: %d calls were not counted (the agents' counter tables were full): the profiles may miss calls\n", n)
	}
	for _, b := range built {
		if len(b.Unknown) > 0 {
			l := b.Profile.Learned
			_, _ = fmt.Fprintf(o.ErrOut, "swoll: warning: %s %s: calls seen by number only, not in the profile: %s\n",
				l.Workload, l.Container, strings.Join(b.Unknown, ", "))
		}
	}
	if len(guessed) > 0 {
		_, _ = fmt.Fprintf(o.ErrOut, "swoll: warning: pods gone or not readable, their workload read from their name: %s\n",
			strings.Join(guessed, ", "))
	}
}

// write prints the profiles: JSON objects one after the other, or YAML documents.
func (o *Options) write(w io.Writer, built []seccomp.Built) error {
	for i, b := range built {
		var out []byte
		var err error
		switch o.Format {
		case formatSPO:
			out, err = yaml.Marshal(b.Profile.SPO())
			if err == nil && i > 0 {
				out = append([]byte("---\n"), out...)
			}
		default:
			out, err = b.Profile.JSON()
		}
		if err != nil {
			return fmt.Errorf("writing the profile: %w", err)
		}
		if _, err := w.Write(out); err != nil {
			return fmt.Errorf("writing the profile: %w", err)
		}
	}
	return nil
}
