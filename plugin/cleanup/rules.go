package cleanup

import (
	"context"
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/swoll-dev/swoll/plugin/agentpod"
)

// Options say whose sessions Cleanup may end.
type Options struct {
	// User is the caller as the API server names it: the live sessions it started are removed.
	User string
	// Force removes other users' live sessions too.
	Force bool
	// Now is the time deadlines are judged against (default time.Now).
	Now func() time.Time
}

// Result says what Cleanup removed and what it left running.
type Result struct {
	// Removed are "pod/namespace/name" of the pods removed ("job/namespace/name" of the Jobs of a session that
	// had no pod left).
	Removed []string
	// Kept describes each live session of another user that was left alone.
	Kept []string
}

// sessionState is what Cleanup knows of one session's agents in one namespace.
type sessionState struct {
	ns, id, user string
	live         bool // an agent runs or may still run
	expired      bool // past the deadline in its annotations
	jobs         []string
}

// Cleanup removes the agents in namespace ("" for all namespaces) and waits until their pods are gone: those of
// sessions that are over (every Job and pod finished) or past their deadline, whoever started them; live ones
// only of the caller's own sessions (by the requested-by annotation), or of anyone's with Force. The live
// sessions it leaves are in Result.Kept.
func Cleanup(ctx context.Context, client kubernetes.Interface, namespace string, opts Options) (Result, error) {
	var res Result
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	sessions, err := listSessions(ctx, client, namespace, now())
	if err != nil {
		return res, err
	}
	for _, st := range sessions {
		mine := opts.User != "" && st.user == opts.User
		if st.live && !st.expired && !mine && !opts.Force {
			who := st.user
			if who == "" {
				who = "an unknown user"
			}
			res.Kept = append(res.Kept, fmt.Sprintf("session %s in namespace %s (%s) is live: left alone (--force ends it)", st.id, st.ns, who))
			continue
		}
		removed, err := DeleteAndWait(ctx, client, st.ns, agentpod.SessionSelector(st.id), 1, nil)
		for _, p := range removed {
			res.Removed = append(res.Removed, "pod/"+p)
		}
		if len(removed) == 0 {
			res.Removed = append(res.Removed, st.jobs...)
		}
		if err != nil {
			sort.Strings(res.Removed)
			return res, err
		}
	}
	sort.Strings(res.Removed)
	return res, nil
}

// listSessions groups the agent Jobs and pods in namespace by session, in a stable order.
func listSessions(ctx context.Context, client kubernetes.Interface, namespace string, now time.Time) ([]*sessionState, error) {
	list := metav1.ListOptions{LabelSelector: agentpod.AllAgentsSelector}
	jobs, err := client.BatchV1().Jobs(namespace).List(ctx, list)
	if err != nil {
		return nil, fmt.Errorf("listing agent jobs: %w", err)
	}
	pods, err := client.CoreV1().Pods(namespace).List(ctx, list)
	if err != nil {
		return nil, fmt.Errorf("listing agent pods: %w", err)
	}
	byKey := map[string]*sessionState{}
	get := func(meta *metav1.ObjectMeta) *sessionState {
		id := meta.Labels[agentpod.LabelSession]
		k := meta.Namespace + "/" + id
		st := byKey[k]
		if st == nil {
			st = &sessionState{ns: meta.Namespace, id: id}
			byKey[k] = st
		}
		if u := meta.Annotations[agentpod.AnnotationRequestedBy]; u != "" {
			st.user = u
		}
		if exp, err := time.Parse(time.RFC3339, meta.Annotations[agentpod.AnnotationExpires]); err == nil && now.After(exp) {
			st.expired = true
		}
		return st
	}
	for i := range jobs.Items {
		j := &jobs.Items[i]
		st := get(&j.ObjectMeta)
		st.jobs = append(st.jobs, "job/"+j.Namespace+"/"+j.Name)
		if !jobFinished(j) && j.DeletionTimestamp == nil {
			st.live = true
		}
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		st := get(&p.ObjectMeta)
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil {
			st.live = true
		}
	}
	out := make([]*sessionState, 0, len(byKey))
	for _, st := range byKey {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ns != out[j].ns {
			return out[i].ns < out[j].ns
		}
		return out[i].id < out[j].id
	})
	return out, nil
}

// jobFinished tells whether a Job completed or failed.
func jobFinished(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
