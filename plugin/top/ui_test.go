package top

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"
)

// A "«...»" span is one message of several runes: what bubbletea sends when keys arrive in one read (typed fast,
// sent by a script, or pasted without bracketed paste).
func keys(s string) []tea.KeyMsg {
	var out []tea.KeyMsg
	for len(s) > 0 {
		if rest, ok := strings.CutPrefix(s, "«"); ok {
			run, after, _ := strings.Cut(rest, "»")
			out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(run)})
			s = after
			continue
		}
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		switch r {
		case '\n':
			out = append(out, tea.KeyMsg{Type: tea.KeyEnter})
		case '\x1b':
			out = append(out, tea.KeyMsg{Type: tea.KeyEsc})
		case '\x03':
			out = append(out, tea.KeyMsg{Type: tea.KeyCtrlC})
		default:
			out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		}
	}
	return out
}

// tableRows are the syscall column of the table's rows, in order.
func tableRows(view string) []string {
	var out []string
	lines := strings.Split(view, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "NAMESPACE/POD") {
			continue
		}
		for _, r := range lines[i+1:] {
			f := strings.Fields(r)
			if len(f) < 3 || !strings.Contains(f[0], "/") {
				break
			}
			out = append(out, f[2])
		}
	}
	return out
}

// TestKeys: the live table's keys sort, filter and split rows; q and Ctrl-C end the session, also while a
// filter is being typed.
func TestKeys(t *testing.T) {
	tests := []struct {
		keys   string
		header string   // in the first line
		rows   []string // syscalls in order
		split  bool
		quit   bool
	}{
		{keys: "", header: "sort: calls", rows: []string{"read", "openat", "read"}},
		{keys: "e", header: "sort: errors", rows: []string{"openat", "read", "read"}},
		{keys: "n", header: "sort: name", rows: []string{"openat", "read", "read"}},
		{keys: "x", header: "per errno: on", rows: []string{"read", "openat", "openat", "read"}, split: true},
		{keys: "/openat\n", rows: []string{"openat"}},
		{keys: "/openat\x1b", rows: []string{"read", "openat", "read"}},
		{keys: "/EAG\nn", header: "sort: name", rows: []string{"read"}},
		{keys: "q", rows: []string{"read", "openat", "read"}, quit: true},
		{keys: "\x03", rows: []string{"read", "openat", "read"}, quit: true},
		{keys: "/op\x03", quit: true},
		{keys: "«/openat»\n", rows: []string{"openat"}},
		{keys: "«/EAG»\n«n»", header: "sort: name", rows: []string{"read"}},
		{keys: "«ex»", header: "sort: errors", rows: []string{"openat", "read", "openat", "read"}, split: true},
		{keys: "«nq»", header: "sort: name", quit: true},
	}
	for _, tt := range tests {
		t.Run(strings.NewReplacer("\n", "⏎", "\x1b", "esc", "\x03", "^C", "«", "[", "»", "]").Replace(tt.keys), func(t *testing.T) {
			quit, split := false, false
			h := &hooks{quit: func() { quit = true }, split: func(on bool) { split = on }}
			var m tea.Model = model{sortBy: ByCalls, hooks: h, width: 200, height: 30}
			m, _ = m.Update(frameMsg(Frame{Time: time.Unix(0, 0), Interval: time.Second, Rows: Rows(rows(), time.Second, false)}))
			for _, k := range keys(tt.keys) {
				m, _ = m.Update(k)
			}
			if m.(model).split {
				m, _ = m.Update(frameMsg(Frame{Time: time.Unix(0, 0), Interval: time.Second, Rows: Rows(rows(), time.Second, true)}))
			}
			view := m.View()
			if quit != tt.quit || split != tt.split {
				t.Errorf("quit %v split %v, want %v %v", quit, split, tt.quit, tt.split)
			}
			if first, _, _ := strings.Cut(view, "\n"); !strings.Contains(first, tt.header) {
				t.Errorf("header %q, want %q", first, tt.header)
			}
			if tt.rows != nil && strings.Join(tableRows(view), " ") != strings.Join(tt.rows, " ") {
				t.Errorf("rows %v, want %v; view:\n%s", tableRows(view), tt.rows, view)
			}
			if tt.quit && !strings.Contains(view, "stopping") {
				t.Errorf("after quitting the table does not say it stops:\n%s", view)
			}
		})
	}
}
