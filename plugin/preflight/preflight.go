// Package preflight checks, before a session creates anything, that it can succeed: the permissions it needs
// (SelfSubjectAccessReview), the namespaces, the agent namespace's Pod Security level, admission of an agent pod
// (a dry-run create), and that the selection matches pods bound to a node. Each refusal is an *Error: one line
// that says what is wrong and how to check or fix it.
//
// The checks hold no state; every function is safe for concurrent use.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/swoll-dev/swoll/plugin/agentns"
	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/apierr"
	"github.com/swoll-dev/swoll/plugin/rbac"
)

// Access is one permission the session needs.
type Access struct {
	Verb        string
	Group       string // API group ("" for the core group)
	Resource    string
	Subresource string
	// Namespace "" means cluster-wide (for --all-namespaces).
	Namespace string
	// Role is the shipped ClusterRole that grants it (package rbac).
	Role string
}

func (a Access) resource() string {
	if a.Group != "" {
		return a.Resource + "." + a.Group
	}
	return a.Resource
}

func (a Access) String() string {
	r := a.resource()
	if a.Subresource != "" {
		r += "/" + a.Subresource
	}
	return fmt.Sprintf("%s %s %s", a.Verb, r, where(a.Namespace))
}

func where(namespace string) string {
	if namespace == "" {
		return "cluster-wide"
	}
	return "in namespace " + namespace
}

// canI is the matching kubectl command, so that the message says how to check. kubectl auth can-i cannot name
// a resource of a group no API server serves (it drops the group): data capture is checked in the list of
// what one may do.
func (a Access) canI() string {
	if a.Role == rbac.CaptureRole {
		s := "kubectl auth can-i --list"
		if a.Namespace != "" {
			s += " -n " + a.Namespace
		}
		return s + " shows " + a.resource() + " [" + a.Verb + "]"
	}
	s := "kubectl auth can-i " + a.Verb + " " + a.resource()
	if a.Subresource != "" {
		s += " --subresource=" + a.Subresource
	}
	if a.Namespace == "" {
		return s + " -A"
	}
	return s + " -n " + a.Namespace
}

// Needs is what a session touches, and where: the namespaces say how to grant what is missing.
type Needs struct {
	// TargetNamespace is where the targets are ("" for all namespaces); AgentNamespace where the agents run.
	TargetNamespace, AgentNamespace string
	// Capture: the session copies data out of processes (--capture-data).
	Capture bool
	Access  []Access
}

// NeededAccess lists what a session touches: it lists and watches pods where the targets are; in the agent
// namespace it creates and deletes its agent Jobs, follows, deletes and execs into their pods, and submits one
// agent pod as a dry run (admission); with capture, it needs the data capture permission where the targets
// are. A dry run only reads. The shipped roles (package rbac, deploy/rbac.yaml) grant exactly this, plus the
// optional reads (nodes, namespaces, events, pod logs) and the audit Events, whose absence the session
// survives.
func NeededAccess(targetNamespace, agentNamespace string, dryRun, capture bool) Needs {
	n := Needs{TargetNamespace: targetNamespace, AgentNamespace: agentNamespace, Capture: capture && !dryRun}
	targets := func(verb string) Access {
		return Access{Verb: verb, Resource: "pods", Namespace: targetNamespace, Role: rbac.TargetsRole}
	}
	n.Access = []Access{targets("list"), targets("watch")}
	if dryRun {
		return n
	}
	agents := func(verb, group, resource, sub string) Access {
		return Access{Verb: verb, Group: group, Resource: resource, Subresource: sub, Namespace: agentNamespace, Role: rbac.AgentsRole}
	}
	n.Access = append(n.Access,
		agents("create", "batch", "jobs", ""),
		agents("list", "batch", "jobs", ""),
		agents("delete", "batch", "jobs", ""),
		agents("create", "", "pods", ""),
		agents("list", "", "pods", ""),
		agents("watch", "", "pods", ""),
		agents("delete", "", "pods", ""),
		agents("create", "", "pods", "exec"),
	)
	if n.Capture {
		n.Access = append(n.Access, Access{Verb: rbac.CaptureVerb, Group: rbac.CaptureGroup, Resource: rbac.CaptureResource,
			Namespace: targetNamespace, Role: rbac.CaptureRole})
	}
	return n
}

// CheckAccess asks the API server (SelfSubjectAccessReview, in parallel) whether every permission is granted
// and returns a one-line error naming the first that is not, with the command that grants it. When the server
// cannot answer (reviews disabled or forbidden), the check is skipped: the real calls will then fail with their
// own errors. The data capture permission is the exception: nothing else asks for it, so a review that cannot
// be answered refuses it.
func CheckAccess(ctx context.Context, client kubernetes.Interface, needs Needs) error {
	need := needs.Access
	allowed := make([]bool, len(need))
	reason := make([]string, len(need))
	errs := make([]error, len(need))
	var wg sync.WaitGroup
	for i, a := range need {
		wg.Add(1)
		go func() {
			defer wg.Done()
			review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: a.Namespace, Verb: a.Verb, Group: a.Group, Resource: a.Resource, Subresource: a.Subresource,
				},
			}}
			res, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			if err != nil {
				allowed[i] = a.Role != rbac.CaptureRole // unknown: let the real request decide
				errs[i] = err
				reason[i] = apierr.Message(err)
				return
			}
			allowed[i] = res.Status.Allowed
			reason[i] = res.Status.Reason
		}()
	}
	wg.Wait()
	for _, err := range errs {
		var ue *url.Error
		if errors.As(err, &ue) {
			return &Error{Msg: fmt.Sprintf("cannot reach the Kubernetes API server at %s: %v (check --kubeconfig, --context and --server)",
				hostOf(ue.URL), ue.Err), Err: err}
		}
	}
	for i, a := range need {
		if !allowed[i] {
			msg := denied(ctx, client, needs, a, reason[i])
			// the API server's authorizer said no: to a Go caller, as if the request itself had been refused
			forbidden := apierrors.NewForbidden(schema.GroupResource{Group: a.Group, Resource: a.Resource}, "", errors.New(msg))
			return &Error{Msg: msg, Err: forbidden}
		}
	}
	return nil
}

// denied is the line for a missing right: what, why (the authorizer's reason), how to check, and the
// command an administrator runs to grant what the session needs.
func denied(ctx context.Context, client kubernetes.Interface, needs Needs, a Access, reason string) string {
	user := WhoAmI(ctx, client)
	grant := rbac.Grant{Subjects: []rbacv1.Subject{rbac.SubjectOf(user)}, AgentNamespace: needs.AgentNamespace,
		Capture: needs.Capture, AllNamespaces: needs.TargetNamespace == ""}
	if needs.TargetNamespace != "" {
		grant.TargetNamespaces = []string{needs.TargetNamespace}
	}
	var msg string
	if a.Role == rbac.CaptureRole {
		msg = fmt.Sprintf("--capture-data copies what processes read and write, which needs its own permission: %s may not %s (check: %s)",
			user, a, a.canI())
	} else {
		msg = fmt.Sprintf("not allowed to %s (check: %s)", a, a.canI())
	}
	if reason != "" {
		msg += ": " + reason
	}
	fix := rbac.Command(grant) + " | kubectl apply -f -"
	if a.Role == rbac.AgentsRole && needs.AgentNamespace == needs.TargetNamespace {
		// the agents default to the targets' namespace: suggest a namespace of their own, not writes there
		grant.AgentNamespace = agentns.Suggested
		return msg + fmt.Sprintf("; the agents run in the targets' namespace unless told otherwise: give them one of their own "+
			"(an administrator runs %s | kubectl apply -f -), then pass --agent-namespace %s or export %s=%s",
			rbac.Command(grant), agentns.Suggested, agentns.EnvVar, agentns.Suggested)
	}
	return msg + "; an administrator grants what swoll needs with: " + fix
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return raw
}

// Error is a refusal found before anything was created: Msg is the line for the user; Err, when set, is the API
// server's answer behind it, which errors.Is, errors.As and apierrors.IsForbidden see through Unwrap.
type Error struct {
	Msg string
	Err error
}

func (e *Error) Error() string { return e.Msg }

func (e *Error) Unwrap() error { return e.Err }

// CheckNamespace fails clearly when a namespace does not exist; it returns the namespace when it could read it
// (nil when reading namespaces is not allowed, which is common and not an error).
func CheckNamespace(ctx context.Context, client kubernetes.Interface, name, role string) (*corev1.Namespace, error) {
	ns, err := client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil:
		return ns, nil
	case apierrors.IsNotFound(err) && role == "agent":
		return nil, &Error{Msg: fmt.Sprintf("agent namespace %q not found; create it for swoll's agents alone: "+
			"kubectl create namespace %s && kubectl label namespace %s %s=%s", name, name, name, PodSecurityEnforceLabel, rbac.PrivilegedLevel), Err: err}
	case apierrors.IsNotFound(err):
		return nil, &Error{Msg: fmt.Sprintf("%s namespace %q not found", role, name), Err: err}
	default:
		return nil, nil
	}
}

// PodSecurityEnforceLabel is the namespace label of Pod Security admission.
const PodSecurityEnforceLabel = rbac.PodSecurityEnforceLabel

// CheckPodSecurity refuses an agent namespace whose Pod Security level forbids the agent pods (nil ns: not
// readable, the dry-run create decides). They need level privileged even without privileged: true, for
// hostPID, the CRI socket (hostPath) and capabilities beyond the baseline set. targetNamespace is where the
// targets are ("" for all namespaces): a namespace of the targets is never asked to admit privileged pods,
// the message proposes a namespace of the agents' own instead.
func CheckPodSecurity(ns *corev1.Namespace, targetNamespace string) error {
	if ns == nil {
		return nil
	}
	level, ok := ns.Labels[PodSecurityEnforceLabel]
	if !ok || level == rbac.PrivilegedLevel {
		return nil
	}
	if ns.Name == targetNamespace {
		return &Error{Msg: fmt.Sprintf("the agents would run in the targets' namespace %q, whose Pod Security level %q refuses them "+
			"(they need privileged: hostPID, the CRI socket, BPF capabilities); leave it as it is and give the agents a namespace of their own: %s",
			ns.Name, level, ownNamespace(agentns.Suggested))}
	}
	msg := fmt.Sprintf("agent namespace %q enforces Pod Security level %q, but swoll's agents need %s (hostPID, the CRI socket, BPF capabilities); "+
		"if it is the agents' own: kubectl label namespace %s %s=%s --overwrite",
		ns.Name, level, rbac.PrivilegedLevel, ns.Name, PodSecurityEnforceLabel, rbac.PrivilegedLevel)
	if ns.Name != agentns.Suggested {
		msg += "; else give them one: " + ownNamespace(agentns.Suggested)
	}
	return &Error{Msg: msg}
}

// ownNamespace is how to make and use a namespace of the agents' own.
func ownNamespace(name string) string {
	return fmt.Sprintf("kubectl create namespace %s && kubectl label namespace %s %s=%s, then --agent-namespace %s (or export %s=%s)",
		name, name, PodSecurityEnforceLabel, rbac.PrivilegedLevel, name, agentns.EnvVar, name)
}

// DryRunCreate submits one agent Job, and the pod its controller would create, with dryRun=All so that
// admission (Pod Security, policy engines, quotas) rejects them now, before anything exists, rather than when
// the Job controller creates the pod (where the refusal would only be an event on the Job).
func DryRunCreate(ctx context.Context, client kubernetes.Interface, job *batchv1.Job) error {
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	_, err := client.BatchV1().Jobs(job.Namespace).Create(ctx, job, dry)
	if err == nil || apierrors.IsAlreadyExists(err) {
		pod := agentpod.Pod(job)
		_, err = client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, dry)
	}
	if err == nil || apierrors.IsAlreadyExists(err) {
		return nil
	}
	msg := apierr.Message(err)
	if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || strings.Contains(msg, "violates PodSecurity") {
		fix := ownNamespace(agentns.Suggested)
		if job.Namespace == agentns.Suggested {
			fix = fmt.Sprintf("kubectl label namespace %s %s=%s --overwrite, and let the cluster's admission policies exempt it",
				job.Namespace, PodSecurityEnforceLabel, rbac.PrivilegedLevel)
		}
		return &Error{Msg: fmt.Sprintf("the agent pod was refused in namespace %q: %s; swoll's agents need a namespace of their own "+
			"that admits Pod Security level privileged: %s", job.Namespace, msg, fix), Err: err}
	}
	return fmt.Errorf("checking the agent pod against admission (dry run): %w", err)
}
