// Package preflight checks, before a session creates anything, that it can succeed: the permissions it needs
// (SelfSubjectAccessReview), the namespaces, the agent namespace's Pod Security level, admission of an agent pod
// (a dry-run create), and that the selection matches running containers. Each refusal is an *Error: one line
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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/apierr"
)

// Access is one permission the session needs.
type Access struct {
	Verb        string
	Group       string // API group ("" for the core group)
	Resource    string
	Subresource string
	// Namespace "" means cluster-wide (for --all-namespaces).
	Namespace string
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
	where := "in namespace " + a.Namespace
	if a.Namespace == "" {
		where = "cluster-wide"
	}
	return fmt.Sprintf("%s %s %s", a.Verb, r, where)
}

// canI is the matching kubectl command, so that the message says how to check.
func (a Access) canI() string {
	s := "kubectl auth can-i " + a.Verb + " " + a.resource()
	if a.Subresource != "" {
		s += " --subresource=" + a.Subresource
	}
	if a.Namespace == "" {
		return s + " -A"
	}
	return s + " -n " + a.Namespace
}

// NeededAccess lists what a session touches: it lists and watches pods where the targets are; in the agent
// namespace it creates and deletes its agent Jobs, follows, deletes and execs into their pods, and submits one
// agent pod as a dry run (admission). A dry run only reads. deploy/rbac.yaml grants exactly this (and the
// optional reads: nodes, namespaces, events, pod logs).
func NeededAccess(targetNamespace, agentNamespace string, dryRun bool) []Access {
	need := []Access{
		{Verb: "list", Resource: "pods", Namespace: targetNamespace},
		{Verb: "watch", Resource: "pods", Namespace: targetNamespace},
	}
	if dryRun {
		return need
	}
	return append(need,
		Access{Verb: "create", Group: "batch", Resource: "jobs", Namespace: agentNamespace},
		Access{Verb: "list", Group: "batch", Resource: "jobs", Namespace: agentNamespace},
		Access{Verb: "delete", Group: "batch", Resource: "jobs", Namespace: agentNamespace},
		Access{Verb: "create", Resource: "pods", Namespace: agentNamespace},
		Access{Verb: "list", Resource: "pods", Namespace: agentNamespace},
		Access{Verb: "watch", Resource: "pods", Namespace: agentNamespace},
		Access{Verb: "delete", Resource: "pods", Namespace: agentNamespace},
		Access{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: agentNamespace},
	)
}

// CheckAccess asks the API server (SelfSubjectAccessReview, in parallel) whether every permission is granted
// and returns a one-line error naming the first that is not. When the server cannot answer (reviews disabled
// or forbidden), the check is skipped: the real calls will then fail with their own errors.
func CheckAccess(ctx context.Context, client kubernetes.Interface, need []Access) error {
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
				allowed[i] = true // unknown: let the real request decide
				errs[i] = err
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
			msg := fmt.Sprintf("not allowed to %s (check: %s)", a, a.canI())
			if reason[i] != "" {
				msg += ": " + reason[i]
			}
			// the API server's authorizer said no: to a Go caller, as if the request itself had been refused
			forbidden := apierrors.NewForbidden(schema.GroupResource{Group: a.Group, Resource: a.Resource}, "", errors.New(msg))
			return &Error{Msg: msg, Err: forbidden}
		}
	}
	return nil
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
	case apierrors.IsNotFound(err):
		return nil, &Error{Msg: fmt.Sprintf("%s namespace %q not found", role, name), Err: err}
	default:
		return nil, nil
	}
}

// PodSecurityEnforceLabel is the namespace label of Pod Security admission.
const PodSecurityEnforceLabel = "pod-security.kubernetes.io/enforce"

// CheckPodSecurity refuses an agent namespace whose Pod Security level forbids the agent pods (nil ns: not
// readable, the dry-run create decides). They need level privileged even without privileged: true, for
// hostPID, the CRI socket (hostPath) and capabilities beyond the baseline set.
func CheckPodSecurity(ns *corev1.Namespace) error {
	if ns == nil {
		return nil
	}
	level, ok := ns.Labels[PodSecurityEnforceLabel]
	if !ok || level == "privileged" {
		return nil
	}
	return &Error{Msg: fmt.Sprintf("namespace %q enforces Pod Security level %q, but swoll's agent pods need level privileged (hostPID, the CRI socket, BPF capabilities); "+
		"use --agent-namespace NAME with a privileged namespace (e.g. kube-system), or: kubectl label ns %s %s=privileged --overwrite",
		ns.Name, level, ns.Name, PodSecurityEnforceLabel)}
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
		return &Error{Msg: fmt.Sprintf("the agent pod was refused in namespace %q: %s; "+
			"use --agent-namespace NAME with a namespace whose Pod Security level is privileged (e.g. kube-system)", job.Namespace, msg), Err: err}
	}
	return fmt.Errorf("checking the agent pod against admission (dry run): %w", err)
}
