package top

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/cmd/trace"
)

// run runs `top args...` in-process (no cluster: these are replays and input errors).
func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := NewCommand(trace.NewOptions(genericclioptions.NewConfigFlags(false),
		genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, nil))
	c.SetArgs(args)
	c.SetOut(&out)
	c.SetErr(&errOut)
	c.SilenceUsage, c.SilenceErrors = true, true
	err = c.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

const recorded = "testdata/recording.jsonl"

// TestReplayPlain: one plain table per recorded interval, then the summary that merges the replicas and
// names the one holding the errors.
func TestReplayPlain(t *testing.T) {
	out, stderr, err := run(t, "--replay", recorded, "--no-ui", "--interval", "1s")
	if err != nil {
		t.Fatalf("%v (stderr %q)", err, stderr)
	}
	for _, want := range []string{
		"CALLS/S", "shop/api-1", "ETIMEDOUT", // the tables
		"% time", "140        40 connect", "(merged across 2 pods)", // the summary
		"replicas that stand out:\n  shop/api-1 (app): 40 of the 40 connect ETIMEDOUT errors",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n--- "); n != 1 || !strings.HasPrefix(out, "--- ") {
		t.Errorf("want 2 tables (one per recorded second), got:\n%s", out)
	}
}

// TestReplayJSON: -o json writes one merged snapshot per interval on stdout (a recording again), the summary
// on stderr.
func TestReplayJSON(t *testing.T) {
	out, stderr, err := run(t, "--replay", recorded, "-o", "json", "--interval", "1s")
	if err != nil {
		t.Fatal(err)
	}
	var calls uint64
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l event.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Snapshot == nil {
			t.Fatalf("line %q: not a snapshot (%v)", sc.Text(), err)
		}
		lines++
		for _, r := range l.Snapshot.Rows {
			calls += r.Calls
		}
	}
	if lines != 2 || calls != 147 {
		t.Errorf("%d snapshots with %d calls, want 2 with 147", lines, calls)
	}
	if !strings.Contains(stderr, "% time") {
		t.Errorf("no summary on stderr: %q", stderr)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--replay", recorded, "-o", "yaml"}, `invalid -o/--output "yaml": want table or json`},
		{[]string{"--replay", recorded, "--interval", "10ms"}, "invalid --interval 10ms: must be at least 100ms"},
		{[]string{"--replay", recorded, "--rows", "-1"}, "invalid --rows -1"},
		{[]string{"--replay", recorded, "-l", "app=x"}, "cannot be combined with pod names or selectors"},
		{[]string{"--replay", "testdata/missing.jsonl"}, "--replay: "},
		{[]string{"-s", "opnat", "-l", "app=x"}, "invalid -s/--syscalls"},
		{[]string{}, "say which pods to trace"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, _, err := run(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestSeccompProfileColumn: --seccomp-profile adds the summary's column of the calls the profile would deny.
func TestSeccompProfileColumn(t *testing.T) {
	profile := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["openat"],"action":"SCMP_ACT_ALLOW"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := run(t, "--replay", recorded, "--no-ui", "--interval", "1s", "--seccomp-profile", profile)
	if err != nil {
		t.Fatalf("%v (stderr %q)", err, stderr)
	}
	for _, want := range []string{"errors   outside syscall", "140        40       140 connect", "(outside: calls " + profile + " would deny"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if out, _, err := run(t, "--replay", recorded, "--no-ui", "--seccomp-profile", "runtime/default"); err != nil ||
		!strings.Contains(out, "(outside: calls runtime/default would deny") {
		t.Errorf("runtime/default: %v\n%s", err, out)
	}
	if _, _, err := run(t, "--replay", recorded, "--no-ui", "--seccomp-profile", "/nonexistent.json"); err == nil ||
		!strings.Contains(err.Error(), "--seccomp-profile: reading the profile") {
		t.Errorf("a missing profile: %v", err)
	}
}

// --latency=false reaches the agents' start command through the session's configuration; calls are timed by
// default.
func TestLatencyFlag(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		noLatency bool
	}{{nil, false}, {[]string{"--latency=false"}, true}, {[]string{"--latency"}, false}} {
		o := &Options{}
		c := NewCommand(trace.NewOptions(genericclioptions.NewConfigFlags(false), genericiooptions.IOStreams{}, nil))
		if err := c.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		o.Interval, o.Entries = time.Second, 0
		o.Latency, _ = c.Flags().GetBool("latency")
		mode := o.sessionMode()
		cfg := (&trace.Options{}).SessionConfig(nil, mode)
		if mode.NoLatency != tc.noLatency || cfg.NoLatency != tc.noLatency || !cfg.Count {
			t.Errorf("%v: mode %+v, session NoLatency %v; want %v", tc.args, mode, cfg.NoLatency, tc.noLatency)
		}
	}
}
