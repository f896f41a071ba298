// Package tracefile reads the seed's `kind: Trace` documents (criticalstack/swoll) from a local file, so that
// specs written for the seed's operator can be run with `kubectl swoll trace -f`. There is no CRD: the file is
// only read here and turned into the same selection the flags express.
package tracefile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/yaml"

	"github.com/swoll-dev/swoll/callfilter"
)

// Kind is the only kind accepted.
const Kind = "Trace"

// APIVersions are the group versions accepted; an empty apiVersion is accepted too (hand-written files).
var APIVersions = []string{"tools.swoll.criticalstack.com/v1alpha1", "swoll.dev/v1alpha1"}

// Trace is the document. Status is accepted (a `kubectl get -o yaml` of the seed's object has one) and ignored.
type Trace struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   Metadata        `json:"metadata"`
	Spec       Spec            `json:"spec"`
	Status     json.RawMessage `json:"status,omitempty"`
}

// Metadata holds the two fields that matter here; labels and annotations are tolerated.
type Metadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Spec mirrors the seed's TraceSpec.
type Spec struct {
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
	FieldSelector *FieldSelector        `json:"fieldSelector,omitempty"`
	// HostSelector lists node names.
	HostSelector []string `json:"hostSelector,omitempty"`
	Syscalls     []string `json:"syscalls,omitempty"`
	// Duration is a Go duration string ("30s", "5m").
	Duration string `json:"duration,omitempty"`
	// SampleRate was a seed feature that swoll does not implement; a non-zero value is refused rather than
	// silently ignored.
	SampleRate int `json:"sampleRate,omitempty"`

	// The incident filters and fd display, swoll's additions (package callfilter; the flags of the same
	// meaning win over them): keep only the calls that failed (failed, kubectl swoll's --failed) or succeeded,
	// failed with one of errnos ("ENOENT"), took at least slowerThan (a Go duration, "1ms"), are on one of
	// paths (as strace -P) or under one of pathsUnder, were made by a task whose command name is one of comms
	// or by a process whose pid in its container is one of containerPids; decodeFds shows fds with their
	// paths (1, -y) and sockets with their addresses (2, -yy).
	Failed        bool     `json:"failed,omitempty"`
	Succeeded     bool     `json:"succeeded,omitempty"`
	Errnos        []string `json:"errnos,omitempty"`
	SlowerThan    string   `json:"slowerThan,omitempty"`
	Paths         []string `json:"paths,omitempty"`
	PathsUnder    []string `json:"pathsUnder,omitempty"`
	Comms         []string `json:"comms,omitempty"`
	ContainerPids []int    `json:"containerPids,omitempty"`
	DecodeFds     int      `json:"decodeFds,omitempty"`
}

// FieldSelector accepts both the seed's label-selector-shaped form (matchLabels/matchExpressions keyed by field
// paths) and a plain field selector string ("status.phase=Running,spec.nodeName=node-a").
type FieldSelector struct {
	Raw string
}

// UnmarshalJSON implements the two accepted shapes.
func (f *FieldSelector) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &f.Raw)
	}
	var ls metav1.LabelSelector
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ls); err != nil {
		return fmt.Errorf("fieldSelector: want a string or {matchLabels, matchExpressions}: %w", err)
	}
	s, err := fieldSelectorString(&ls)
	if err != nil {
		return err
	}
	f.Raw = s
	return nil
}

// fieldSelectorString renders the label-selector shape as a field selector. Field selectors only know = and !=,
// so only single-valued In/NotIn expressions can be expressed.
func fieldSelectorString(ls *metav1.LabelSelector) (string, error) {
	var parts []string
	keys := make([]string, 0, len(ls.MatchLabels))
	for k := range ls.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+ls.MatchLabels[k])
	}
	for _, e := range ls.MatchExpressions {
		op := ""
		switch selection.Operator(strings.ToLower(string(e.Operator))) {
		case selection.In:
			op = "="
		case selection.NotIn:
			op = "!="
		}
		if op == "" || len(e.Values) != 1 {
			return "", fmt.Errorf("fieldSelector: %s %s %v cannot be a field selector (only In/NotIn with one value)", e.Key, e.Operator, e.Values)
		}
		parts = append(parts, e.Key+op+e.Values[0])
	}
	return strings.Join(parts, ","), nil
}

// Read parses the file at path ("-" is stdin).
func Read(path string) (*Trace, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = readAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading trace file: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func readAll(f *os.File) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(f)
	return buf.Bytes(), err
}

// Parse decodes and checks one Trace document. Unknown fields are errors: a typo in a selector must not widen
// what gets traced.
func Parse(data []byte) (*Trace, error) {
	var t Trace
	if err := yaml.UnmarshalStrict(data, &t); err != nil {
		return nil, fmt.Errorf("not a valid Trace: %w", err)
	}
	if t.Kind != Kind {
		return nil, fmt.Errorf("kind is %q, want %q", t.Kind, Kind)
	}
	if t.APIVersion != "" && !slices.Contains(APIVersions, t.APIVersion) {
		return nil, fmt.Errorf("apiVersion %q is not one of %s", t.APIVersion, strings.Join(APIVersions, ", "))
	}
	if t.Spec.SampleRate != 0 {
		return nil, fmt.Errorf("spec.sampleRate is not supported by kubectl swoll (remove it)")
	}
	if t.Spec.Duration != "" {
		d, err := time.ParseDuration(t.Spec.Duration)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("spec.duration %q is not a duration like 30s or 5m", t.Spec.Duration)
		}
	}
	if _, err := t.LabelSelector(); err != nil {
		return nil, err
	}
	if t.Spec.SlowerThan != "" {
		d, err := time.ParseDuration(t.Spec.SlowerThan)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("spec.slowerThan %q is not a duration like 1ms", t.Spec.SlowerThan)
		}
	}
	f := t.Filter()
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("spec's filters: %w", err)
	}
	return &t, nil
}

// Filter is the spec's incident filters and fd display; Parse has validated them.
func (t *Trace) Filter() callfilter.Spec {
	s := &t.Spec
	d, _ := time.ParseDuration(s.SlowerThan)
	f := callfilter.Spec{Failed: s.Failed, Succeeded: s.Succeeded, Errnos: s.Errnos, SlowerThan: d, Paths: s.Paths,
		PathsUnder: s.PathsUnder, Comms: s.Comms, Pids: s.ContainerPids, Fds: s.DecodeFds}
	f.Normalize()
	return f
}

// LabelSelector renders spec.labelSelector in kubectl's -l syntax ("" when absent).
func (t *Trace) LabelSelector() (string, error) {
	if t.Spec.LabelSelector == nil {
		return "", nil
	}
	s, err := metav1.LabelSelectorAsSelector(t.Spec.LabelSelector)
	if err != nil {
		return "", fmt.Errorf("spec.labelSelector: %w", err)
	}
	return s.String(), nil
}

// FieldSelector renders spec.fieldSelector in kubectl's --field-selector syntax ("" when absent).
func (t *Trace) FieldSelector() string {
	if t.Spec.FieldSelector == nil {
		return ""
	}
	return t.Spec.FieldSelector.Raw
}

// Duration is spec.duration (0 when absent); Parse has validated it.
func (t *Trace) Duration() time.Duration {
	d, _ := time.ParseDuration(t.Spec.Duration)
	return d
}
