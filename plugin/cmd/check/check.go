// Package check is `kubectl swoll check`: would the selected pods still work under a policy, answered from
// what they do. `check seccomp PROFILE` traces the calls the profile does not let run whatever their
// arguments (on each node's architecture), decides each as the kernel would under the profile (package
// plugin/seccomp), reports every call that would be denied as it is first seen and a table at the end, and
// fails when there is one. Nothing is enforced. Options are used by cobra's goroutine; the live report is
// written by the session's merge loop.
package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/swoll-dev/swoll/internal/termesc"
	"github.com/swoll-dev/swoll/plugin/cmd/trace"
	"github.com/swoll-dev/swoll/plugin/seccomp"
	"github.com/swoll-dev/swoll/plugin/seccomp/runtimedefault"
	"github.com/swoll-dev/swoll/plugin/workload"
	"github.com/swoll-dev/swoll/syscalls"
)

const seccompExample = `  # Can the pods labelled app=web run under the runtime's default profile (RuntimeDefault)?
  kubectl swoll check seccomp runtime/default -l app=web -n shop --duration 5m

  # A profile of your own (JSON, as a kubelet Localhost profile), against one pod
  kubectl swoll check seccomp web.json web-7d9f8c6b5-abcde -n shop

  # Learn a profile, then check it while the same traffic runs again
  kubectl swoll advise seccomp -l app=web -n shop --duration 5m > web.json
  kubectl swoll check seccomp web.json -l app=web -n shop --duration 5m`

// NewCommand builds `kubectl swoll check` and its subcommands on trace's options to; configFlags reach the
// cluster for the pods' capabilities (runtime/default depends on them).
func NewCommand(to *trace.Options, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "check",
		Short:   "Check whether the selected pods would keep working under a policy (seccomp profiles)",
		Long:    `Check, from what the containers of the selected pods do while you watch them, whether a policy would stop them. Nothing is enforced.`,
		Example: seccompExample,
	}
	cmd.AddCommand(newSeccompCommand(to, configFlags))
	return cmd
}

// Options are `check seccomp`'s: the profile, and trace's selection and session flags.
type Options struct {
	*trace.Options
	configFlags *genericclioptions.ConfigFlags
	// Profile is a JSON file, "-" for stdin, or runtime/default.
	Profile string
	file    *seccomp.Profile
	// traced decides what the agents trace: the profile's, or runtime/default's without any capability (the
	// narrowest a container can get).
	traced *seccomp.Evaluator
}

func newSeccompCommand(to *trace.Options, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := &Options{Options: to, configFlags: configFlags}
	cmd := &cobra.Command{
		Use:   "seccomp PROFILE|runtime/default [POD...] [flags]",
		Short: "Report every call of the selected pods that a seccomp profile would deny",
		Long: `Trace the containers of the selected pods (selected as for trace) and report, as they happen, the system
calls a seccomp profile would deny: per container, the call, what it would get (EPERM, ENOSYS, a kill), how
often, when first, and an example with its arguments decoded. Nothing is enforced. The command fails (exit 1)
when any call would be denied, so that it can gate turning the profile on.

PROFILE is an OCI seccomp profile (JSON, as a kubelet Localhost profile, or kubectl swoll advise seccomp's
output), a Security Profiles Operator SeccompProfile (YAML or JSON), - for stdin, or runtime/default: the profile the container runtime applies for RuntimeDefault
(containerd's, as the version swoll pins ships it), computed for each container from its capabilities;
privileged containers get none.

Calls are decided as runc's filter would: argument rules (clone's namespace flags, personality, socket
families...) on the decoded arguments, runc's ENOSYS for calls newer than any the profile names. Only the
calls the profile does not allow whatever their arguments are traced, so a profile that fits costs little.`,
		Example: seccompExample,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("say which profile to check: a JSON file, - for stdin, or runtime/default")
			}
			return nil
		},
		RunE: trace.RunE(o),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 0 { // the profile: runtime/default or a file
				return []cobra.Completion{runtimedefault.Name}, cobra.ShellCompDirectiveDefault
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
	}
	f := cmd.Flags()
	o.AddSessionFlags(f)
	_ = f.MarkHidden("syscalls") // the profile decides what is traced
	return cmd
}

// Complete takes the profile argument, then trace's.
func (o *Options) Complete(c *cobra.Command, args []string) error {
	o.Profile = args[0]
	return o.Options.Complete(c, args[1:])
}

// Validate reads the profile, then checks trace's options.
func (o *Options) Validate() error {
	if len(o.Syscalls) > 0 {
		return errors.New("-s/--syscalls does not apply: the profile decides which calls are traced")
	}
	if o.Profile == runtimedefault.Name {
		e, err := seccomp.RuntimeDefault(nil)
		if err != nil {
			return err
		}
		o.traced = e
	} else {
		p, err := seccomp.Load(o.Profile, o.In)
		if err != nil {
			return err
		}
		o.file = p
		o.traced = seccomp.Compile(&p.LinuxSeccomp)
	}
	if len(o.traced.NotRunning(syscalls.AMD64))+len(o.traced.NotRunning(syscalls.ARM64)) == 0 {
		return fmt.Errorf("profile %s lets every call run: nothing to check", o.Profile)
	}
	return o.Options.Validate()
}

// Run traces until the session ends, reporting denials as they are found, then prints the table.
func (o *Options) Run(ctx context.Context) error {
	if o.file != nil {
		if u := o.traced.Unknown(); len(u) > 0 {
			_, _ = fmt.Fprintf(o.ErrOut, "swoll: warning: %s names calls neither architecture's table knows (the runtime ignores them): %s\n",
				o.Profile, termesc.String(strings.Join(u, ", ")))
		}
	} else {
		_, _ = fmt.Fprintf(o.ErrOut, "swoll: runtime/default is containerd %s's default profile\n", runtimedefault.Version())
	}
	evaluator, err := o.evaluator(ctx)
	if err != nil {
		return err
	}
	checker := seccomp.NewChecker(evaluator,
		func(d *seccomp.Denial) { _, _ = fmt.Fprintln(o.Out, seccomp.LiveLine(d)) },
		func(err error) { _, _ = fmt.Fprintf(o.ErrOut, "swoll: warning: %s\n", termesc.String(err.Error())) })
	var names []string
	for _, a := range syscalls.Arches {
		for _, n := range o.traced.NotRunning(a) {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	mode := trace.SessionMode{
		Syscalls: names,
		CheckSyscalls: func(arch string, _ []string) ([]string, error) {
			return o.traced.NotRunning(syscalls.Arch(arch)), nil
		},
	}
	if err := o.RunSession(ctx, checker, mode); err != nil {
		return err
	}
	if o.DryRun {
		return nil
	}
	denials := checker.Denials()
	if err := seccomp.WriteReport(o.Out, denials, o.Profile); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if len(denials) > 0 {
		return errors.New(seccomp.Summary(denials, o.Profile))
	}
	return nil
}

// evaluator returns how each container's calls are decided: the file's profile for all, or runtime/default
// for each container's capabilities.
func (o *Options) evaluator(ctx context.Context) (seccomp.EvaluatorFor, error) {
	if o.file != nil {
		e := o.traced
		return func(seccomp.Container, syscalls.Arch) (*seccomp.Evaluator, error) { return e, nil }, nil
	}
	client, err := o.client()
	if err != nil {
		return nil, err
	}
	return runtimeDefault(context.WithoutCancel(ctx), workload.NewResolver(client), o.warnf), nil
}

func (o *Options) warnf(format string, args ...any) {
	_, _ = fmt.Fprintf(o.ErrOut, "swoll: warning: "+format+"\n", args...)
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

// runtimeDefault decides each container's calls under the profile containerd would give it: from its
// securityContext's capabilities (the pod is read once), none for a privileged container. The merge loop
// calls it; evaluators are kept per capability set.
func runtimeDefault(ctx context.Context, pods *workload.Resolver, warnf func(string, ...any)) seccomp.EvaluatorFor {
	var mu sync.Mutex
	evaluators := map[string]*seccomp.Evaluator{}
	warned := map[string]bool{}
	return func(c seccomp.Container, _ syscalls.Arch) (*seccomp.Evaluator, error) {
		pod := pods.Pod(ctx, c.Namespace, c.Pod)
		caps, privileged, found := containerCapabilities(pod, c.Name)
		mu.Lock()
		defer mu.Unlock()
		if !found && !warned[c.String()] {
			warned[c.String()] = true
			warnf("%s: pod or container not readable: checked with containerd's default capabilities", termesc.String(c.String()))
		}
		if privileged {
			return nil, nil
		}
		key := strings.Join(caps, ",")
		if e, ok := evaluators[key]; ok {
			return e, nil
		}
		e, err := seccomp.RuntimeDefault(caps)
		if err != nil {
			return nil, err
		}
		evaluators[key] = e
		return e, nil
	}
}

// containerCapabilities reads a container's bounding capabilities as containerd computes them, and whether
// it is privileged; found is false when the pod or the container is not known (the defaults are returned).
func containerCapabilities(pod *corev1.Pod, name string) (caps []string, privileged, found bool) {
	if pod == nil {
		return runtimedefault.DefaultCapabilities(), false, false
	}
	var sc *corev1.SecurityContext
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		if c.Name == name {
			sc, found = c.SecurityContext, true
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			sc, found = c.SecurityContext, true
		}
	}
	if sc == nil {
		return runtimedefault.DefaultCapabilities(), false, found
	}
	if sc.Privileged != nil && *sc.Privileged {
		return nil, true, found
	}
	var add, drop []string
	if sc.Capabilities != nil {
		for _, c := range sc.Capabilities.Add {
			add = append(add, string(c))
		}
		for _, c := range sc.Capabilities.Drop {
			drop = append(drop, string(c))
		}
	}
	return runtimedefault.Capabilities(add, drop), false, found
}
