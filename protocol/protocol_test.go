package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

// A Start says the protocol version its writer was built with, whatever the field held.
func TestStartIsWrittenWithTheVersion(t *testing.T) {
	for _, c := range []Command{
		{Op: OpStart, Start: &Start{Node: "n"}},
		{Op: OpStart, Start: &Start{Node: "n", Version: 1}},
	} {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back Command
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.Op != "start" || back.Start == nil || back.Start.Version != Version || back.Start.Node != "n" {
			t.Errorf("%s read back as %+v", b, back.Start)
		}
	}
}

// An agent's refusal names both versions, a missing one as protocol 1's.
func TestVersionMismatch(t *testing.T) {
	for plugin, want := range map[int]string{0: "plugin protocol 1:", 1: "plugin protocol 1:", 3: "plugin protocol 3:"} {
		if msg := VersionMismatch(plugin).Error(); !strings.Contains(msg, "this agent speaks protocol 2 and the "+want) {
			t.Errorf("VersionMismatch(%d) = %q", plugin, msg)
		}
	}
}

func TestPodSelects(t *testing.T) {
	p := Pod{Containers: []Container{{Name: "web", Kind: KindRegular}, {Name: "init", Kind: KindInit}}}
	if !p.Selects("anything") {
		t.Error("a pod without -c does not select every container")
	}
	p.Select = []string{"web"}
	if !p.Selects("web") || p.Selects("init") || p.Selects("") {
		t.Errorf("-c web selects web %v, init %v, unnamed %v", p.Selects("web"), p.Selects("init"), p.Selects(""))
	}
	if c := p.Container("init"); c == nil || c.Kind != KindInit {
		t.Errorf("Container(init) = %+v", c)
	}
	if p.Container("nope") != nil {
		t.Error("Container(nope) found one")
	}
}
