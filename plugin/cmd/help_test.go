package cmd

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Every command a person runs shows examples in its help (kubectl's sample-cli-plugin style), each example a
// kubectl swoll command line, and --help prints them.
func TestEveryCommandHasExamples(t *testing.T) {
	root := NewRootCommand(genericiooptions.NewTestIOStreamsDiscard(), nil)
	root.InitDefaultHelpCmd()
	var visit func(c *cobra.Command)
	checked := 0
	visit = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Parent() != nil && c.Parent().Name() == "completion" {
			return
		}
		checked++
		// "kubectl swoll trace ...", "kubectl swoll advise seccomp ...", or "kubectl-swoll completion bash" (a
		// script for the binary itself)
		if c != root && !strings.Contains(c.Example, strings.TrimPrefix(c.CommandPath(), "kubectl ")) {
			t.Errorf("%s: no example of itself in its help:\n%s", c.CommandPath(), c.Example)
		}
		if c == root && !strings.Contains(c.Example, "kubectl swoll trace") {
			t.Errorf("kubectl swoll --help has no example:\n%s", c.Example)
		}
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(root)
	if checked < 8 { // root, trace, top, report, cleanup, version, image, completion
		t.Errorf("checked %d commands, want at least 8", checked)
	}
	code, stdout, _ := run(t, "version", "--help")
	if code != 0 || !strings.Contains(stdout, "Examples:\n  # ") {
		t.Errorf("kubectl swoll version --help: exit %d, no Examples section:\n%s", code, stdout)
	}
}
