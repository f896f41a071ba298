// Package complete answers shell completion for kubectl swoll from the live cluster and the syscall tables:
// namespaces (-n, --agent-namespace), pod names, label selectors (-l: keys, then the values the pods carry),
// nodes (--node), the containers of the chosen pods (-c), system calls with class: and group: sets (-s), errno
// names (--errno), and the kubeconfig's contexts, clusters and users.
//
// kubectl runs the kubectl_complete-swoll shim (on PATH) for `kubectl swoll ... <TAB>`; the shim runs
// `kubectl swoll __complete ARGS`, cobra parses the flags typed so far and calls the functions registered here.
// A completion never fails loudly: when the cluster cannot be asked, it offers nothing (and no file names).
package complete

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
)

// requestTimeout bounds the API requests of one completion: a shell waits for it.
const requestTimeout = 5 * time.Second

// Flag names the completions read from the command line typed so far.
const (
	flagSelector      = "selector"
	flagFieldSelector = "field-selector"
	flagAllNamespaces = "all-namespaces"
	flagNode          = "node"
)

// Source is where completions come from: the kubeconfig flags of the command line (-n, --context, ...) and a way
// to build a client from them. Tests replace Client.
type Source struct {
	Flags  genericclioptions.RESTClientGetter
	Client func() (kubernetes.Interface, error)
}

// NewSource completes from the cluster the kubeconfig flags point at.
func NewSource(flags genericclioptions.RESTClientGetter) *Source {
	s := &Source{Flags: flags}
	s.Client = func() (kubernetes.Interface, error) {
		cfg, err := flags.ToRESTConfig()
		if err != nil {
			return nil, err
		}
		cfg.Timeout = requestTimeout
		return kubernetes.NewForConfig(cfg)
	}
	return s
}

// Register attaches completions to every command of root by flag name (-n and the kubeconfig flags, -l, --node,
// -c, -s, -o, ...) and completes pod names as the arguments of commands whose usage takes PODs. A command that
// already completes a flag or its arguments keeps its own. It cannot fail: it only registers flags that exist, once.
func Register(root *cobra.Command, src *Source) {
	byFlag := map[string]cobra.CompletionFunc{
		"namespace":         src.Namespaces,
		"agent-namespace":   src.Namespaces,
		flagSelector:        src.LabelSelector,
		flagNode:            src.Nodes,
		"container":         src.Containers,
		"syscalls":          Syscalls,
		"errno":             Errnos,
		"context":           src.kubeconfigNames("context"),
		"cluster":           src.kubeconfigNames("cluster"),
		"user":              src.kubeconfigNames("user"),
		"output":            fixed("json", "cli"),
		"image-pull-policy": fixed("Always", "IfNotPresent", "Never"),
	}
	visit(root, func(c *cobra.Command) {
		if strings.Contains(c.Use, "POD") && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = src.Pods
		}
		for _, fs := range []*pflag.FlagSet{c.LocalNonPersistentFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if fn, ok := byFlag[f.Name]; ok {
					if _, exists := c.GetFlagCompletionFunc(f.Name); !exists {
						_ = c.RegisterFlagCompletionFunc(f.Name, fn) // the flag exists and had no function
					}
				}
				if f.Name == "filename" {
					_ = fs.SetAnnotation(f.Name, cobra.BashCompFilenameExt, []string{"yaml", "yml", "json"})
				}
			})
		}
	})
}

func visit(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		visit(sub, fn)
	}
}

// request gives one completion's API calls their deadline, under the command's context.
func request(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), requestTimeout)
}

// nothing is the answer when the cluster cannot be asked: no candidates, and no file names either.
func nothing(err error) ([]cobra.Completion, cobra.ShellCompDirective) {
	cobra.CompDebugln("swoll completion: "+err.Error(), false)
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// namespace is the namespace the command line selects ("" for every namespace with -A).
func (s *Source) namespace(cmd *cobra.Command) (string, error) {
	if all, err := cmd.Flags().GetBool(flagAllNamespaces); err == nil && all {
		return "", nil
	}
	ns, _, err := s.Flags.ToRawKubeConfigLoader().Namespace()
	return ns, err
}

// Namespaces completes namespace names.
func (s *Source) Namespaces(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cs, err := s.Client()
	if err != nil {
		return nothing(err)
	}
	ctx, cancel := request(cmd)
	defer cancel()
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nothing(err)
	}
	var out []cobra.Completion
	for _, ns := range list.Items {
		if strings.HasPrefix(ns.Name, toComplete) {
			out = append(out, cobra.CompletionWithDesc(ns.Name, string(ns.Status.Phase)))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// pods lists the pods the command line selects so far: its namespace (or all with -A), narrowed by -l,
// --field-selector and --node.
func (s *Source) pods(cmd *cobra.Command) ([]corev1.Pod, error) {
	ns, err := s.namespace(cmd)
	if err != nil {
		return nil, err
	}
	cs, err := s.Client()
	if err != nil {
		return nil, err
	}
	opts := metav1.ListOptions{}
	opts.LabelSelector, _ = cmd.Flags().GetString(flagSelector)
	opts.FieldSelector, _ = cmd.Flags().GetString(flagFieldSelector)
	ctx, cancel := request(cmd)
	defer cancel()
	list, err := cs.CoreV1().Pods(ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	nodes, _ := cmd.Flags().GetStringSlice(flagNode)
	pods := list.Items[:0]
	for _, p := range list.Items {
		if len(nodes) == 0 || slices.Contains(nodes, p.Spec.NodeName) {
			pods = append(pods, p)
		}
	}
	return pods, nil
}

// Pods completes pod names (not those already given), described by phase and node.
func (s *Source) Pods(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	pods, err := s.pods(cmd)
	if err != nil {
		return nothing(err)
	}
	var out []cobra.Completion
	for _, p := range pods {
		if strings.HasPrefix(p.Name, toComplete) && !slices.Contains(args, p.Name) {
			desc := string(p.Status.Phase)
			if p.Spec.NodeName != "" {
				desc += " on " + p.Spec.NodeName
			}
			out = append(out, cobra.CompletionWithDesc(p.Name, desc))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// Nodes completes the last element of a comma-separated list of node names.
func (s *Source) Nodes(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cs, err := s.Client()
	if err != nil {
		return nothing(err)
	}
	ctx, cancel := request(cmd)
	defer cancel()
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nothing(err)
	}
	names := make([]string, 0, len(list.Items))
	for _, n := range list.Items {
		names = append(names, n.Name)
	}
	return listItem(toComplete, names), cobra.ShellCompDirectiveNoFileComp
}

// Containers completes container names of the chosen pods: the pod names already given, else every pod the
// command line selects (-l, --field-selector, --node). Init and sidecar containers count.
func (s *Source) Containers(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	pods, err := s.pods(cmd)
	if err != nil {
		return nothing(err)
	}
	var names []string
	for _, p := range pods {
		if len(args) > 0 && !slices.Contains(args, p.Name) {
			continue
		}
		for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
			if !slices.Contains(names, c.Name) {
				names = append(names, c.Name)
			}
		}
	}
	slices.Sort(names)
	return listItem(toComplete, names), cobra.ShellCompDirectiveNoFileComp
}

// LabelSelector completes the last requirement of a label selector: a key the pods carry (followed by "="),
// then, after key= or key!=, the values they carry for it.
func (s *Source) LabelSelector(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	// the pods of the namespace, whatever the selector typed so far says
	ns, err := s.namespace(cmd)
	if err != nil {
		return nothing(err)
	}
	cs, err := s.Client()
	if err != nil {
		return nothing(err)
	}
	ctx, cancel := request(cmd)
	defer cancel()
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nothing(err)
	}
	done, term := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		done, term = toComplete[:i+1], toComplete[i+1:]
	}
	if i := strings.Index(term, "="); i >= 0 {
		key, op := strings.TrimRight(term[:i], "!"), term[:i+1]
		if strings.HasPrefix(term[i+1:], "=") { // key==value
			op = term[:i+2]
		}
		var values []string
		for _, p := range list.Items {
			if v, ok := p.Labels[key]; ok && !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
		slices.Sort(values)
		return withPrefix(done+op, term[len(op):], values), cobra.ShellCompDirectiveNoFileComp
	}
	var keys []string
	for _, p := range list.Items {
		for k := range p.Labels {
			if !slices.Contains(keys, k+"=") {
				keys = append(keys, k+"=")
			}
		}
	}
	slices.Sort(keys)
	return withPrefix(done, term, keys), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// kubeconfigNames completes the names of one kind of kubeconfig entry: context, cluster or user.
func (s *Source) kubeconfigNames(kind string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		raw, err := s.Flags.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return nothing(err)
		}
		var names []string
		switch kind {
		case "context":
			names = slices.Collect(maps.Keys(raw.Contexts))
		case "cluster":
			names = slices.Collect(maps.Keys(raw.Clusters))
		case "user":
			names = slices.Collect(maps.Keys(raw.AuthInfos))
		}
		slices.Sort(names)
		return withPrefix("", toComplete, names), cobra.ShellCompDirectiveNoFileComp
	}
}

// fixed completes one of a fixed set of values.
func fixed(values ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return withPrefix("", toComplete, values), cobra.ShellCompDirectiveNoFileComp
	}
}

// listItem completes the last element of a comma-separated list with names not already in it.
func listItem(toComplete string, names []string) []cobra.Completion {
	done, term := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		done, term = toComplete[:i+1], toComplete[i+1:]
	}
	have := strings.Split(done, ",")
	var left []string
	for _, n := range names {
		if !slices.Contains(have, n) {
			left = append(left, n)
		}
	}
	return withPrefix(done, term, left)
}

// withPrefix returns done+c for each candidate c that starts with term.
func withPrefix(done, term string, candidates []string) []cobra.Completion {
	var out []cobra.Completion
	for _, c := range candidates {
		if strings.HasPrefix(c, term) {
			out = append(out, done+c)
		}
	}
	return out
}
