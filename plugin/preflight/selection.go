package preflight

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/swoll-dev/swoll/plugin/targets"
)

// whoAmITimeout bounds the SelfSubjectReview that names the user: the name is only an annotation.
const whoAmITimeout = 3 * time.Second

// CheckResolution refuses a selection that names pods that do not exist, matches no pod, or matches only pods
// that cannot be traced (not bound to a node yet, over, without the container -c names, on another node). Each
// refusal says how to wait for a pod instead (--wait).
func CheckResolution(res *targets.Resolution, sel *targets.Selection) error {
	if missing := targets.MissingPods(res.Pods, sel); len(missing) > 0 {
		where := "namespace " + sel.Namespace
		if sel.AllNamespaces {
			where = "any namespace"
		}
		noun := "pod"
		if len(missing) > 1 {
			noun = "pods"
		}
		return &Error{Msg: fmt.Sprintf("%s %s not found in %s%s", noun, quoteAll(missing), where, waitHint)}
	}
	if len(res.Pods) == 0 {
		return &Error{Msg: "no pods match " + sel.Describe() + waitHint}
	}
	if len(res.Targets) == 0 {
		var what []string
		if len(sel.Containers) > 0 {
			what = append(what, "has a container named "+strings.Join(sel.Containers, " or "))
		}
		if len(sel.Nodes) > 0 {
			what = append(what, "is on node "+strings.Join(sel.Nodes, " or "))
		}
		if len(what) == 0 {
			what = append(what, "is bound to a node and not over (Succeeded or Failed)")
		}
		return &Error{Msg: fmt.Sprintf("%d pod(s) match %s, but none %s%s", len(res.Pods), sel.Describe(), strings.Join(what, " and "), waitHint)}
	}
	return nil
}

// waitHint ends a refusal of a selection that a pod created later could match.
const waitHint = "; --wait waits for one"

// CheckFanOut refuses a selection whose pods run on more than maxNodes nodes (0: no limit): one agent per node
// would start on each, and so many takes an explicit --max-nodes.
func CheckFanOut(sel *targets.Selection, nodes, maxNodes int) error {
	if maxNodes <= 0 || nodes <= maxNodes {
		return nil
	}
	return &Error{Msg: fmt.Sprintf("%s runs on %d nodes: that would start %d agents, more than --max-nodes %d; "+
		"narrow the selection (-l, --node) or pass --max-nodes %d", sel.Describe(), nodes, nodes, maxNodes, nodes)}
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// WhoAmI names the user for the agent pods' annotations: the API server's view when it can tell, else the
// local user.
func WhoAmI(ctx context.Context, client kubernetes.Interface) string {
	ctx, cancel := context.WithTimeout(ctx, whoAmITimeout)
	defer cancel()
	r, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err == nil && r.Status.UserInfo.Username != "" {
		return r.Status.UserInfo.Username
	}
	for _, v := range []string{"USER", "USERNAME"} {
		if u := os.Getenv(v); u != "" {
			return u
		}
	}
	return "unknown"
}
