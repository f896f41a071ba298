package cmd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/swoll-dev/swoll/plugin/agentns"
	"github.com/swoll-dev/swoll/plugin/rbac"
)

const rbacLong = `Print the ClusterRoles kubectl swoll needs and the bindings that grant them to users, groups or
ServiceAccounts for a set of namespaces, as YAML ready for kubectl apply -f - (run that as someone who may grant
these roles). Nothing is sent to the cluster.

Where the pods to trace are (the NAMESPACE arguments, else -n or the kubeconfig's namespace; everywhere with -A),
the subjects only read pods and write one audit Event per traced pod: they cannot exec into, create or delete
anything there. Every write (the agents' Jobs and pods, pods/exec) is granted in the agent namespace alone: a
namespace of the agents' own that admits Pod Security level privileged, declared too unless
--with-namespace=false. The agent namespace is --agent-namespace, else $` + agentns.EnvVar + ` or the kubeconfig
context's ` + agentns.Extension + ` extension, else "` + agentns.Suggested + `".

--capture also grants data capture (--capture-data) in those namespaces: the virtual permission
"capture pods.swoll.dev" that kubectl swoll checks before it copies what processes read and write.`

const rbacExample = `  # alice may trace in shop and web; the agents run in the namespace "swoll"
  kubectl swoll rbac shop web --user alice --agent-namespace swoll | kubectl apply -f -

  # the group sre everywhere, with data capture
  kubectl swoll rbac -A --group sre --capture | kubectl apply -f -

  # a CI ServiceAccount in the current namespace
  kubectl swoll rbac --serviceaccount ci:tracer

  # the ClusterRoles alone (what deploy/rbac.yaml holds)
  kubectl swoll rbac --roles-only`

// NewRBACCommand builds `kubectl swoll rbac`.
func NewRBACCommand(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	var users, groups, serviceAccounts []string
	var rolesOnly bool
	g := rbac.Grant{Nodes: true, Namespace: true}
	cmd := &cobra.Command{
		Use:     "rbac [NAMESPACE...] (--user NAME | --group NAME | --serviceaccount NAMESPACE:NAME)... [--agent-namespace NAME] [--capture]",
		Short:   "Print the least-privilege Roles and bindings for who may trace where, for kubectl apply",
		Long:    rbacLong,
		Example: rbacExample,
		RunE: func(c *cobra.Command, args []string) error {
			if rolesOnly {
				return rbac.WriteManifest(streams.Out)
			}
			for _, u := range users {
				g.Subjects = append(g.Subjects, rbac.User(u))
			}
			for _, name := range groups {
				g.Subjects = append(g.Subjects, rbac.Group(name))
			}
			for _, s := range serviceAccounts {
				subject, err := rbac.ServiceAccount(s)
				if err != nil {
					return err
				}
				g.Subjects = append(g.Subjects, subject)
			}
			if err := completeGrant(&g, args, configFlags); err != nil {
				return err
			}
			if err := g.Validate(); err != nil {
				return err
			}
			if g.AgentsBesideTargets() {
				_, _ = fmt.Fprintf(streams.ErrOut, "swoll: warning: the agents would run in namespace %s, where the pods to trace are: "+
					"the subjects could then exec into, create and delete any pod there; a namespace of the agents' own "+
					"(--agent-namespace %s) keeps them to reading\n", g.AgentNamespace, agentns.Suggested)
			}
			return rbac.Write(streams.Out, g)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&users, "user", nil, "User who may trace (repeatable)")
	f.StringArrayVar(&groups, "group", nil, "Group whose members may trace (repeatable)")
	f.StringArrayVar(&serviceAccounts, "serviceaccount", nil, "ServiceAccount that may trace, as NAMESPACE:NAME (repeatable)")
	f.BoolVarP(&g.AllNamespaces, "all-namespaces", "A", false, "Let them trace pods in every namespace (ClusterRoleBindings where the targets are)")
	f.StringVar(&g.AgentNamespace, "agent-namespace", "", "Namespace of the agents (default: $"+agentns.EnvVar+", the kubeconfig context's "+agentns.Extension+" extension, else "+agentns.Suggested+")")
	f.BoolVar(&g.Capture, "capture", false, "Also grant data capture (--capture-data) where the targets are")
	f.BoolVar(&g.Nodes, "nodes", g.Nodes, "Also grant the optional cluster-wide reads of nodes and namespaces (swoll-nodes)")
	f.BoolVar(&g.Namespace, "with-namespace", g.Namespace, "Also declare the agent namespace, labelled for Pod Security level privileged")
	f.BoolVar(&rolesOnly, "roles-only", false, "Print only the ClusterRoles (deploy/rbac.yaml)")
	return cmd
}

// completeGrant fills in the namespaces: the targets from the arguments or -n (the kubeconfig's), the agents'
// from the flag or the setting made once, else the suggested namespace.
func completeGrant(g *rbac.Grant, args []string, configFlags *genericclioptions.ConfigFlags) error {
	switch {
	case g.AllNamespaces && len(args) > 0:
		return errors.New("NAMESPACE arguments cannot be combined with --all-namespaces")
	case len(args) > 0:
		g.TargetNamespaces = args
	case !g.AllNamespaces:
		ns, _, err := configFlags.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return fmt.Errorf("reading kubeconfig: %w", err)
		}
		g.TargetNamespaces = []string{ns}
	}
	if g.AgentNamespace == "" {
		ns, err := agentns.FromFlags(configFlags)
		if err != nil {
			return err
		}
		g.AgentNamespace = ns
	}
	if g.AgentNamespace == "" {
		g.AgentNamespace = agentns.Suggested
	}
	for _, s := range g.Subjects {
		if s.Kind == rbacv1.UserKind && strings.HasPrefix(s.Name, "system:serviceaccount:") {
			return fmt.Errorf("--user %s is a ServiceAccount: say --serviceaccount %s", s.Name,
				strings.TrimPrefix(s.Name, "system:serviceaccount:"))
		}
	}
	return nil
}
