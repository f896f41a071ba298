//go:build linux

package parity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/syscalls"
)

// beginMarker is the path of the openat every program makes first (testdata/parity.h): what the main
// process did before it (libc start-up, waiting for the agent) is not compared. It fails; beginMarkerOK, which
// follows it, succeeds: the marker of the runs that show only what succeeds (-z).
const (
	beginMarker   = "/swoll-parity-begin"
	beginMarkerOK = "/"
)

// call is one system call in canonical form.
type call struct {
	name  string
	args  []arg
	ret   string // "3", "-1 ENOENT", or the name of a new process or thread
	skip  string // why the return is not compared, if it is not
	shown int    // strace printed only the first shown arguments (ptrace); -1: all
	raw   string // the line or event, for messages
}

// rawCall is one system call of one run before its pids are named.
type rawCall struct {
	name   string
	newTid int  // the child a successful clone, clone3, fork or vfork made; 0 otherwise
	thread bool // a clone with CLONE_THREAD
	st     *straceCall
	ev     *event.Event
}

// returnsAddress reports whether a call's success return is an address, which differs between runs (ASLR).
func returnsAddress(name string) bool {
	return name == "mmap" || name == "mremap" || name == "brk" || name == "shmat"
}

// forks reports whether a call's return is the id of a new process or thread.
func forks(name string) bool {
	return name == "clone" || name == "clone3" || name == "fork" || name == "vfork"
}

func straceRaw(calls []straceCall) []rawCall {
	out := make([]rawCall, len(calls))
	for i := range calls {
		c := &calls[i]
		out[i] = rawCall{name: c.name, st: c}
		if forks(c.name) && c.errno == "" {
			out[i].newTid, _ = strconv.Atoi(c.ret)
			out[i].thread = strings.Contains(c.named["flags"].text, "CLONE_THREAD")
		}
	}
	return out
}

// swollEvents groups the events of the agent's output by thread.
func swollEvents(lines [][]byte) (map[int][]rawCall, error) {
	out := map[int][]rawCall{}
	for _, l := range lines {
		var line event.Line
		if err := json.Unmarshal(l, &line); err != nil {
			return nil, fmt.Errorf("agent line %q: %w", l, err)
		}
		e := line.Event
		if e == nil {
			continue
		}
		// Events say which architecture's table their number is of: the machine's, here.
		if e.Syscall.Arch != runtime.GOARCH {
			return nil, fmt.Errorf("agent line %q: arch %q, want %q", l, e.Syscall.Arch, runtime.GOARCH)
		}
		r := rawCall{name: e.Syscall.Name, ev: e}
		if forks(e.Syscall.Name) && e.Error == "OK" {
			r.newTid = int(e.Return)
			var a struct{ Flags string }
			_ = json.Unmarshal(e.Args, &a)
			r.thread = strings.Contains(a.Flags, "CLONE_THREAD")
		}
		out[e.Tid] = append(out[e.Tid], r)
	}
	return out, nil
}

// nameThreads names every thread of a run by its place in the process tree: the root is "main", the
// second child made by main is "main/2", whether a process or a thread. Threads no clone call of the run
// made are named by their tid.
func nameThreads(byTid map[int][]rawCall, root int, skipThreads, fromStart bool) map[int]string {
	names := map[int]string{root: "main"}
	queue := []int{root}
	for len(queue) > 0 {
		tid := queue[0]
		queue = queue[1:]
		n := 0
		started := tid != root || fromStart
		for _, c := range byTid[tid] {
			// The main thread's calls count from the begin marker: strace saw what came before it, the
			// agent did not.
			if started = started || isMarker(c); !started {
				continue
			}
			if c.newTid > 0 && (!skipThreads || !c.thread) {
				n++
				names[c.newTid] = names[tid] + "/" + strconv.Itoa(n)
				queue = append(queue, c.newTid)
			}
		}
	}
	for tid := range byTid {
		if _, ok := names[tid]; !ok {
			names[tid] = "tid" + strconv.Itoa(tid)
		}
	}
	return names
}

// straceRoot is the thread of a strace run that no clone call made.
func straceRoot(byTid map[int][]rawCall) (int, error) {
	made := map[int]bool{}
	for _, calls := range byTid {
		for _, c := range calls {
			if c.newTid > 0 {
				made[c.newTid] = true
			}
		}
	}
	var roots []int
	for tid := range byTid {
		if !made[tid] {
			roots = append(roots, tid)
		}
	}
	if len(roots) != 1 {
		return 0, fmt.Errorf("strace traced %d root processes %v, want 1", len(roots), roots)
	}
	return roots[0], nil
}

// canonical turns a run's calls into canonical calls per thread name, keeping only the compared syscalls
// and, in the main thread, only what follows the begin marker.
//
// skipThreads leaves out the threads a runtime starts on its own (the Go scheduler's), whose number and order
// differ from run to run: their clone calls are not compared and do not count in the names. fromStart compares
// the main thread from its first call: the runs of -P, which show no marker (the program touches the path only
// after it).
func canonical(byTid map[int][]rawCall, root int, compared map[string]bool, table *syscalls.Table, skipThreads,
	fromStart bool) (map[string][]call, error) {
	names := nameThreads(byTid, root, skipThreads, fromStart)
	cn := &canon{pids: names, sockets: map[string]string{}}
	out := map[string][]call{}
	for tid, calls := range byTid {
		name := names[tid]
		if strings.HasPrefix(name, "tid") {
			continue // made before the begin marker: strace saw it start, the agent did not
		}
		started := tid != root || fromStart
		var list []call
		for _, r := range calls {
			if !started {
				started = isMarker(r)
			}
			if !started || !compared[r.name] || skipThreads && r.thread {
				continue
			}
			spec, ok := table.ByName(r.name)
			if !ok {
				return nil, fmt.Errorf("no table entry for %s", r.name)
			}
			var c call
			var err error
			if r.st != nil {
				c, err = cn.fromStrace(spec, r.st)
			} else {
				c, err = cn.fromSwoll(spec, r.ev)
			}
			if err != nil {
				return nil, err
			}
			list = append(list, c)
		}
		if len(list) > 0 {
			out[name] = list
		}
	}
	return out, nil
}

func isMarker(r rawCall) bool {
	if r.name != "openat" {
		return false
	}
	if r.st != nil {
		return len(r.st.args) > 1 && r.st.args[1].kind == strVal &&
			(r.st.args[1].text == beginMarker || r.st.args[1].text == beginMarkerOK)
	}
	var a struct {
		Pathname string `json:"pathname"`
	}
	return json.Unmarshal(r.ev.Args, &a) == nil && (a.Pathname == beginMarker || a.Pathname == beginMarkerOK)
}

// splitOffset says whether a call takes its file offset in two registers, pos_l and pos_h.
func splitOffset(name string) bool {
	switch name {
	case "preadv", "pwritev", "preadv2", "pwritev2":
		return true
	}
	return false
}

// straceNamedClone maps the names strace gives clone's arguments to the man page's.
var straceNamedClone = map[string]string{
	"child_stack": "stack", "flags": "flags", "parent_tid": "parent_tid", "parent_tidptr": "parent_tid",
	"child_tidptr": "child_tid", "tls": "tls",
}

func (cn *canon) fromStrace(spec *syscalls.Syscall, sc *straceCall) (call, error) {
	c := call{name: sc.name, raw: sc.line, shown: -1}
	switch {
	case sc.named != nil:
		// clone: strace names its arguments, orders them its own way and prints only those the flags use.
		// Those it leaves out are not compared.
		byName := map[string]sval{}
		for k, v := range sc.named {
			byName[straceNamedClone[k]] = v
		}
		for _, p := range spec.Params {
			if v, ok := byName[p.Name]; ok {
				c.args = append(c.args, cn.straceArg(p.Name, p.Type, v))
			} else {
				c.args = append(c.args, arg{key: p.Name, absent: true, val: "(not shown by strace)"})
			}
		}
	default:
		if splitOffset(sc.name) && len(sc.args) >= 4 {
			// strace folds pos_l and pos_h into one offset; on 64-bit the kernel ignores pos_h, and swoll
			// shows both registers. The programs pass pos_h = 0.
			sc.args = append(sc.args[:4:4], append([]sval{{kind: atomVal, text: "0"}}, sc.args[4:]...)...)
		}
		if len(sc.args) > len(spec.Params) {
			return c, fmt.Errorf("%q: %d arguments, the table has %d", sc.line, len(sc.args), len(spec.Params))
		}
		for i, p := range spec.Params {
			if i < len(sc.args) {
				c.args = append(c.args, cn.straceArg(p.Name, p.Type, sc.args[i]))
			} else {
				c.args = append(c.args, arg{key: p.Name, absent: true})
			}
		}
		if len(sc.args) < len(spec.Params) && sc.name == "ptrace" {
			// strace prints only the arguments the request uses (PTRACE_TRACEME none, PTRACE_ATTACH the
			// pid); swoll prints all four.
			c.shown = len(sc.args)
		}
	}
	switch {
	case sc.errno != "":
		c.ret = sc.ret + " " + sc.errno
	case forks(sc.name) || sc.name == "wait4" || sc.name == "getpid" || sc.name == "gettid":
		n, _ := strconv.Atoi(sc.ret)
		c.ret = cn.pid(int64(n))
	case returnsAddress(sc.name):
		c.ret = "<address>"
	case sc.name == "umask": // the previous mask, in octal
		n, _ := strconv.ParseInt(sc.ret, 8, 64)
		c.ret = strconv.FormatInt(n, 10)
	default:
		num, fd := splitFd(sc.ret)
		c.ret = num
		if n, ok := number(num); ok {
			c.ret = strconv.FormatInt(n, 10)
		}
		if fd != "" {
			c.ret += cn.fdText(fd)
		}
	}
	if sc.name == "ptrace" && len(c.args) > 0 && c.args[0].val == "PTRACE_TRACEME" {
		c.skip = "strace traces the child already, so PTRACE_TRACEME fails with EPERM under strace only"
	}
	volatile(&c)
	return c, nil
}

func (cn *canon) fromSwoll(spec *syscalls.Syscall, e *event.Event) (call, error) {
	c := call{name: e.Syscall.Name, raw: fmt.Sprintf("%s %s = %d %s", e.Syscall.Name, e.Args, e.Return, e.Error), shown: -1}
	d := json.NewDecoder(bytes.NewReader(e.Args))
	var args map[string]json.RawMessage
	if err := d.Decode(&args); err != nil {
		return c, fmt.Errorf("event args %s: %w", e.Args, err)
	}
	for _, p := range spec.Params {
		raw, ok := args[p.Name]
		if !ok {
			c.args = append(c.args, arg{key: p.Name, absent: true})
			continue
		}
		a := cn.swollArg(p.Name, p.Type, raw, string(args[p.Name+event.TruncatedSuffix]) == "true")
		if string(args[p.Name+event.UnreadableSuffix]) == "true" {
			a.val += " (unreadable)"
		}
		if f, ok := args[p.Name+event.FdFileSuffix]; ok {
			a.val += cn.swollFd(f)
		}
		if fs, ok := args[p.Name+event.FdFilesSuffix]; ok {
			var nums []json.RawMessage
			var files []json.RawMessage
			if json.Unmarshal(raw, &nums) == nil && json.Unmarshal(fs, &files) == nil && len(nums) == len(files) {
				parts := make([]string, len(nums))
				for i := range nums {
					parts[i] = string(nums[i])
					if string(files[i]) != "null" {
						parts[i] += cn.swollFd(files[i])
					}
				}
				a = arg{key: p.Name, val: "[" + strings.Join(parts, ", ") + "]"}
			}
		}
		c.args = append(c.args, a)
	}
	shortStruct(spec, c.args)
	switch {
	case e.Error != "OK":
		c.ret = "-1 " + e.Error
		if e.Return >= 0 {
			c.ret += " (return " + strconv.FormatInt(e.Return, 10) + " is not negative)"
		}
	case forks(e.Syscall.Name) || e.Syscall.Name == "wait4" || e.Syscall.Name == "getpid" || e.Syscall.Name == "gettid":
		c.ret = cn.pid(e.Return)
	case returnsAddress(e.Syscall.Name):
		c.ret = "<address>"
	default:
		c.ret = strconv.FormatInt(e.Return, 10)
		if len(e.ReturnFile) > 0 {
			c.ret += cn.swollFd(e.ReturnFile)
		}
	}
	if e.Syscall.Name == "ptrace" && len(c.args) > 0 && c.args[0].val == "PTRACE_TRACEME" {
		c.skip = "strace traces the child already"
	}
	volatile(&c)
	return c, nil
}

// structVersion0 is the size of the first version of the structs the kernel takes with a size argument.
var structVersion0 = map[syscalls.ArgType]int64{syscalls.ArgOpenHow: 24, syscalls.ArgCloneArgs: 64}

// shortStruct turns swoll's decoding of a struct smaller than its first version into "<ptr>", as strace
// shows it (see the top of canon_test.go).
func shortStruct(spec *syscalls.Syscall, args []arg) {
	for i, p := range spec.Params {
		min, ok := structVersion0[p.Type]
		if !ok || i+1 >= len(args) || args[i].absent || args[i].val == "NULL" {
			continue
		}
		if size, err := strconv.ParseInt(args[i+1].val, 10, 64); err == nil && size < min {
			args[i].val = "<ptr>"
		}
	}
}

// diff compares strace's call s with swoll's call w and describes each difference.
func diff(s, w call) []string {
	var out []string
	if s.skip == "" && w.skip == "" && s.ret != w.ret {
		out = append(out, fmt.Sprintf("return: strace %s, swoll %s", s.ret, w.ret))
	}
	for i := range s.args {
		if s.shown >= 0 && i >= s.shown {
			break
		}
		if i >= len(w.args) {
			break
		}
		if s.args[i].absent && s.args[i].val != "" && s.name == "clone" {
			continue // not shown by strace
		}
		if !same(s.args[i], w.args[i]) {
			out = append(out, fmt.Sprintf("%s: strace %s, swoll %s", s.args[i].key, s.args[i], w.args[i]))
		}
	}
	return out
}

// pairing is one step of an alignment: a strace call, a swoll call, or both.
type pairing struct {
	s, w *call
}

// align pairs the two sequences of one thread by syscall name (longest common subsequence), so that a
// missing or extra call is reported once instead of shifting every call after it.
func align(s, w []call) []pairing {
	n, m := len(s), len(w)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			switch {
			case s[i].name == w[j].name:
				lcs[i][j] = lcs[i+1][j+1] + 1
			case lcs[i+1][j] >= lcs[i][j+1]:
				lcs[i][j] = lcs[i+1][j]
			default:
				lcs[i][j] = lcs[i][j+1]
			}
		}
	}
	var out []pairing
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && s[i].name == w[j].name:
			out = append(out, pairing{&s[i], &w[j]})
			i++
			j++
		case j >= m || i < n && lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, pairing{s: &s[i]})
			i++
		default:
			out = append(out, pairing{w: &w[j]})
			j++
		}
	}
	return out
}

// tally counts matched and compared calls per syscall.
type tally map[string]*[2]int

func (t tally) add(name string, ok bool) {
	c := t[name]
	if c == nil {
		c = &[2]int{}
		t[name] = c
	}
	if ok {
		c[0]++
	}
	c[1]++
}

// merge adds o's counts to t.
func (t tally) merge(o tally) {
	for name, c := range o {
		if t[name] == nil {
			t[name] = &[2]int{}
		}
		t[name][0] += c[0]
		t[name][1] += c[1]
	}
}

// sums returns the matched and compared calls over every syscall.
func (t tally) sums() (matched, total int) {
	for _, c := range t {
		matched += c[0]
		total += c[1]
	}
	return matched, total
}

func (t tally) table() string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s %s\n", "syscall", "matched/total")
	m, n := 0, 0
	for _, name := range names {
		c := t[name]
		fmt.Fprintf(&b, "%-14s %d/%d\n", name, c[0], c[1])
		m += c[0]
		n += c[1]
	}
	fmt.Fprintf(&b, "%-14s %d/%d\n", "all", m, n)
	return b.String()
}

// problem is one difference between the runs.
type problem struct {
	thread, syscall string
	strace          string // strace's line, "" when the call is missing from strace
	msg             string
}

// compareRuns compares the calls of every thread and returns every difference.
func compareRuns(strace, swoll map[string][]call, counts tally) []problem {
	threads := map[string]bool{}
	for k := range strace {
		threads[k] = true
	}
	for k := range swoll {
		threads[k] = true
	}
	names := make([]string, 0, len(threads))
	for k := range threads {
		names = append(names, k)
	}
	sort.Strings(names)
	var problems []problem
	for _, th := range names {
		for _, p := range align(strace[th], swoll[th]) {
			switch {
			case p.w == nil:
				counts.add(p.s.name, false)
				problems = append(problems, problem{th, p.s.name, p.s.raw,
					fmt.Sprintf("[%s] missing from swoll:\n\tstrace: %s", th, p.s.raw)})
			case p.s == nil:
				counts.add(p.w.name, false)
				problems = append(problems, problem{th, p.w.name, "",
					fmt.Sprintf("[%s] not in strace:\n\tswoll:  %s", th, p.w.raw)})
			default:
				d := diff(*p.s, *p.w)
				counts.add(p.s.name, len(d) == 0)
				if len(d) > 0 {
					problems = append(problems, problem{th, p.s.name, p.s.raw,
						fmt.Sprintf("[%s] %s differs:\n\t%s\n\tstrace: %s\n\tswoll:  %s",
							th, p.s.name, strings.Join(d, "\n\t"), p.s.raw, p.w.raw)})
				}
			}
		}
	}
	return problems
}

// knownDiff is a difference this test found and reported but that is not fixed yet. The test logs it
// instead of failing, and fails when it no longer occurs, so that the list stays true.
type knownDiff struct {
	program string
	syscall string
	strace  string // a substring of strace's line for the call
	why     string
}

func (k knownDiff) matches(program string, p problem) bool {
	return k.program == program && k.syscall == p.syscall && p.strace != "" && strings.Contains(p.strace, k.strace)
}

// fakeEvent makes an event as the agent would write it, for tests of the comparison.
func fakeEvent(name, args string, ret int64, errno string) *event.Event {
	return &event.Event{Syscall: event.Syscall{Name: name}, Args: json.RawMessage(args), Return: ret, Error: errno}
}
