package seccomp

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/swoll-dev/swoll/syscalls"
)

// Evaluator decides calls as the kernel would under a profile installed by runc (libseccomp's rules):
//   - a rule whose action is the default action is dropped (runc skips it);
//   - a rule's argument conditions must all hold, except that conditions sharing an index are alternatives
//     (runc adds each as its own rule);
//   - when several rules of a call match, the first in the profile's order decides (real profiles do not
//     make rules of one call overlap with different actions);
//   - a call no rule matches gets the default action; SCMP_ACT_ERRNO without errnoRet is EPERM;
//   - a call whose number is above every number the profile names on that architecture gets ENOSYS instead
//     of the default action (runc's stub, so that a program probing a newer call than the profile knows
//     falls back as it would on an older kernel);
//   - names an architecture's table does not know are ignored there, as runc does.
//
// It is immutable and safe for concurrent use.
type Evaluator struct {
	byArch  map[syscalls.Arch]*archRules
	unknown []string // names neither table knows
}

// Linux's errno numbers (the same on amd64 and arm64; package syscall's differ where the plugin builds for
// Windows).
const (
	errEPERM  uint = 1
	errENOSYS uint = 38
)

type action struct {
	act   specs.LinuxSeccompAction
	errno uint
}

type archRules struct {
	table *syscalls.Table
	def   action
	rules map[string][]rule // by the table's name
	maxNr int               // highest number the profile names (runc's ENOSYS stub above it)
}

// rule is one libseccomp rule: all of conds hold (or any, when or).
type rule struct {
	action
	conds []specs.LinuxSeccompArg
	or    bool
}

// Compile prepares p for Decide on every architecture swoll traces.
func Compile(p *specs.LinuxSeccomp) *Evaluator {
	byArch := map[syscalls.Arch]*specs.LinuxSeccomp{}
	for _, a := range syscalls.Arches {
		byArch[a] = p
	}
	return CompileByArch(byArch)
}

// CompileByArch prepares a profile per architecture (runtime/default's differ), each for Decide on its own.
func CompileByArch(byArch map[syscalls.Arch]*specs.LinuxSeccomp) *Evaluator {
	e := &Evaluator{byArch: map[syscalls.Arch]*archRules{}}
	unknown := map[string]bool{}
	for _, a := range syscalls.Arches {
		p, ok := byArch[a]
		if !ok {
			continue
		}
		t, err := syscalls.ForArch(a)
		if err != nil {
			continue
		}
		def := actionOf(p.DefaultAction, p.DefaultErrnoRet)
		ar := &archRules{table: t, def: def, rules: map[string][]rule{}, maxNr: -1}
		for _, s := range p.Syscalls {
			r := rule{action: actionOf(s.Action, s.ErrnoRet), conds: s.Args, or: repeatsIndex(s.Args)}
			for _, n := range s.Names {
				sc, ok := t.ByName(n)
				if !ok {
					if len(knownOn(n)) == 0 {
						unknown[n] = true
					}
					continue
				}
				ar.maxNr = max(ar.maxNr, sc.Nr)
				if r.action == def {
					continue // runc: a redundant rule
				}
				ar.rules[sc.Name] = append(ar.rules[sc.Name], r)
			}
		}
		e.byArch[a] = ar
	}
	e.unknown = sortedKeys(unknown)
	return e
}

func actionOf(a specs.LinuxSeccompAction, errno *uint) action {
	out := action{act: a}
	if a == specs.ActKill { // libseccomp: KILL is KILL_THREAD
		out.act = specs.ActKillThread
	}
	if a == specs.ActErrno || a == specs.ActTrace {
		out.errno = errEPERM
		if a == specs.ActTrace {
			out.errno = errENOSYS // no tracer attached
		}
		if errno != nil {
			out.errno = *errno
		}
	}
	return out
}

func repeatsIndex(args []specs.LinuxSeccompArg) bool {
	seen := map[uint]bool{}
	for _, a := range args {
		if seen[a.Index] {
			return true
		}
		seen[a.Index] = true
	}
	return false
}

// Unknown returns the names of the profile that no architecture's table knows (typos, or calls newer than
// swoll's tables): the runtime ignores them.
func (e *Evaluator) Unknown() []string { return e.unknown }

// Outcome is what a call would meet.
type Outcome int

const (
	// Allowed: the call runs (SCMP_ACT_ALLOW, SCMP_ACT_LOG, or SCMP_ACT_NOTIFY's agent decides).
	Allowed Outcome = iota
	// Denied: the call fails (an errno) or its thread or process is killed or trapped.
	Denied
	// Undecided: a rule depends on an argument that was not decoded.
	Undecided
)

// Verdict is the decision for one call.
type Verdict struct {
	Outcome Outcome
	Action  specs.LinuxSeccompAction
	// Errno is the error the call would return (SCMP_ACT_ERRNO and runc's ENOSYS stub), else "".
	Errno string
	// Why says which rule decided, in words.
	Why string
}

// Result is how a report names the outcome: "EPERM", "ENOSYS", "SIGSYS" (trap), "killed", "allowed",
// "undecided".
func (v Verdict) Result() string {
	switch {
	case v.Outcome == Allowed:
		return "allowed"
	case v.Outcome == Undecided:
		return "undecided"
	case v.Errno != "":
		return v.Errno
	case v.Action == specs.ActTrap:
		return "SIGSYS"
	}
	return "killed"
}

// Args gives a call's argument i as the register held it; false when it is not known.
type Args func(i uint) (uint64, bool)

// NoArgs knows no argument (counting mode).
func NoArgs(uint) (uint64, bool) { return 0, false }

// Decide returns the verdict on a call of arch (Go's name) by name.
func (e *Evaluator) Decide(arch syscalls.Arch, name string, args Args) Verdict {
	ar, ok := e.byArch[arch]
	if !ok {
		return Verdict{Outcome: Undecided, Why: fmt.Sprintf("architecture %q is not one swoll knows", arch)}
	}
	sc, ok := ar.table.ByName(name)
	if !ok {
		return Verdict{Outcome: Undecided, Why: fmt.Sprintf("%s has no system call %q", arch, name)}
	}
	rules := ar.rules[sc.Name]
	undecided := ""
	for _, r := range rules {
		m, why := r.match(args)
		switch {
		case m == matchUnknown && undecided == "":
			undecided = why
		case m == matchYes && undecided == "":
			return e.verdict(r.action, describeRule(sc.Name, r))
		case m == matchYes:
			return Verdict{Outcome: Undecided, Action: r.act, Why: undecided}
		}
	}
	if undecided != "" {
		return Verdict{Outcome: Undecided, Why: undecided}
	}
	def := ar.def
	why := "not in the profile"
	if len(rules) > 0 {
		why = "no rule of the profile matches its arguments"
	}
	if !runs(def.act) && sc.Nr > ar.maxNr {
		def = action{act: specs.ActErrno, errno: errENOSYS}
		why = fmt.Sprintf("newer than every call the profile names on %s: runc answers ENOSYS", arch)
	}
	return e.verdict(def, why)
}

func (e *Evaluator) verdict(a action, why string) Verdict {
	v := Verdict{Action: a.act, Why: why}
	if runs(a.act) {
		return v
	}
	v.Outcome = Denied
	if a.act == specs.ActErrno || a.act == specs.ActTrace {
		v.Errno = syscalls.ErrnoName(int(a.errno))
	}
	return v
}

func runs(a specs.LinuxSeccompAction) bool { return actions[a] }

// Class is what a profile says of a call before its arguments are known.
type Class int

const (
	// Runs: the call runs whatever its arguments.
	Runs Class = iota
	// Fails: the call is denied whatever its arguments.
	Fails
	// Depends: its arguments decide.
	Depends
)

// Classify tells whether a call of arch runs, fails or depends on its arguments.
func (e *Evaluator) Classify(arch syscalls.Arch, name string) Class {
	ar, ok := e.byArch[arch]
	if !ok {
		return Depends
	}
	sc, ok := ar.table.ByName(name)
	if !ok {
		return Depends
	}
	rules := ar.rules[sc.Name]
	for _, r := range rules {
		if len(r.conds) > 0 {
			return Depends
		}
	}
	v := e.Decide(arch, sc.Name, NoArgs)
	if v.Outcome == Allowed {
		return Runs
	}
	return Fails
}

// NotRunning returns the calls of arch's table that do not run whatever their arguments: what a check must
// see (with their arguments) to find every call the profile would deny.
func (e *Evaluator) NotRunning(arch syscalls.Arch) []string {
	ar, ok := e.byArch[arch]
	if !ok {
		return nil
	}
	var out []string
	for _, s := range ar.table.All() {
		if e.Classify(arch, s.Name) != Runs {
			out = append(out, s.Name)
		}
	}
	return out
}

type match int

const (
	matchNo match = iota
	matchYes
	matchUnknown
)

// match evaluates the rule's conditions on args; why names the argument that decided or was missing.
func (r rule) match(args Args) (match, string) {
	if len(r.conds) == 0 {
		return matchYes, ""
	}
	unknown := ""
	anyYes := false
	for _, c := range r.conds {
		v, ok := args(c.Index)
		if !ok {
			if unknown == "" {
				unknown = fmt.Sprintf("a rule tests argument %d, which was not decoded", c.Index)
			}
			continue
		}
		holds := cond(c, v)
		switch {
		case r.or && holds:
			anyYes = true
		case !r.or && !holds:
			return matchNo, ""
		}
	}
	switch {
	case anyYes:
		return matchYes, ""
	case unknown != "":
		return matchUnknown, unknown
	case r.or:
		return matchNo, ""
	}
	return matchYes, ""
}

// cond is libseccomp's comparison: unsigned, on the whole 64-bit register.
func cond(c specs.LinuxSeccompArg, v uint64) bool {
	switch c.Op {
	case specs.OpNotEqual:
		return v != c.Value
	case specs.OpLessThan:
		return v < c.Value
	case specs.OpLessEqual:
		return v <= c.Value
	case specs.OpEqualTo:
		return v == c.Value
	case specs.OpGreaterEqual:
		return v >= c.Value
	case specs.OpGreaterThan:
		return v > c.Value
	case specs.OpMaskedEqual:
		return v&c.Value == c.ValueTwo
	}
	return false
}

// describeRule says which rule decided.
func describeRule(name string, r rule) string {
	if len(r.conds) == 0 {
		return fmt.Sprintf("a rule for %s: %s", name, r.act)
	}
	parts := make([]string, len(r.conds))
	for i, c := range r.conds {
		parts[i] = condString(c)
	}
	join := " && "
	if r.or {
		join = " || "
	}
	return fmt.Sprintf("a rule for %s (%s): %s", name, strings.Join(parts, join), r.act)
}

func condString(c specs.LinuxSeccompArg) string {
	ops := map[specs.LinuxSeccompOperator]string{specs.OpNotEqual: "!=", specs.OpLessThan: "<",
		specs.OpLessEqual: "<=", specs.OpEqualTo: "==", specs.OpGreaterEqual: ">=", specs.OpGreaterThan: ">"}
	if c.Op == specs.OpMaskedEqual {
		return fmt.Sprintf("arg%d & %#x == %#x", c.Index, c.Value, c.ValueTwo)
	}
	return fmt.Sprintf("arg%d %s %#x", c.Index, ops[c.Op], c.Value)
}

// Outside tells, for a call by name whatever the architecture (counts do not say it), whether the profile
// denies it whatever its arguments (fails) or whether they, or the architecture, decide (depends).
func (e *Evaluator) Outside(name string) (fails, depends bool) {
	seen, failing := 0, 0
	for _, a := range syscalls.Arches {
		t, err := syscalls.ForArch(a)
		if err != nil {
			continue
		}
		if _, ok := t.ByName(name); !ok {
			continue
		}
		seen++
		switch e.Classify(a, name) {
		case Depends:
			return false, true
		case Fails:
			failing++
		}
	}
	switch {
	case seen == 0:
		return false, true
	case failing == seen:
		return true, false
	case failing > 0:
		return false, true
	}
	return false, false
}
