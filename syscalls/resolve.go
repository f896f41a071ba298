package syscalls

import (
	"fmt"
	"sort"
	"strings"
)

// Resolve turns a user's --syscalls list into system calls of this table, in the order given,
// without duplicates. Besides syscall names (optionally "sys_"-prefixed, any case) it accepts
// "class:<Class>" and "group:<Group>" (e.g. "class:Network", "group:Sockets"), which expand to
// every call of that class or group on this architecture, in number order. Empty entries are
// ignored. Every bad entry is reported, in one error line, with a suggestion where there is one.
func (t *Table) Resolve(names []string) ([]*Syscall, error) {
	out := make([]*Syscall, 0, len(names))
	seen := make(map[*Syscall]bool, len(names))
	add := func(s *Syscall) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	var problems []string
	for _, raw := range names {
		name := strings.TrimSpace(raw)
		if name == "" {
			continue
		}
		if kind, value, ok := strings.Cut(name, ":"); ok {
			matched, err := t.bySet(strings.ToLower(strings.TrimSpace(kind)), strings.TrimSpace(value))
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			for _, s := range matched {
				add(s)
			}
			continue
		}
		if s, ok := t.ByName(name); ok {
			add(s)
			continue
		}
		problems = append(problems, t.explainUnknown(name))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return out, nil
}

// bySet expands "class:X" or "group:X".
func (t *Table) bySet(kind, value string) ([]*Syscall, error) {
	var field func(*Syscall) string
	var valid []string
	switch kind {
	case "class":
		field, valid = func(s *Syscall) string { return s.Class }, Classes()
	case "group":
		field, valid = func(s *Syscall) string { return s.Group }, Groups()
	default:
		return nil, fmt.Errorf("unknown selector %q in %q (use a syscall name, class:<Class> or group:<Group>)", kind, kind+":"+value)
	}
	var matched []*Syscall
	for _, s := range t.all {
		if strings.EqualFold(field(s), value) {
			matched = append(matched, s)
		}
	}
	if len(matched) > 0 {
		return matched, nil
	}
	msg := fmt.Sprintf("unknown %s %q", kind, value)
	if best, ok := closest(value, valid, true); ok {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	} else {
		msg += fmt.Sprintf(" (valid: %s)", strings.Join(valid, ", "))
	}
	return nil, fmt.Errorf("%s", msg)
}

// explainUnknown says why name is not in t: it belongs to another architecture (and what to
// use instead), or it is misspelled (and what was probably meant).
func (t *Table) explainUnknown(name string) string {
	norm := normalizeName(name)
	for _, a := range Arches {
		if a == t.arch {
			continue
		}
		other, _ := ForArch(a)
		if _, ok := other.byName[norm]; !ok {
			continue
		}
		msg := fmt.Sprintf("syscall %q does not exist on %s", norm, t.arch)
		if repl, ok := legacyReplacements[norm]; ok {
			if _, here := t.byName[repl]; here {
				msg += fmt.Sprintf(" (use %q)", repl)
			}
		}
		return msg
	}
	msg := fmt.Sprintf("unknown syscall %q", name)
	names := make([]string, 0, len(t.all))
	for _, s := range t.all {
		names = append(names, s.Name)
	}
	if best, ok := closest(norm, names, false); ok {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	return msg
}

// Replacement names the call that does a legacy call's job on architectures (arm64) that only provide the
// modern *at / *2 variants ("open" -> "openat"), and false for a call that is not such a legacy one.
func Replacement(name string) (string, bool) {
	r, ok := legacyReplacements[normalizeName(name)]
	return r, ok
}

// legacyReplacements names the call that replaces a legacy one on architectures (arm64) that
// only provide the modern *at / *2 variants.
var legacyReplacements = map[string]string{
	"open":         "openat",
	"creat":        "openat",
	"stat":         "newfstatat",
	"lstat":        "newfstatat",
	"access":       "faccessat",
	"mkdir":        "mkdirat",
	"rmdir":        "unlinkat",
	"unlink":       "unlinkat",
	"rename":       "renameat",
	"link":         "linkat",
	"symlink":      "symlinkat",
	"readlink":     "readlinkat",
	"chmod":        "fchmodat",
	"chown":        "fchownat",
	"lchown":       "fchownat",
	"mknod":        "mknodat",
	"futimesat":    "utimensat",
	"utime":        "utimensat",
	"utimes":       "utimensat",
	"pipe":         "pipe2",
	"dup2":         "dup3",
	"fork":         "clone",
	"vfork":        "clone",
	"poll":         "ppoll",
	"select":       "pselect6",
	"epoll_create": "epoll_create1",
	"epoll_wait":   "epoll_pwait",
	"eventfd":      "eventfd2",
	"signalfd":     "signalfd4",
	"inotify_init": "inotify_init1",
	"getdents":     "getdents64",
	"alarm":        "setitimer",
	"time":         "clock_gettime",
	"pause":        "rt_sigsuspend",
	"getpgrp":      "getpgid",
	"ustat":        "statfs",
}

// closest returns the candidate nearest to name by edit distance, if it is near enough to be
// a plausible typo.
func closest(name string, candidates []string, foldCase bool) (string, bool) {
	if foldCase {
		name = strings.ToLower(name)
	}
	type scored struct {
		name string
		dist int
	}
	var best []scored
	for _, c := range candidates {
		cmp := c
		if foldCase {
			cmp = strings.ToLower(c)
		}
		d := editDistance(name, cmp)
		if d > maxTypoDistance(len(name)) {
			continue
		}
		best = append(best, scored{c, d})
	}
	if len(best) == 0 {
		return "", false
	}
	sort.SliceStable(best, func(i, j int) bool {
		if best[i].dist != best[j].dist {
			return best[i].dist < best[j].dist
		}
		// Typos keep the start of a word: "writ" is "write" rather than "wait".
		pi, pj := commonPrefix(name, best[i].name), commonPrefix(name, best[j].name)
		if pi != pj {
			return pi > pj
		}
		// Then the shorter, more basic call: "readd" is "read" rather than "readv".
		if len(best[i].name) != len(best[j].name) {
			return len(best[i].name) < len(best[j].name)
		}
		return best[i].name < best[j].name
	})
	return best[0].name, true
}

// maxTypoDistance allows one edit for short names and roughly one per three characters beyond,
// so "rd" does not suggest "read" but "opnat" suggests "openat".
func maxTypoDistance(n int) int {
	switch {
	case n <= 2:
		return 0
	case n <= 5:
		return 1
	default:
		return 1 + n/4
	}
}

// editDistance is the optimal-string-alignment distance: insertions, deletions, substitutions
// and transpositions of adjacent characters each cost one.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// ResolveNames is Resolve on the table of arch (a GOARCH value such as a node's kubernetes.io/arch label),
// returning names: what a session sends to the agent of a node of that architecture.
func ResolveNames(arch string, names []string) ([]string, error) {
	table, err := ForArch(Arch(arch))
	if err != nil {
		return nil, fmt.Errorf("node architecture %q is not supported (swoll supports amd64 and arm64)", arch)
	}
	resolved, err := table.Resolve(names)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(resolved))
	for i, s := range resolved {
		out[i] = s.Name
	}
	return out, nil
}
