package callfilter

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestValidate(t *testing.T) {
	long := strings.Repeat("a", MaxPathBytes+1)
	for _, c := range []struct {
		name string
		spec Spec
		want string // "" for valid; else a part of the error
	}{
		{"zero", Spec{}, ""},
		{"failed", Spec{Failed: true}, ""},
		{"everything", Spec{Failed: true, Errnos: []string{"ENOENT", "13"}, SlowerThan: time.Millisecond,
			Paths: []string{"/etc/hostname", "rel"}, PathsUnder: []string{"/var/log/"}, Comms: []string{"nginx"},
			Pids: []int{1}, Fds: FdsAll}, ""},
		{"both", Spec{Failed: true, Succeeded: true}, "exclude each other"},
		{"errno and succeeded", Spec{Succeeded: true, Errnos: []string{"ENOENT"}}, "cannot be combined"},
		{"bad errno", Spec{Errnos: []string{"ENOSUCH"}}, `--errno "ENOSUCH"`},
		{"negative duration", Spec{SlowerThan: -1}, "negative"},
		{"empty path", Spec{Paths: []string{""}}, "empty path"},
		{"long path", Spec{Paths: []string{"/" + long}}, "longer than 254"},
		{"relative dir", Spec{PathsUnder: []string{"var"}}, "absolute"},
		{"too many paths", Spec{Paths: make([]string, MaxPaths+1)}, "at most 100"},
		{"long comm", Spec{Comms: []string{"a-very-long-command"}}, `use "a-very-long-com"`},
		{"empty comm", Spec{Comms: []string{""}}, "empty name"},
		{"bad pid", Spec{Pids: []int{0}}, "not a process id"},
		{"fds", Spec{Fds: 3}, "-y"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.spec.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want Spec
	}{
		{nil, Spec{}},
		{[]string{"-Z"}, Spec{Failed: true}},
		{[]string{"-z", "-y"}, Spec{Succeeded: true, Fds: FdsPaths}},
		{[]string{"-yy"}, Spec{Fds: FdsAll}},
		{[]string{"--decode-fds=2"}, Spec{Fds: FdsAll}},
		{[]string{"--errno", "enoent,EACCES", "--errno", " econnrefused "}, Spec{Errnos: []string{"ENOENT", "EACCES", "ECONNREFUSED"}}},
		{[]string{"-P", "/etc/hostname", "-P", "/a,b", "--path-under", "/var/"}, Spec{Paths: []string{"/etc/hostname", "/a,b"}, PathsUnder: []string{"/var/"}}},
		{[]string{"--slower-than", "1.5ms", "--comm", "nginx,curl", "--container-pid", "1,7"},
			Spec{SlowerThan: 1500 * time.Microsecond, Comms: []string{"nginx", "curl"}, Pids: []int{1, 7}}},
	} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		var s Spec
		AddFlags(fs, &s)
		if err := fs.Parse(c.args); err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		s.Normalize()
		if !reflect.DeepEqual(s, c.want) {
			t.Errorf("%q: %+v, want %+v", c.args, s, c.want)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%q: %v", c.args, err)
		}
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs, &Spec{})
	for _, name := range FlagNames {
		if fs.Lookup(name) == nil {
			t.Errorf("flag --%s not registered", name)
		}
	}
}

func TestStringAndWire(t *testing.T) {
	s := Spec{Failed: true, Errnos: []string{"ENOENT"}, SlowerThan: time.Millisecond, Paths: []string{"/etc/hostname"},
		PathsUnder: []string{"/var/"}, Comms: []string{"nginx"}, Pids: []int{1}, Fds: FdsAll}
	want := `--failed --errno ENOENT --slower-than 1ms -P "/etc/hostname" --path-under "/var/" --comm "nginx" --container-pid 1 -yy`
	if got := s.String(); got != want {
		t.Errorf("String() = %s\nwant        %s", got, want)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Spec
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, s) {
		t.Errorf("round trip through %s: %+v, %v", b, back, err)
	}
	if b, _ := json.Marshal(Spec{}); string(b) != "{}" {
		t.Errorf("zero Spec on the wire: %s", b)
	}
	if !(&Spec{}).IsZero() || (&Spec{Fds: 1}).IsZero() || (&Spec{Fds: 1}).Filters() || !(&Spec{Comms: []string{"a"}}).Filters() {
		t.Error("IsZero/Filters disagree with the fields")
	}
	if got := (&Spec{PathsUnder: []string{"/var/log/", "/", "//"}}).Dirs(); !reflect.DeepEqual(got, []string{"/var/log", "/", "/"}) {
		t.Errorf("Dirs() = %q", got)
	}
	if got := (&Spec{Errnos: []string{"EACCES", "ENOENT", "2"}}).ErrnoNumbers(); !reflect.DeepEqual(got, []int{2, 13}) {
		t.Errorf("ErrnoNumbers() = %v", got)
	}
}
