// Package recording reads a recording: a file of the JSON lines `kubectl swoll trace -o json`, `top -o json`
// and the agent's local mode write (events, notices and snapshots of package event), for `report`,
// `top --replay` and `trace --summary --replay`, with no cluster.
package recording

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/swoll-dev/swoll/event"
)

// maxLine bounds one line (an event with large captures stays far below).
const maxLine = 16 << 20

// Stats says what a read found.
type Stats struct {
	Events, Notices, Snapshots int
	// Bad counts lines that are none of the three; FirstBad quotes the first one (shortened).
	Bad      int
	FirstBad string
}

// Lines is the count of lines that were read.
func (s Stats) Lines() int { return s.Events + s.Notices + s.Snapshots + s.Bad }

// Read calls fn for every line of r, in order. A malformed line is counted, not fatal: a recording cut off
// by a killed session still reads. It fails only on a read error, or when no line at all could be decoded.
func Read(r io.Reader, fn func(*event.Line)) (Stats, error) {
	var st Stats
	br := bufio.NewReaderSize(r, 1<<20)
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br)
		if len(bytes.TrimSpace(line)) > 0 {
			var l event.Line
			if derr := Decode(line, &l); derr != nil {
				st.Bad++
				if st.FirstBad == "" {
					st.FirstBad = fmt.Sprintf("line %d: %v", lineNo, derr)
				}
			} else {
				switch {
				case l.Snapshot != nil:
					st.Snapshots++
				case l.Notice != nil:
					st.Notices++
				default:
					st.Events++
				}
				fn(&l)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("reading the recording: %w", err)
		}
	}
	if st.Bad > 0 && st.Lines() == st.Bad {
		return st, fmt.Errorf("not a recording (no event, notice or snapshot line): %s", st.FirstBad)
	}
	return st, nil
}

func readLine(br *bufio.Reader) ([]byte, error) {
	var long []byte
	for {
		frag, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(frag) <= maxLine {
				long = append(long, frag...)
			}
			continue
		}
		if long != nil {
			long = append(long, frag...)
			if len(long) > maxLine {
				return []byte("{}"), err // too long: reported as undecodable
			}
			return long, err
		}
		return frag, err
	}
}

// Decode decodes one line into l (reset first). An event must name its system call.
func Decode(line []byte, l *event.Line) error {
	*l = event.Line{}
	line = bytes.TrimSpace(line)
	if err := json.Unmarshal(line, l); err != nil {
		return errors.New("not JSON")
	}
	switch {
	case l.Snapshot != nil || l.Notice != nil:
		l.Event = nil
		return nil
	case l.Event != nil && l.Syscall.Name != "":
		return nil
	}
	return errors.New("neither an event, a notice nor a snapshot")
}

// ReadFile reads a recording file; "-" is stdin.
func ReadFile(path string, stdin io.Reader, fn func(*event.Line)) (Stats, error) {
	if path == "-" {
		return Read(stdin, fn)
	}
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, fmt.Errorf("opening the recording: %w", err)
	}
	defer func() { _ = f.Close() }()
	st, err := Read(f, fn)
	if err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}
