package decode

import (
	"encoding/json"
	"testing"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/syscalls"
)

// A target's restart count is stamped on its events when known (0 included), and left out when not.
func TestRestartCountIsStamped(t *testing.T) {
	tests := []struct {
		name    string
		restart int // -1: unknown
	}{
		{"unknown", -1},
		{"first run", 0},
		{"fourth run", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(testOptions(syscalls.AMD64))
			tg := testTarget()
			if tt.restart >= 0 {
				n := tt.restart
				tg.RestartCount = &n
				d.SetTarget(targetID, tg)
				n = 99 // the decoder must have copied it
			} else {
				d.SetTarget(targetID, tg)
			}
			var ev event.Event
			if err := json.Unmarshal(d.AppendJSON(nil, typicalOpenat(t)), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Container == nil {
				t.Fatal("no container")
			}
			switch got := ev.Container.RestartCount; {
			case tt.restart < 0 && got != nil:
				t.Errorf("restart_count %d, want none", *got)
			case tt.restart >= 0 && (got == nil || *got != tt.restart):
				t.Errorf("restart_count %v, want %d", got, tt.restart)
			}
			if ev.Container.Name != "nginx" || len(ev.Container.Labels) != 2 {
				t.Errorf("container %+v lost its other fields", ev.Container)
			}
		})
	}
}
