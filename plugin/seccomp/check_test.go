package seccomp

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/plugin/seccomp/runtimedefault"
	"github.com/swoll-dev/swoll/syscalls"
)

func line(pod, arch, name string, start int64, args string) []byte {
	return []byte(fmt.Sprintf(`{"syscall":{"nr":0,"name":%q,"arch":%q},"start":%d,"finish":%d,"pid":42,"tid":42,"comm":"web",`+
		`"error":"OK","return":0,"container":{"pod":%q,"name":"web","namespace":"shop"},"args":%s}`,
		name, arch, start, start+1000, pod, args))
}

func TestChecker(t *testing.T) {
	defaults := runtimedefault.DefaultCapabilities()
	privileged := "web-privileged"
	var live []string
	var errs []error
	c := NewChecker(func(ct Container, _ syscalls.Arch) (*Evaluator, error) {
		switch ct.Pod {
		case privileged:
			return nil, nil
		case "web-broken":
			return nil, errors.New("no profile for web-broken")
		}
		return RuntimeDefault(defaults)
	}, func(d *Denial) { live = append(live, LiveLine(d)) }, func(err error) { errs = append(errs, err) })
	const t0 = int64(1_800_000_000_000_000_000)
	thread := `{"flags":"CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID","stack":"0x7f"}`
	userns := `{"flags":"CLONE_NEWUSER|CLONE_NEWNS|SIGCHLD","stack":null}`
	for _, l := range [][]byte{
		line("web-a", "amd64", "clone", t0, thread),                                          // allowed by its flags
		line("web-a", "amd64", "clone", t0+1, userns),                                        // denied: EPERM
		line("web-a", "amd64", "clone", t0+2, userns),                                        // counted, not reported again
		line("web-a", "amd64", "clone3", t0+3, `{"cl_args":{"flags":"CLONE_VM"},"size":88}`), // ENOSYS
		line("web-b", "arm64", "unshare", t0+4, `{"flags":"CLONE_NEWNET"}`),                  // EPERM on arm64
		line("web-b", "arm64", "read", t0+5, `{"fd":3}`),                                     // allowed
		line(privileged, "amd64", "mount", t0+6, `{}`),                                       // no profile applies
		line("web-broken", "amd64", "mount", t0+7, `{}`),
		line("web-broken", "amd64", "mount", t0+8, `{}`),
		[]byte(`not json`),
	} {
		if err := c.Event(l); err != nil {
			t.Fatal(err)
		}
	}
	d := c.Denials()
	if len(d) != 3 {
		t.Fatalf("denials %+v, want 3", d)
	}
	if d[0].Syscall != "clone" || d[0].Result != "EPERM" || d[0].Count != 2 {
		t.Errorf("first denial %+v: want clone EPERM twice", d[0])
	}
	if d[1].Syscall != "clone3" || d[1].Result != "ENOSYS" || d[2].Syscall != "unshare" || d[2].Pod != "web-b" {
		t.Errorf("denials %+v", d)
	}
	if c.Allowed() != 2 {
		t.Errorf("allowed %d, want 2", c.Allowed())
	}
	if len(live) != 3 || !strings.Contains(live[0], "shop/web-a (web): clone would get EPERM") ||
		!strings.Contains(live[0], "CLONE_NEWUSER") {
		t.Errorf("live lines %q", live)
	}
	if len(errs) != 1 {
		t.Errorf("errors %v: want one, reported once", errs)
	}
	var b bytes.Buffer
	if err := WriteReport(&b, d, "runtime/default"); err != nil {
		t.Fatal(err)
	}
	golden(t, "check.golden", b.Bytes())
	if s := Summary(d, "runtime/default"); s != "runtime/default would deny 4 call(s) of clone, clone3, unshare" {
		t.Errorf("summary %q", s)
	}
	b.Reset()
	if err := WriteReport(&b, nil, "web.json"); err != nil || b.String() != "no call of the traced containers would be denied by web.json\n" {
		t.Errorf("empty report %q %v", b.String(), err)
	}
}

// Text from the cluster and from traced processes reaches the terminal escaped.
func TestLiveLineEscapes(t *testing.T) {
	c := NewChecker(func(Container, syscalls.Arch) (*Evaluator, error) { return RuntimeDefault(nil) }, nil, nil)
	var live []string
	c.onNew = func(d *Denial) { live = append(live, LiveLine(d)) }
	l := []byte(`{"syscall":{"name":"mount","arch":"amd64"},"start":1,"finish":2,"comm":"x\u001b[2J","error":"OK",` +
		`"container":{"pod":"evil\u001b]0;title\u0007","name":"c\nd","namespace":"ns"},"args":{"source":"\u001b[31m"}}`)
	if err := c.Event(l); err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 {
		t.Fatalf("live %q", live)
	}
	if strings.ContainsAny(live[0], "\x1b\x07\n") {
		t.Errorf("control bytes reach the terminal: %q", live[0])
	}
	var b bytes.Buffer
	if err := WriteReport(&b, c.Denials(), "p"); err != nil || strings.ContainsAny(b.String(), "\x1b\x07") {
		t.Errorf("report %q %v", b.String(), err)
	}
}
