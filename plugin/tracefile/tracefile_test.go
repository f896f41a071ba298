package tracefile

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/callfilter"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		doc       string
		wantErr   string
		labels    string
		fields    string
		syscalls  []string
		namespace string
		duration  time.Duration
		hosts     []string
	}{
		{
			name: "seed example",
			doc: `apiVersion: tools.swoll.criticalstack.com/v1alpha1
kind: Trace
metadata:
  name: trace-nginx
  namespace: swoll
spec:
  syscalls: [execve, openat]
  labelSelector:
    matchLabels:
      app: nginx
  fieldSelector:
    matchLabels:
      status.phase: Running
`,
			labels: "app=nginx", fields: "status.phase=Running", syscalls: []string{"execve", "openat"}, namespace: "swoll",
		},
		{
			name: "plain field selector string, expressions, duration, hosts",
			doc: `kind: Trace
metadata: {name: t}
spec:
  labelSelector:
    matchExpressions:
    - {key: tier, operator: In, values: [web, api]}
  fieldSelector: "spec.nodeName=node-a,status.phase!=Failed"
  duration: 30s
  hostSelector: [node-a]
`,
			labels: "tier in (api,web)", fields: "spec.nodeName=node-a,status.phase!=Failed", duration: 30 * time.Second,
			hosts: []string{"node-a"},
		},
		{
			name: "field selector expressions with one value",
			doc: `kind: Trace
spec:
  fieldSelector:
    matchLabels: {b: "2", a: "1"}
    matchExpressions:
    - {key: status.phase, operator: NotIn, values: [Failed]}
`,
			fields: "a=1,b=2,status.phase!=Failed",
		},
		{
			name:     "status is tolerated",
			doc:      "kind: Trace\nspec: {syscalls: [read]}\nstatus: {state: Running}\n",
			syscalls: []string{"read"},
		},
		{name: "wrong kind", doc: "kind: Pod\n", wantErr: `kind is "Pod"`},
		{name: "wrong group", doc: "apiVersion: v1\nkind: Trace\n", wantErr: `apiVersion "v1"`},
		{name: "typo in spec", doc: "kind: Trace\nspec:\n  labelSelecter: {}\n", wantErr: "labelSelecter"},
		{name: "sample rate refused", doc: "kind: Trace\nspec: {sampleRate: 10}\n", wantErr: "sampleRate"},
		{name: "bad duration", doc: "kind: Trace\nspec: {duration: soon}\n", wantErr: "spec.duration"},
		{name: "bad label operator", doc: "kind: Trace\nspec:\n  labelSelector:\n    matchExpressions: [{key: a, operator: Near}]\n", wantErr: "labelSelector"},
		{name: "field selector Exists", doc: "kind: Trace\nspec:\n  fieldSelector:\n    matchExpressions: [{key: a, operator: Exists}]\n", wantErr: "cannot be a field selector"},
		{name: "field selector In with two values", doc: "kind: Trace\nspec:\n  fieldSelector:\n    matchExpressions: [{key: a, operator: In, values: [web, api]}]\n", wantErr: "only In/NotIn with one value"},
		{name: "not yaml", doc: "kind: [", wantErr: "not a valid Trace"},
		{name: "failed and succeeded", doc: "kind: Trace\nspec: {failed: true, succeeded: true}\n", wantErr: "exclude each other"},
		{name: "bad errno", doc: "kind: Trace\nspec: {errnos: [ENOSUCH]}\n", wantErr: "ENOSUCH"},
		{name: "bad slowerThan", doc: "kind: Trace\nspec: {slowerThan: quick}\n", wantErr: "spec.slowerThan"},
		{name: "relative pathsUnder", doc: "kind: Trace\nspec: {pathsUnder: [etc]}\n", wantErr: "absolute"},
		{name: "decodeFds 3", doc: "kind: Trace\nspec: {decodeFds: 3}\n", wantErr: "-y"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Parse([]byte(tc.doc))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse error = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got, _ := tr.LabelSelector(); got != tc.labels {
				t.Errorf("LabelSelector = %q, want %q", got, tc.labels)
			}
			if got := tr.FieldSelector(); got != tc.fields {
				t.Errorf("FieldSelector = %q, want %q", got, tc.fields)
			}
			if strings.Join(tr.Spec.Syscalls, ",") != strings.Join(tc.syscalls, ",") {
				t.Errorf("Syscalls = %v, want %v", tr.Spec.Syscalls, tc.syscalls)
			}
			if tr.Metadata.Namespace != tc.namespace {
				t.Errorf("namespace = %q, want %q", tr.Metadata.Namespace, tc.namespace)
			}
			if tr.Duration() != tc.duration {
				t.Errorf("Duration = %s, want %s", tr.Duration(), tc.duration)
			}
			if strings.Join(tr.Spec.HostSelector, ",") != strings.Join(tc.hosts, ",") {
				t.Errorf("HostSelector = %v, want %v", tr.Spec.HostSelector, tc.hosts)
			}
		})
	}
}

// The spec's filter fields are a callfilter.Spec.
func TestFilterFields(t *testing.T) {
	tr, err := Parse([]byte(`kind: Trace
spec:
  failed: true
  errnos: [enoent, ECONNREFUSED]
  slowerThan: 1500us
  paths: [/etc/hostname]
  pathsUnder: [/var/log/]
  comms: [nginx]
  containerPids: [1]
  decodeFds: 2
`))
	if err != nil {
		t.Fatal(err)
	}
	f := tr.Filter()
	want := callfilter.Spec{Failed: true, Errnos: []string{"ENOENT", "ECONNREFUSED"}, SlowerThan: 1500 * time.Microsecond,
		Paths: []string{"/etc/hostname"}, PathsUnder: []string{"/var/log/"}, Comms: []string{"nginx"}, Pids: []int{1},
		Fds: 2}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("Filter() = %+v\nwant       %+v", f, want)
	}
	if tr, _ := Parse([]byte("kind: Trace\n")); !tr.Filter().IsZero() {
		t.Errorf("no filter fields: %+v", tr.Filter())
	}
}

func TestReadMissingFile(t *testing.T) {
	_, err := Read(t.TempDir() + "/nope.yaml")
	if err == nil || !strings.Contains(err.Error(), "reading trace file") {
		t.Fatalf("Read of a missing file: %v", err)
	}
}
