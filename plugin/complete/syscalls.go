package complete

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/swoll-dev/swoll/syscalls"
)

// syscallNames is every system call name of every supported architecture with its class, sorted by name.
var syscallNames = sync.OnceValue(func() []cobra.Completion {
	seen := map[string]string{}
	for _, a := range syscalls.Arches {
		t, err := syscalls.ForArch(a)
		if err != nil {
			continue
		}
		for _, s := range t.All() {
			seen[s.Name] = s.Class + "/" + s.Group
		}
	}
	out := make([]cobra.Completion, 0, len(seen))
	for name, desc := range seen {
		out = append(out, cobra.CompletionWithDesc(name, desc))
	}
	slices.Sort(out)
	return out
})

// Syscalls completes the last element of a -s list: a system call name (of any supported architecture), class:
// and group: followed by a class or group name. Elements already in the list are not offered again.
func Syscalls(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	done, term := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		done, term = toComplete[:i+1], toComplete[i+1:]
	}
	have := strings.Split(done, ",")
	var out []cobra.Completion
	add := func(c cobra.Completion) {
		name, _, _ := strings.Cut(c, "\t")
		if strings.HasPrefix(name, term) && !slices.Contains(have, name) {
			out = append(out, done+c)
		}
	}
	switch {
	case strings.HasPrefix(term, "class:"):
		for _, c := range syscalls.Classes() {
			add("class:" + c)
		}
	case strings.HasPrefix(term, "group:"):
		for _, g := range syscalls.Groups() {
			add("group:" + g)
		}
	default:
		add(cobra.CompletionWithDesc("class:", "a whole class of system calls"))
		add(cobra.CompletionWithDesc("group:", "a group of system calls"))
		for _, c := range syscallNames() {
			add(c)
		}
	}
	directive := cobra.ShellCompDirectiveNoFileComp
	if len(out) > 0 && !slices.ContainsFunc(out, func(c cobra.Completion) bool {
		name, _, _ := strings.Cut(c, "\t")
		return !strings.HasSuffix(name, ":")
	}) {
		directive |= cobra.ShellCompDirectiveNoSpace // only class: or group: left: the name follows
	}
	return out, directive
}

// errnoNames is every errno name, sorted.
var errnoNames = sync.OnceValue(func() []string {
	var out []string
	for e := 1; e <= syscalls.MaxErrno; e++ {
		if n := syscalls.ErrnoName(e); strings.HasPrefix(n, "E") && n != "E"+strconv.Itoa(e) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
})

// Errnos completes the last element of an --errno list with an errno name not already in the list.
func Errnos(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	done, term := "", strings.ToUpper(toComplete)
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		done, term = toComplete[:i+1], strings.ToUpper(toComplete[i+1:])
	}
	have := strings.Split(strings.ToUpper(done), ",")
	var out []cobra.Completion
	for _, n := range errnoNames() {
		if strings.HasPrefix(n, term) && !slices.Contains(have, n) {
			out = append(out, done+n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}
