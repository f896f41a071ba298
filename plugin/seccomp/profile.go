package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"sigs.k8s.io/yaml"

	"github.com/swoll-dev/swoll/plugin/seccomp/runtimedefault"
	"github.com/swoll-dev/swoll/syscalls"
)

// Profile is an OCI seccomp profile (runtime-spec's LinuxSeccomp, the file a kubelet's Localhost profile
// names) with swoll's record of where it was learned. Runtimes read the JSON into LinuxSeccomp and ignore
// the other keys.
type Profile struct {
	specs.LinuxSeccomp
	// Comment says in a sentence what the profile was learned from.
	Comment string   `json:"comment,omitempty"`
	Learned *Learned `json:"learned,omitempty"`
}

// Learned is what advise saw: the workload, its pods, when, and how often each call was made.
type Learned struct {
	Namespace string `json:"namespace"`
	// Workload is the pods' owner, "Deployment/web" (a ReplicaSet's Deployment), or "Pod/name".
	Workload  string    `json:"workload"`
	Container string    `json:"container"`
	Pods      []string  `json:"pods"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Duration  string    `json:"duration"`
	// Arches are the architectures the calls were seen on (Go's names).
	Arches []string `json:"arches"`
	// Calls counts each call seen, merged across pods and architectures.
	Calls map[string]uint64 `json:"calls"`
	// Runtime lists the calls allowed for the container runtime's start that the trace did not see (the
	// documented set in runtime.go).
	Runtime []string `json:"runtime,omitempty"`
}

// Actions a profile may use, and whether a call given it runs.
var actions = map[specs.LinuxSeccompAction]bool{
	specs.ActAllow: true, specs.ActLog: true, specs.ActErrno: false, specs.ActKill: false,
	specs.ActKillProcess: false, specs.ActKillThread: false, specs.ActTrap: false, specs.ActTrace: false,
	// a user-space agent decides; nothing swoll can predict
	specs.ActNotify: true,
}

// operators a rule's argument condition may use.
var operators = map[specs.LinuxSeccompOperator]bool{
	specs.OpNotEqual: true, specs.OpLessThan: true, specs.OpLessEqual: true, specs.OpEqualTo: true,
	specs.OpGreaterEqual: true, specs.OpGreaterThan: true, specs.OpMaskedEqual: true,
}

// maxArgs is how many arguments a system call has at most (what a condition's index may reach).
const maxArgs = 6

// maxProfileBytes bounds what Load reads: the largest real profiles are tens of kilobytes.
const maxProfileBytes = 4 << 20

// Load reads a profile from a JSON file ("-" for r) and checks it as runc would.
func Load(path string, r io.Reader) (*Profile, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(r, maxProfileBytes+1))
	} else {
		data, err = readFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the profile: %w", err)
	}
	if len(data) > maxProfileBytes {
		return nil, fmt.Errorf("profile %s: larger than %d bytes", path, maxProfileBytes)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return io.ReadAll(io.LimitReader(f, maxProfileBytes+1))
}

// Parse decodes a profile, OCI JSON or a SeccompProfile resource (YAML or JSON: its spec), and checks its
// actions, operators and argument indexes.
func Parse(data []byte) (*Profile, error) {
	trimmed := bytes.TrimSpace(data)
	if (len(trimmed) > 0 && trimmed[0] != '{') || bytes.Contains(data, []byte(SPOKind)) {
		if p, ok, err := parseSPO(data); ok || err != nil {
			return p, err
		}
	}
	var p Profile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&p); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			return nil, fmt.Errorf("not JSON: %w (at byte %d)", err, syn.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return nil, errors.New("not JSON: the text ends before the profile does")
		}
		return nil, fmt.Errorf("not a seccomp profile: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// parseSPO reads a Security Profiles Operator SeccompProfile (YAML or JSON) as the profile its spec is; ok
// is false for anything else.
func parseSPO(data []byte) (p *Profile, ok bool, err error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, false, nil // not YAML either: the JSON decoder says why
	}
	var r SeccompProfile
	if json.Unmarshal(j, &r) != nil || r.Kind != SPOKind {
		return nil, false, nil
	}
	p = &Profile{LinuxSeccomp: specs.LinuxSeccomp{DefaultAction: r.Spec.DefaultAction,
		Architectures: r.Spec.Architectures, Syscalls: r.Spec.Syscalls}}
	if err := p.Validate(); err != nil {
		return nil, true, fmt.Errorf("SeccompProfile %s: %w", r.Metadata.Name, err)
	}
	return p, true, nil
}

// Validate checks what runc would refuse.
func (p *Profile) Validate() error {
	if p.DefaultAction == "" {
		return errors.New("no defaultAction: neither an OCI seccomp profile nor a SeccompProfile resource")
	}
	if _, ok := actions[p.DefaultAction]; !ok {
		return fmt.Errorf("unknown defaultAction %q", p.DefaultAction)
	}
	for i, s := range p.Syscalls {
		if len(s.Names) == 0 {
			return fmt.Errorf("syscalls[%d]: no names", i)
		}
		for _, n := range s.Names {
			if strings.TrimSpace(n) == "" {
				return fmt.Errorf("syscalls[%d]: an empty name", i)
			}
		}
		if _, ok := actions[s.Action]; !ok {
			return fmt.Errorf("syscalls[%d] (%s): unknown action %q", i, s.Names[0], s.Action)
		}
		for _, a := range s.Args {
			if a.Index >= maxArgs {
				return fmt.Errorf("syscalls[%d] (%s): argument index %d: a call has at most %d arguments", i, s.Names[0], a.Index, maxArgs)
			}
			if !operators[a.Op] {
				return fmt.Errorf("syscalls[%d] (%s): unknown operator %q", i, s.Names[0], a.Op)
			}
		}
	}
	return nil
}

// JSON is the profile as the file a runtime reads, indented, with a final newline.
func (p *Profile) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Open reads a profile by the name a user gives and compiles it: runtime/default (containerd's, for the
// bounding capabilities caps, on each architecture), a JSON file, or "-" for r.
func Open(name string, r io.Reader, caps []string) (*Evaluator, error) {
	if name == runtimedefault.Name {
		return RuntimeDefault(caps)
	}
	p, err := Load(name, r)
	if err != nil {
		return nil, err
	}
	return Compile(&p.LinuxSeccomp), nil
}

// RuntimeDefault compiles runtime/default for the bounding capabilities caps: each architecture's own.
func RuntimeDefault(caps []string) (*Evaluator, error) {
	byArch := map[syscalls.Arch]*specs.LinuxSeccomp{}
	for _, a := range syscalls.Arches {
		p, err := runtimedefault.For(a, caps)
		if err != nil {
			return nil, err
		}
		byArch[a] = p
	}
	return CompileByArch(byArch), nil
}
