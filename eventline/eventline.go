// Package eventline is an event's JSON line in parts, and the one code that joins the parts into the line.
//
// The agent's decoder (nodeagent/decode) renders what it knows of a record into Parts; the line an agent writes
// in JSON lines framing and the line the plugin prints from the binary framing (package wire) are both joined
// here, so that the plugin's JSON output is the agent's byte for byte. The parts that change rarely (the call's
// prefix, the thread's identity, the namespaces, the container) are rendered JSON that the binary framing sends
// once per stream; the numbers that change with every call (times, the return value) are kept as numbers.
//
// A key added to the event line belongs in a part: AfterReturn holds keys between "return" and "pid_ns",
// AfterArgs keys after "args". Package wire carries every part (its tests fail for a part it does not carry).
package eventline

import "strconv"

// Parts is one event line in parts, in the key order of event.Event. The byte slices are read by Join only;
// they may alias the renderer's buffers until the next event.
type Parts struct {
	// Prefix is `{"syscall":{...},"start":`: the call's object, the same for every event of the call.
	Prefix []byte
	// Start and Finish are wall-clock Unix nanoseconds.
	Start, Finish int64
	// Identity is `,"pid":1,"tid":1,"container_pid":1,"uid":0,"gid":0,"comm":"sh"`: the thread's.
	Identity []byte
	// Session is `,"session":"...","error":"`: the same for every event of a session.
	Session []byte
	// Error is the errno name or "OK".
	Error string
	// Return is the call's return value.
	Return int64
	// AfterReturn is keys that follow "return" (each with its leading comma), or nothing.
	AfterReturn []byte
	// Namespaces is `,"pid_ns":1,"uts_ns":2,"mount_ns":3`.
	Namespaces []byte
	// Target is `,"container":{...},"node":"..."`, or `,"node":"..."`, or nothing.
	Target []byte
	// Args is the args object.
	Args []byte
	// AfterArgs is keys that follow "args" (each with its leading comma), or nothing.
	AfterArgs []byte
}

// Joiner joins Parts into lines. It keeps the digits of the last second it rendered, so it is not safe for
// concurrent use: one per stream.
type Joiner struct {
	ts timeCache
}

// Append appends p's line, ending in '\n'. It does not allocate beyond growing dst.
func (j *Joiner) Append(dst []byte, p *Parts) []byte {
	return append(j.AppendOpen(dst, p), '}', '\n')
}

// AppendOpen appends p's line without its closing brace and newline, for a writer that adds keys of its own
// after the parts' before it closes the line.
func (j *Joiner) AppendOpen(dst []byte, p *Parts) []byte {
	dst = append(dst, p.Prefix...)
	dst = j.ts.appendTime(dst, p.Start)
	dst = append(dst, `,"finish":`...)
	dst = j.ts.appendTime(dst, p.Finish)
	dst = append(dst, p.Identity...)
	dst = append(dst, p.Session...)
	dst = append(dst, p.Error...)
	dst = append(dst, `","return":`...)
	dst = strconv.AppendInt(dst, p.Return, 10)
	dst = append(dst, p.AfterReturn...)
	dst = append(dst, p.Namespaces...)
	dst = append(dst, p.Target...)
	dst = append(dst, `,"args":`...)
	dst = append(dst, p.Args...)
	return append(dst, p.AfterArgs...)
}

// timeCache holds the digits of the last second a timestamp fell in: consecutive events mostly fall in the
// same second, and nineteen-digit numbers are expensive to format.
type timeCache struct {
	sec   int64
	valid bool
	n     int
	buf   [20]byte
}

// appendTime renders Unix nanoseconds ns in decimal.
func (c *timeCache) appendTime(dst []byte, ns int64) []byte {
	if ns < 1e9 {
		return strconv.AppendInt(dst, ns, 10)
	}
	sec, frac := ns/1e9, ns%1e9
	if !c.valid || c.sec != sec {
		c.sec, c.valid = sec, true
		c.n = len(strconv.AppendInt(c.buf[:0], sec, 10))
	}
	dst = append(dst, c.buf[:c.n]...)
	var digits [9]byte
	for i := 8; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	return append(dst, digits[:]...)
}
