package trace

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/swoll-dev/swoll/callfilter"
	"github.com/swoll-dev/swoll/internal/testutil"
	"github.com/swoll-dev/swoll/plugin/agentns"
)

func TestSyscallSuggestion(t *testing.T) {
	err := checkSyscallsAnyArch([]string{"openat", "opnat"})
	if err == nil || !strings.Contains(err.Error(), `did you mean "openat"`) {
		t.Fatalf("%v", err)
	}
	if err := checkSyscallsAnyArch([]string{"openat", "class:FileSystem"}); err != nil {
		t.Fatal(err)
	}
	// open exists on amd64 only: fine before the nodes are known, refused for an arm64 node
	if err := checkSyscallsAnyArch([]string{"open"}); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveSyscalls("arm64", []string{"open"}); err == nil {
		t.Fatal("open resolved on arm64")
	}
	if _, err := resolveSyscalls("s390x", []string{"read"}); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("s390x: %v", err)
	}
}

// completeOnly parses args as `trace` does and runs Complete, not Run.
func completeOnly(t *testing.T, args []string) *Options {
	t.Helper()
	configFlags := genericclioptions.NewConfigFlags(true)
	o := NewOptions(configFlags, genericiooptions.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, nil)
	c := NewCommand(o)
	AddConfigFlags(c.Flags(), configFlags)
	c.RunE = func(c *cobra.Command, a []string) error { return o.Complete(c, a) }
	c.SetArgs(args)
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestCompleteMergesTraceFile(t *testing.T) {
	kc := testutil.WriteFile(t, "kubeconfig", testutil.Kubeconfig)
	tf := testutil.WriteFile(t, "trace.yaml", `apiVersion: tools.swoll.criticalstack.com/v1alpha1
kind: Trace
metadata: {name: t, namespace: swoll}
spec:
  syscalls: [execve, openat]
  labelSelector: {matchLabels: {app: nginx}}
  fieldSelector: {matchLabels: {status.phase: Running}}
  hostSelector: [node-a]
  duration: 1m
`)
	tests := []struct {
		name  string
		args  []string
		check func(*testing.T, *Options)
	}{
		{"file only", []string{"-f", tf}, func(t *testing.T, o *Options) {
			if o.namespace != "swoll" || o.LabelSelector != "app=nginx" || o.FieldSelector != "status.phase=Running" ||
				strings.Join(o.Syscalls, ",") != "execve,openat" || strings.Join(o.Nodes, ",") != "node-a" || o.Duration != time.Minute {
				t.Fatalf("%+v", o)
			}
			if o.AgentNamespace != "swoll" {
				t.Fatalf("agent namespace %q", o.AgentNamespace)
			}
		}},
		{"flags win", []string{"-f", tf, "-n", "other", "-l", "app=db", "-s", "read", "--duration", "5s", "--agent-namespace", "tools"}, func(t *testing.T, o *Options) {
			if o.namespace != "other" || o.LabelSelector != "app=db" || strings.Join(o.Syscalls, ",") != "read" ||
				o.Duration != 5*time.Second || o.AgentNamespace != "tools" || o.FieldSelector != "status.phase=Running" {
				t.Fatalf("%+v", o)
			}
		}},
		{"kubeconfig namespace, repeated and comma lists", []string{"-l", "a=b", "-s", "read,write", "-s", "openat", "-c", "app", "-c", "side,car", "--node", "n1,n2"}, func(t *testing.T, o *Options) {
			if o.namespace != "shop" || o.AgentNamespace != "shop" || strings.Join(o.Syscalls, ",") != "read,write,openat" ||
				strings.Join(o.Containers, ",") != "app,side,car" || strings.Join(o.Nodes, ",") != "n1,n2" {
				t.Fatalf("%+v", o)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := completeOnly(t, append([]string{"--kubeconfig", kc}, tc.args...))
			tc.check(t, o)
			if err := o.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Minute: "5m", time.Hour: "1h", 90 * time.Second: "1m30s", 90 * time.Minute: "1h30m", 30 * time.Second: "30s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// Pass: the command line recorded on the agents holds the trace's own flags and never a connection flag's
// value (credentials stay on the user's machine).
func TestCommandLineLeavesOutConnectionFlags(t *testing.T) {
	secret := []string{"s3cr3t-token", "hunter2", "https://10.0.0.9:6443", "/home/u/.kube/config", "ops-admin"}
	args := []string{"web-1", "-n", "shop", "-s", "openat,connect", "--token", secret[0], "--password=" + secret[1],
		"--server", secret[2], "--kubeconfig", secret[3], "--as", secret[4], "--duration", "30s"}
	configFlags := genericclioptions.NewConfigFlags(true).WithDeprecatedPasswordFlag()
	o := NewOptions(configFlags, genericiooptions.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, nil)
	c := NewCommand(o)
	AddConfigFlags(c.PersistentFlags(), configFlags) // as the root command holds them
	var got string
	c.RunE = func(c *cobra.Command, a []string) error { got = commandLine(c, a); return nil }
	c.SetArgs(args)
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, s := range secret {
		if strings.Contains(got, s) {
			t.Errorf("command line %q holds %q", got, s)
		}
	}
	for _, want := range []string{"web-1", "--syscalls=openat", "--syscalls=connect", "--duration=30s"} {
		if !strings.Contains(got, want) {
			t.Errorf("command line %q lacks %q", got, want)
		}
	}
}

// A Trace spec's filter fields apply unless their flags were given; the flags' own values are normalized.
func TestCompleteMergesTraceFileFilters(t *testing.T) {
	kc := testutil.WriteFile(t, "kubeconfig", testutil.Kubeconfig)
	tf := testutil.WriteFile(t, "trace.yaml", `kind: Trace
metadata: {name: t}
spec:
  labelSelector: {matchLabels: {app: nginx}}
  errnos: [ENOENT]
  paths: [/etc/hostname]
  decodeFds: 1
`)
	o := completeOnly(t, []string{"--kubeconfig", kc, "-f", tf})
	want := callfilter.Spec{Errnos: []string{"ENOENT"}, Paths: []string{"/etc/hostname"}, Fds: 1}
	if !reflect.DeepEqual(o.Calls, want) {
		t.Errorf("file only: %+v", o.Calls)
	}
	o = completeOnly(t, []string{"--kubeconfig", kc, "-f", tf, "--errno", "eacces", "-yy", "-Z"})
	want = callfilter.Spec{Failed: true, Errnos: []string{"EACCES"}, Paths: []string{"/etc/hostname"}, Fds: 2}
	if !reflect.DeepEqual(o.Calls, want) {
		t.Errorf("flags win: %+v", o.Calls)
	}
	if err := o.Validate(); err != nil {
		t.Error(err)
	}
	o.Calls.Succeeded = true
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "invalid filter") {
		t.Errorf("--failed --succeeded: %v", err)
	}
}

// The agent namespace set once (the environment here; the kubeconfig extension is package agentns's) comes
// between --agent-namespace and the targets' namespace.
func TestAgentNamespaceSetOnce(t *testing.T) {
	kc := testutil.WriteFile(t, "kubeconfig", testutil.Kubeconfig)
	tests := []struct {
		env  string
		args []string
		want string
	}{
		{"", []string{"-l", "a=b"}, "shop"},
		{"tracing", []string{"-l", "a=b"}, "tracing"},
		{"tracing", []string{"-l", "a=b", "--agent-namespace", "tools"}, "tools"},
	}
	for _, tc := range tests {
		t.Setenv(agentns.EnvVar, tc.env)
		o := completeOnly(t, append([]string{"--kubeconfig", kc}, tc.args...))
		if o.AgentNamespace != tc.want {
			t.Errorf("$%s=%q %v: agent namespace %q, want %q", agentns.EnvVar, tc.env, tc.args, o.AgentNamespace, tc.want)
		}
	}
}
