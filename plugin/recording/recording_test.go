package recording

import (
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/event"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Stats
		wantErr bool
	}{
		{"mixed", `{"syscall":{"name":"openat"},"start":1,"finish":2,"error":"OK"}
{"notice":{"kind":"lost","lost":3}}

{"snapshot":{"from":1,"to":2,"rows":[]}}
{"syscall":{"name":"read"},"start":1,"finish":2`, Stats{Events: 1, Notices: 1, Snapshots: 1, Bad: 1}, false},
		{"not a recording", "hello\nworld\n", Stats{Bad: 2}, true},
		{"empty", "", Stats{}, false},
		{"an object that is none of them", `{"x":1}`, Stats{Bad: 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []*event.Line
			st, err := Read(strings.NewReader(tt.in), func(l *event.Line) { c := *l; got = append(got, &c) })
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			st.FirstBad = ""
			if st != tt.want {
				t.Errorf("stats %+v, want %+v", st, tt.want)
			}
			if len(got) != tt.want.Events+tt.want.Notices+tt.want.Snapshots {
				t.Errorf("%d lines handed out", len(got))
			}
		})
	}
}
