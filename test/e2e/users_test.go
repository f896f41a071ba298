//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/swoll-dev/swoll/plugin/rbac"
)

// tracerUser is the user the plugin runs as (--as) in the whole suite, bound to the shipped roles the least-
// privilege way (as kubectl swoll rbac -A prints them): swoll-targets and swoll-nodes cluster-wide (it reads
// pods everywhere and writes nothing but audit Events), swoll-agents in each test's agent namespace only. So
// every test also checks that the shipped roles hold what the plugin needs, and that it needs no write where
// the targets are. SWOLL_E2E_AS overrides it ("-": no impersonation, the suite's admin).
var tracerUser = "swoll-e2e-tracer"

// clusterRoles are what tracerUser holds cluster-wide.
var clusterRoles = []string{rbac.TargetsRole, rbac.NodesRole}

// setUpTracerUser applies deploy/rbac.yaml, binds its cluster-wide roles to tracerUser and removes any other
// cluster-wide binding of that user (a run of an older suite on the shared cluster bound more).
func setUpTracerUser(ctx context.Context) error {
	if v := os.Getenv("SWOLL_E2E_AS"); v != "" {
		tracerUser = v
	}
	if tracerUser == "-" {
		tracerUser = ""
		return nil
	}
	manifest := filepath.Join(suite.root, "deploy", "rbac.yaml")
	if out, err := kubectl("apply", "-f", manifest).CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl apply -f %s: %w: %s", manifest, err, out)
	}
	subject := rbac.User(tracerUser)
	keep := map[string]bool{}
	for _, role := range clusterRoles {
		b := clusterBinding(role, subject)
		keep[b.Name] = true
		_, err := suite.cs.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("binding %s to %s: %w", role, tracerUser, err)
		}
	}
	all, err := suite.cs.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing cluster role bindings: %w", err)
	}
	for _, b := range all.Items {
		if keep[b.Name] || !bindsUser(b.Subjects, tracerUser) {
			continue
		}
		if err := suite.cs.RbacV1().ClusterRoleBindings().Delete(ctx, b.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("removing %s's stale binding %s: %w", tracerUser, b.Name, err)
		}
	}
	return nil
}

func bindsUser(subjects []rbacv1.Subject, user string) bool {
	for _, s := range subjects {
		if s.Kind == rbacv1.UserKind && s.Name == user {
			return true
		}
	}
	return false
}

// clusterBinding binds a shipped ClusterRole to subject cluster-wide, named as kubectl swoll rbac names it.
func clusterBinding(role string, subject rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + rbac.BindingName(role, subject), Labels: rbac.Label},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{subject},
	}
}

// createAgentNamespace makes a namespace for agents (Pod Security level privileged, as the README says) in
// which tracerUser gets the shipped agents role, and returns its name.
func (f *F) createAgentNamespace(name string) string {
	f.t.Helper()
	ns := f.createNamespace(name, map[string]string{rbac.PodSecurityEnforceLabel: rbac.PrivilegedLevel})
	if tracerUser != "" {
		f.bindRole(ns, rbac.AgentsRole, rbac.User(tracerUser))
	}
	return ns
}

// bindRole binds a shipped ClusterRole to subject in namespace ns (a RoleBinding, as kubectl swoll rbac
// prints it); it goes with the namespace.
func (f *F) bindRole(ns, role string, subject rbacv1.Subject) {
	f.t.Helper()
	b := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: rbac.BindingName(role, subject), Namespace: ns, Labels: rbac.Label},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{subject},
	}
	if _, err := suite.cs.RbacV1().RoleBindings(ns).Create(f.ctx, b, metav1.CreateOptions{}); err != nil {
		f.t.Fatalf("binding %s to %s in %s: %v", role, subject.Name, ns, err)
	}
	if role == rbac.AgentsRole && subject.Kind == rbacv1.UserKind {
		f.waitAllowed(subject.Name, ns, "create", "pods", "exec", "")
	}
}

// bindingTimeout bounds the wait for the authorizer to see a new binding (its informers lag a little).
const bindingTimeout = 30 * time.Second

// waitAllowed waits until a SubjectAccessReview allows user verb resource[/subresource] (of group) in ns.
func (f *F) waitAllowed(user, ns, verb, resource, subresource, group string) {
	f.t.Helper()
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user, Groups: []string{"system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Group: group, Resource: resource, Subresource: subresource},
	}}
	err := within(bindingTimeout, func(ctx context.Context) (bool, error) {
		r, err := suite.cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		return err == nil && r.Status.Allowed, nil
	}, "%s may %s %s/%s in %s", user, verb, resource, subresource, ns)
	if err != nil {
		f.t.Fatal(err)
	}
}

// bindUser gives another subject what tracerUser has, for the test's life: the cluster-wide reads and the
// agents role in the test's agent namespace.
func (f *F) bindUser(user string, subject rbacv1.Subject) {
	f.t.Helper()
	for _, role := range clusterRoles {
		f.bindClusterRole(user, role, subject)
	}
	f.bindRole(f.agents, rbac.AgentsRole, subject)
}

// bindClusterRole binds a shipped ClusterRole to subject cluster-wide for the test's life.
func (f *F) bindClusterRole(user, role string, subject rbacv1.Subject) {
	f.t.Helper()
	b := clusterBinding(role, subject)
	b.Name = uniqueName("e2e-" + user + "-" + role)
	if _, err := suite.cs.RbacV1().ClusterRoleBindings().Create(f.ctx, b, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		_ = suite.cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), b.Name, metav1.DeleteOptions{})
	})
}
