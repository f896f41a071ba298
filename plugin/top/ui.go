package top

import (
	"fmt"
	"io"
	"strings"
	"sync"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/summary"
)

// UI is the live terminal table. Run it with Start; Show feeds it frames; q or Ctrl-C calls Quit, then the
// terminal is restored when the program ends.
type UI struct {
	prog  *tea.Program
	done  chan error
	hooks *hooks
}

// hooks are shared by the UI and its model (which bubbletea copies).
type hooks struct {
	mu    sync.Mutex
	quit  func()
	split func(bool)
}

func (h *hooks) onQuit() {
	h.mu.Lock()
	f := h.quit
	h.mu.Unlock()
	if f != nil {
		f()
	}
}

// frameMsg carries a new frame to the model.
type frameMsg Frame

// model is the bubbletea model: the latest frame, the sort order, the filter and the scroll position.
type model struct {
	frame   Frame
	sortBy  string
	split   bool
	filter  string
	editing bool
	offset  int
	width   int
	height  int
	hooks   *hooks
}

// NewUI makes the UI on a terminal (in, out). split is called when the user toggles the errno split.
func NewUI(in io.Reader, out io.Writer, split func(bool)) *UI {
	h := &hooks{split: split}
	m := model{sortBy: ByCalls, hooks: h}
	return &UI{
		prog:  tea.NewProgram(m, tea.WithInput(in), tea.WithOutput(out), tea.WithAltScreen()),
		done:  make(chan error, 1),
		hooks: h,
	}
}

// SetQuit sets what q and Ctrl-C do (before Start): end the session.
func (u *UI) SetQuit(f func()) {
	u.hooks.mu.Lock()
	u.hooks.quit = f
	u.hooks.mu.Unlock()
}

// Start runs the UI in the background.
func (u *UI) Start() {
	go func() {
		_, err := u.prog.Run()
		u.done <- err
	}()
}

// Show implements Display.
func (u *UI) Show(f Frame, _ *event.Snapshot) error {
	u.prog.Send(frameMsg(f))
	return nil
}

// Stop ends the UI and waits until the terminal is restored.
func (u *UI) Stop() error {
	u.prog.Quit()
	return <-u.done
}

func (m model) Init() tea.Cmd { return nil }

func (m model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case frameMsg:
		m.frame = Frame(msg)
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
			// keys that arrived in one read (typed fast, sent by a script) come as one message: each is a key
			var next tea.Model = m
			for _, r := range msg.Runes {
				next, _ = next.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt})
			}
			return next, nil
		}
		if m.editing {
			switch msg.Type {
			case tea.KeyEnter:
				m.editing = false
			case tea.KeyEsc:
				m.editing, m.filter = false, ""
			case tea.KeyBackspace:
				if m.filter != "" {
					m.filter = m.filter[:len(m.filter)-1]
				}
			case tea.KeyCtrlC:
				return m.stop()
			case tea.KeyRunes, tea.KeySpace:
				m.filter += string(msg.Runes)
			}
			return m, nil
		}
		switch msg.String() {
		case "q", "ctrl+c":
			return m.stop()
		case "c":
			m.sortBy = ByCalls
		case "e":
			m.sortBy = ByErrors
		case "p":
			m.sortBy = ByP99
		case "n":
			m.sortBy = ByName
		case "x":
			m.split = !m.split
			if m.hooks.split != nil {
				m.hooks.split(m.split)
			}
		case "/":
			m.editing = true
		case "esc":
			m.filter = ""
		case "down", "j":
			m.offset++
		case "up", "k":
			m.offset = max(m.offset-1, 0)
		}
	}
	return m, nil
}

// stop ends the session; the UI stays up (showing the teardown's status) until Stop.
func (m model) stop() (tea.Model, tea.Cmd) {
	m.hooks.onQuit()
	m.frame.Status = "stopping: removing the agent pods..."
	return m, nil
}

func (m model) View() string {
	var b strings.Builder
	by := m.sortBy
	split := "off"
	if m.split {
		split = "on"
	}
	fmt.Fprintf(&b, "kubectl swoll top — %s, last %s — sort: %s — per errno: %s\n",
		m.frame.Time.Format("15:04:05"), m.frame.Interval, by, split)
	if m.frame.Status != "" {
		b.WriteString(clip(summary.Escape(m.frame.Status)+"\n", m.width))
	}
	rows := Filter(append([]Row(nil), m.frame.Rows...), m.filter)
	SortRows(rows, by)
	room := m.height - 5
	if room < 1 {
		room = 20
	}
	off := min(m.offset, max(len(rows)-room, 0))
	end := min(off+room, len(rows))
	writeTable(&b, rows[off:end], m.width)
	for i := end - off; i < room; i++ {
		b.WriteString("\n")
	}
	keys := "q quit · c/e/p/n sort by calls/errors/p99/name · x per errno · / filter · ↑↓ scroll"
	if m.editing {
		keys = "filter: " + m.filter + "▏ (enter to apply, esc to clear)"
	} else if m.filter != "" {
		keys = fmt.Sprintf("filter %q (esc clears) · ", m.filter) + keys
	}
	b.WriteString(clip(keys, m.width))
	return b.String()
}
