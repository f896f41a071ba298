package serve

import (
	"github.com/swoll-dev/swoll/eventline"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/wire"
)

// PartsDecoder is a Decoder that also renders a record in parts (decode.Decoder): what the binary framing of
// the event stream carries (package wire). A session whose decoder is not one writes JSON lines.
type PartsDecoder interface {
	Decoder
	Parts(rec *record.Record) *eventline.Parts
}

// chooseFraming is the framing the session writes after its ready notice: the plugin's choice (wire.Choose,
// which run checked before the session was set up) among what this agent writes; JSON lines in counting mode
// (a snapshot a second) and for a decoder without parts.
func (s *session) chooseFraming() string {
	f, err := wire.Choose(s.start.Framings)
	if _, ok := s.dec.(PartsDecoder); err != nil || !ok || s.start.Count {
		return wire.JSON
	}
	return f
}

// binaryDecoder writes events in the binary framing: its AppendJSON appends an event's ops (wire.Encoder)
// rather than its JSON line. Used under the output lock, like every Decoder of a session.
type binaryDecoder struct {
	PartsDecoder
	enc *wire.Encoder
}

func (b binaryDecoder) AppendJSON(dst []byte, rec *record.Record) []byte {
	return b.enc.AppendEvent(dst, b.Parts(rec))
}

// switchFramingLocked starts the session's framing right after the ready notice was queued: from here on the
// events are ops, the notices opLines, and each write of the output a frame. Called with the output lock held,
// in the critical section that queued the ready notice, so that nothing comes between.
func (s *session) switchFramingLocked() {
	if !wire.IsBinary(s.framing) {
		return
	}
	s.enc = wire.NewEncoder()
	s.dec = binaryDecoder{PartsDecoder: s.dec.(PartsDecoder), enc: s.enc}
	framer := wire.NewFramer(s.framing == wire.BinaryZstd)
	s.out.FrameLocked(framer.Append)
}
