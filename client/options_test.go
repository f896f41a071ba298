package client

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/swoll-dev/swoll/internal/testutil"
	"github.com/swoll-dev/swoll/plugin/cmd/trace"
	"github.com/swoll-dev/swoll/plugin/session"
)

// cliOnly are kubectl swoll trace's flags that have no Options field, and why a Go caller does without them.
var cliOnly = map[string]string{
	"output":       "the format of the command's stdout: a Go caller receives typed events",
	"filename":     "a Trace spec fills the selection on the command line: a Go caller sets the options",
	"summary":      "the command's strace -c table on stderr: a Go caller has every event (plugin/tally aggregates them)",
	"metrics-addr": "the command's Prometheus endpoint: a Go program serves its own (plugin/metrics collects from events)",
	"replay":       "reads a recording without a cluster: a Go program decodes its JSON lines as event.Event",
}

// flagOptions pairs each of trace's session flags with its Options field: the same setting (not the default)
// given either way must make the same session.
var flagOptions = []struct {
	flag string
	args []string // on trace's command line, after the base selection
	set  func(*Options)
}{
	{"selector", []string{"-l", "app=db"}, func(o *Options) { o.LabelSelector = "app=db" }},
	{"field-selector", []string{"--field-selector", "status.phase=Running"}, func(o *Options) { o.FieldSelector = "status.phase=Running" }},
	{"all-namespaces", []string{"-A"}, func(o *Options) { o.AllNamespaces = true }},
	{"container", []string{"-c", "web,sidecar"}, func(o *Options) { o.Containers = []string{"web", "sidecar"} }},
	{"node", []string{"--node", "node-a"}, func(o *Options) { o.Nodes = []string{"node-a"} }},
	{"syscalls", []string{"-s", "openat,class:Network"}, func(o *Options) { o.Syscalls = []string{"openat", "class:Network"} }},
	{"duration", []string{"--duration", "30s"}, func(o *Options) { o.Duration = 30 * time.Second }},
	{"max-events", []string{"--max-events", "1000"}, func(o *Options) { o.MaxEvents = 1000 }},
	{"capture-data", []string{"--capture-data", "64"}, func(o *Options) { o.CaptureData = 64 }},
	{"image", []string{"--image", "registry.internal/swoll-agent@sha256:1"}, func(o *Options) { o.Image = "registry.internal/swoll-agent@sha256:1" }},
	{"agent-namespace", []string{"--agent-namespace", "swoll"}, func(o *Options) { o.AgentNamespace = "swoll" }},
	{"image-pull-policy", []string{"--image-pull-policy", "Always"}, func(o *Options) { o.PullPolicy = corev1.PullAlways }},
	{"dry-run", []string{"--dry-run"}, func(o *Options) { o.DryRun = io.Discard }},
	{"agent-deadline", []string{"--agent-deadline", "3h"}, func(o *Options) { o.AgentDeadline = 3 * time.Hour }},
	{"agent-timeout", []string{"--agent-timeout", "5m"}, func(o *Options) { o.AgentTimeout = 5 * time.Minute }},
	{"privileged", []string{"--privileged"}, func(o *Options) { o.Privileged = true }},
	{"cri-socket", []string{"--cri-socket", "/run/k3s/containerd/containerd.sock"}, func(o *Options) { o.CRISocket = "/run/k3s/containerd/containerd.sock" }},
	{"max-nodes", []string{"--max-nodes", "3"}, func(o *Options) { o.MaxNodes = 3 }},
	{"max-nodes", []string{"--max-nodes", "0"}, func(o *Options) { o.MaxNodes = -1 }}, // no limit
	{"max-rate", []string{"--max-rate", "500"}, func(o *Options) { o.MaxRate = 500 }},
	{"wait", []string{"--wait"}, func(o *Options) { o.Wait = true }},
}

// Every flag of `kubectl swoll trace` has an Options field, or is listed in cliOnly with the reason.
func TestEveryTraceFlagHasAnOption(t *testing.T) {
	mapped := map[string]bool{}
	for _, fo := range flagOptions {
		mapped[fo.flag] = true
	}
	cmd := trace.NewCommand(trace.NewOptions(genericclioptions.NewConfigFlags(true), genericiooptions.IOStreams{}, nil))
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		_, skip := cliOnly[f.Name]
		switch {
		case mapped[f.Name] && skip:
			t.Errorf("--%s is in cliOnly and has an option", f.Name)
		case !mapped[f.Name] && !skip:
			t.Errorf("--%s has no client option: add an Options field (and a flagOptions line), or list it in cliOnly", f.Name)
		}
		delete(mapped, f.Name)
		delete(cliOnly, f.Name) // only once: the test must see each listed flag exist
	})
	for name := range mapped {
		t.Errorf("flagOptions names --%s, which trace does not have", name)
	}
	for name := range cliOnly {
		t.Errorf("cliOnly names --%s, which trace does not have", name)
	}
}

// The defaults, and each flag against its option: the command line and the options make the same session.
func TestOptionsMatchTraceFlags(t *testing.T) {
	base := func(o *Options) { o.Namespace, o.LabelSelector = "shop", "app=web" } // the kubeconfig's namespace is shop
	baseArgs := []string{"-l", "app=web"}
	defaults := cliSession(t, baseArgs)
	if got := apiSession(t, base); !sameSession(t, "defaults", got, defaults) {
		t.Log("the options' zero values must mean the flags' defaults")
	}
	for _, fo := range flagOptions {
		name := strings.Join(fo.args, " ")
		t.Run(name, func(t *testing.T) {
			want := cliSession(t, append(append([]string{}, baseArgs...), fo.args...))
			if reflect.DeepEqual(want, defaults) {
				t.Fatalf("%s changes nothing in the session: pick a value other than the default", name)
			}
			got := apiSession(t, func(o *Options) { base(o); fo.set(o) })
			sameSession(t, name, got, want)
		})
	}
}

// cliSession is the session `kubectl swoll trace ARGS` runs, without its clients and outputs.
func cliSession(t *testing.T, args []string) session.Config {
	t.Helper()
	configFlags := genericclioptions.NewConfigFlags(true)
	o := trace.NewOptions(configFlags, genericiooptions.IOStreams{Out: io.Discard, ErrOut: io.Discard}, nil)
	c := trace.NewCommand(o)
	trace.AddConfigFlags(c.PersistentFlags(), configFlags)
	c.RunE = func(c *cobra.Command, a []string) error {
		if err := o.Complete(c, a); err != nil {
			return err
		}
		return o.Validate()
	}
	c.SetArgs(append([]string{"--kubeconfig", testutil.WriteFile(t, "kubeconfig", testutil.Kubeconfig)}, args...))
	c.SetOut(io.Discard)
	c.SetErr(io.Discard)
	if err := c.Execute(); err != nil {
		t.Fatalf("trace %v: %v", args, err)
	}
	return comparable(o.SessionConfig(nil, trace.SessionMode{}))
}

// apiSession is the session Run runs for the options set sets, without its clients and outputs.
func apiSession(t *testing.T, set func(*Options)) session.Config {
	t.Helper()
	o := Options{Config: &rest.Config{Host: "https://127.0.0.1:1"}}
	set(&o)
	cfg, err := o.session()
	if err != nil {
		t.Fatal(err)
	}
	return comparable(cfg)
}

// comparable clears what differs by caller and not by setting: clients, outputs, the command line, functions.
func comparable(c session.Config) session.Config {
	c.Client, c.StreamClient, c.REST, c.Transport = nil, nil, nil, nil
	c.Sink, c.Stderr, c.DryRunOut, c.OutputDropped, c.CheckSyscalls = nil, nil, nil, nil, nil
	c.Command, c.Force, c.Debug = "", nil, false
	for _, l := range []*[]string{&c.Selection.Pods, &c.Selection.Containers, &c.Selection.Nodes, &c.Syscalls} {
		if len(*l) == 0 {
			*l = nil // none given: the command line has an empty list where the options have nil
		}
	}
	return c
}

// sameSession reports each field in which got differs from want.
func sameSession(t *testing.T, name string, got, want session.Config) bool {
	t.Helper()
	same := true
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		if g, w := gv.Field(i).Interface(), wv.Field(i).Interface(); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: session.Config.%s is %#v from the options, %#v from the flags", name, gv.Type().Field(i).Name, g, w)
			same = false
		}
	}
	return same
}
