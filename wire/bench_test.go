package wire

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/swoll-dev/swoll/eventline"
)

// benchBatch is about what an agent writes at once when its output is busy: its 256 KiB buffer is written when
// half full, some 6,000 getppid events in the binary framing (and at the latest every flush interval).
const benchBatch = 4096

// BenchmarkFraming reports, for a stream of getppid and one of openat (paths, errors, a few threads), the
// bytes per event on the wire of JSON lines and of the binary framing with and without zstd, and the agent's
// cost to encode (ns/event: the ops and the frame) and the plugin's to decode and join the JSON line.
func BenchmarkFraming(b *testing.B) {
	for _, tc := range []struct {
		name string
		mk   func(int) eventline.Parts
	}{{"getppid", getppid}, {"openat", openat}} {
		events := make([]eventline.Parts, 4096)
		var jsonBytes int
		var j eventline.Joiner
		for i := range events {
			events[i] = tc.mk(i)
			jsonBytes += len(j.Append(nil, &events[i]))
		}
		b.Run(tc.name+"/json", func(b *testing.B) {
			var j eventline.Joiner
			buf := make([]byte, 0, 1<<20)
			for i := 0; b.Loop(); i++ {
				if len(buf) > 1<<19 {
					buf = buf[:0]
				}
				buf = j.Append(buf, &events[i%len(events)])
			}
			b.ReportMetric(float64(jsonBytes)/float64(len(events)), "bytes/event")
		})
		for _, compress := range []bool{false, true} {
			name := tc.name + "/binary"
			if compress {
				name += "+zstd"
			}
			wire := stream(b, compress, benchBatch, events)
			b.Run(name+"/encode", func(b *testing.B) {
				enc, fr := NewEncoder(), NewFramer(compress)
				ops := make([]byte, 0, 1<<20)
				out := make([]byte, 0, 1<<20)
				for i := 0; b.Loop(); i++ {
					ops = enc.AppendEvent(ops, &events[i%len(events)])
					if (i+1)%benchBatch == 0 {
						out = fr.Append(out[:0], ops)
						ops = ops[:0]
					}
				}
				b.ReportMetric(float64(len(wire))/float64(len(events)), "bytes/event")
			})
			b.Run(name+"/decode+join", func(b *testing.B) {
				r := bytes.NewReader(wire)
				br := bufio.NewReaderSize(r, 1<<20)
				d := NewDecoder(br)
				var j eventline.Joiner
				line := make([]byte, 0, 4096)
				for b.Loop() {
					k, err := d.Next()
					if err != nil {
						r.Reset(wire)
						br.Reset(r)
						d = NewDecoder(br)
						continue
					}
					if k == Event {
						line = j.Append(line[:0], d.Parts())
					}
				}
			})
		}
	}
}
