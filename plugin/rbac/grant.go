package rbac

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
)

// PodSecurityEnforceLabel is the namespace label of Pod Security admission; the agent namespace needs it at
// PrivilegedLevel (or no label, where the cluster's default is privileged).
const (
	PodSecurityEnforceLabel = "pod-security.kubernetes.io/enforce"
	PrivilegedLevel         = "privileged"
)

// serviceAccountPrefix is how the API server names a ServiceAccount as a user.
const serviceAccountPrefix = "system:serviceaccount:"

// Grant is who may trace where: the shipped roles bound to Subjects for TargetNamespaces (or every namespace)
// with the agents in AgentNamespace.
type Grant struct {
	Subjects         []rbacv1.Subject
	TargetNamespaces []string
	// AllNamespaces binds the target roles cluster-wide (sessions with --all-namespaces) instead.
	AllNamespaces  bool
	AgentNamespace string
	// Capture also grants data capture (swoll-capture) where the targets are.
	Capture bool
	// Nodes also grants the optional cluster-wide reads (swoll-nodes).
	Nodes bool
	// Namespace also declares the agent namespace, labelled for Pod Security level privileged.
	Namespace bool
}

// Validate says what is missing or malformed, in one line.
func (g *Grant) Validate() error {
	if len(g.Subjects) == 0 {
		return errors.New("say who may trace: --user, --group or --serviceaccount NAMESPACE:NAME")
	}
	for _, s := range g.Subjects {
		if s.Name == "" || s.Kind == rbacv1.ServiceAccountKind && s.Namespace == "" {
			return fmt.Errorf("invalid subject %s %q", s.Kind, s.Name)
		}
	}
	if !g.AllNamespaces && len(g.TargetNamespaces) == 0 {
		return errors.New("say where the pods to trace are: NAMESPACE arguments, -n, or --all-namespaces")
	}
	for _, ns := range append([]string{g.AgentNamespace}, g.TargetNamespaces...) {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return fmt.Errorf("invalid namespace %q: %s", ns, strings.Join(errs, "; "))
		}
	}
	return nil
}

// AgentsBesideTargets reports whether the agents would run in one of the target namespaces named: there the
// subjects may then exec into, create and delete any pod, which is what a namespace of the agents' own avoids.
// (With AllNamespaces the targets role only reads, everywhere: the writes stay in the agent namespace.)
func (g *Grant) AgentsBesideTargets() bool {
	for _, ns := range g.TargetNamespaces {
		if ns == g.AgentNamespace {
			return true
		}
	}
	return false
}

// Objects are what Grant needs besides the ClusterRoles: the agent Namespace (when asked for) and one binding
// per role and subject (and namespace), named after the role and the subject so that grants to different
// subjects never overwrite each other.
func (g *Grant) Objects() []runtime.Object {
	var out []runtime.Object
	if g.Namespace {
		ns := &corev1.Namespace{}
		ns.APIVersion, ns.Kind = "v1", "Namespace"
		ns.Name = g.AgentNamespace
		ns.Labels = copyMap(Label)
		ns.Labels[PodSecurityEnforceLabel] = PrivilegedLevel
		out = append(out, ns)
	}
	targets := sorted(g.TargetNamespaces)
	for _, role := range Roles {
		switch {
		case role.Name == CaptureRole && !g.Capture, role.Name == NodesRole && !g.Nodes:
			continue
		}
		for _, s := range g.Subjects {
			name := BindingName(role.Name, s)
			switch {
			case role.Scope == ClusterWide, role.Scope == InTargetNamespaces && g.AllNamespaces:
				out = append(out, clusterRoleBinding(name, role.Name, s))
			case role.Scope == InAgentNamespace:
				out = append(out, roleBinding(g.AgentNamespace, name, role.Name, s))
			default:
				for _, ns := range targets {
					out = append(out, roleBinding(ns, name, role.Name, s))
				}
			}
		}
	}
	return out
}

func sorted(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range list {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func roleBinding(namespace, name, role string, s rbacv1.Subject) *rbacv1.RoleBinding {
	b := &rbacv1.RoleBinding{
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects: []rbacv1.Subject{s},
	}
	b.APIVersion, b.Kind = rbacv1.SchemeGroupVersion.String(), "RoleBinding"
	b.Name, b.Namespace, b.Labels = name, namespace, copyMap(Label)
	return b
}

func clusterRoleBinding(name, role string, s rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	b := &rbacv1.ClusterRoleBinding{
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects: []rbacv1.Subject{s},
	}
	b.APIVersion, b.Kind = rbacv1.SchemeGroupVersion.String(), "ClusterRoleBinding"
	b.Name, b.Labels = name, copyMap(Label)
	return b
}

// unsafeNameChars are what a binding's name may not hold (RBAC names are path segments; kept readable).
var unsafeNameChars = regexp.MustCompile(`[^a-z0-9.:@-]+`)

// maxBindingName keeps names well inside the API's limit (253), hash suffix included.
const maxBindingName = 200

// BindingName is role:subject (role:group:NAME, role:sa:NAMESPACE:NAME for groups and ServiceAccounts); a
// subject name that is not already tidy (OIDC names hold slashes, say) gets a short hash of itself appended so
// that two names tidied alike still differ.
func BindingName(role string, s rbacv1.Subject) string {
	key := s.Name
	switch s.Kind {
	case rbacv1.GroupKind:
		key = "group:" + s.Name
	case rbacv1.ServiceAccountKind:
		key = "sa:" + s.Namespace + ":" + s.Name
	}
	tidy := strings.Trim(unsafeNameChars.ReplaceAllString(strings.ToLower(key), "-"), "-")
	if tidy != key || len(role)+1+len(tidy) > maxBindingName {
		sum := sha256.Sum256([]byte(s.Kind + "/" + key))
		if limit := maxBindingName - len(role) - 10; len(tidy) > limit {
			tidy = tidy[:limit]
		}
		tidy += "-" + hex.EncodeToString(sum[:])[:8]
	}
	return role + ":" + tidy
}

// User, Group and ServiceAccount are subjects as kubectl create rolebinding's --user, --group and
// --serviceaccount NAMESPACE:NAME name them.
func User(name string) rbacv1.Subject {
	return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}
}

func Group(name string) rbacv1.Subject {
	return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: name}
}

// ServiceAccount parses NAMESPACE:NAME.
func ServiceAccount(nsName string) (rbacv1.Subject, error) {
	ns, name, ok := strings.Cut(nsName, ":")
	if !ok || ns == "" || name == "" || strings.Contains(name, ":") {
		return rbacv1.Subject{}, fmt.Errorf("invalid --serviceaccount %q: want NAMESPACE:NAME", nsName)
	}
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}, nil
}

// SubjectOf is the subject the API server's user name stands for: a ServiceAccount for
// system:serviceaccount:NS:NAME, else a user.
func SubjectOf(username string) rbacv1.Subject {
	if rest, ok := strings.CutPrefix(username, serviceAccountPrefix); ok {
		if s, err := ServiceAccount(rest); err == nil {
			return s
		}
	}
	return User(username)
}

// Command is the `kubectl swoll rbac` command line that prints g (to pipe into kubectl apply -f -), for
// messages that say how to fix a missing right.
func Command(g Grant) string {
	parts := []string{"kubectl", "swoll", "rbac"}
	if g.AllNamespaces {
		parts = append(parts, "-A")
	} else {
		for _, ns := range sorted(g.TargetNamespaces) {
			parts = append(parts, shellQuote(ns))
		}
	}
	for _, s := range g.Subjects {
		switch s.Kind {
		case rbacv1.GroupKind:
			parts = append(parts, "--group", shellQuote(s.Name))
		case rbacv1.ServiceAccountKind:
			parts = append(parts, "--serviceaccount", shellQuote(s.Namespace+":"+s.Name))
		default:
			parts = append(parts, "--user", shellQuote(s.Name))
		}
	}
	parts = append(parts, "--agent-namespace", shellQuote(g.AgentNamespace))
	if g.Capture {
		parts = append(parts, "--capture")
	}
	return strings.Join(parts, " ")
}

// plainWord is what a POSIX shell takes literally.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`)

func shellQuote(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
