package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/nodeagent/decode"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/protocol"
	"github.com/swoll-dev/swoll/syscalls"
	"github.com/swoll-dev/swoll/wire"
)

// framingRecords are records that, with the target framedSession adds, fill every field of an event.
func framingRecords(t *testing.T) []record.Record {
	t.Helper()
	table := syscalls.Native()
	openat, ok := table.ByName("openat")
	if !ok {
		t.Fatal("no openat in the native table")
	}
	ok1 := record.Record{Nr: uint32(openat.Nr), TargetID: 1, Ret: 3, Pid: 10, Tid: 11, NsPid: 1, UID: 1000, GID: 1001,
		PidNS: 4026531836, UtsNS: 4026531838, MntNS: 4026531840, Start: 1_000, Finish: 3_500,
		Args: [record.MaxArgs]uint64{uint64(0xffffff9c), 0, 0o2000000}}
	copy(ok1.Comm[:], "ngi\"nx")
	ok1.Captures[1] = record.Capture{Present: true, Data: []byte("/etc/nginx/nginx.conf")}
	failed := ok1
	failed.Ret, failed.Tid, failed.Start, failed.Finish = -2, 12, 5_000, 5_100
	failed.Captures[1] = record.Capture{Present: true, Truncated: true, Data: []byte("/nope")}
	unknown := ok1
	unknown.Nr, unknown.TargetID, unknown.Start, unknown.Finish = 4000, 0, 4_000, 4_001 // before: times go back too
	return []record.Record{ok1, failed, unknown, ok1}
}

// framedSession runs a session with the real decoder that offers framings, adds a container with every name
// an event carries, feeds framingRecords and returns the ready notice and the event lines as the plugin reads
// them.
func framedSession(t *testing.T, framings string) (*event.Notice, [][]byte) {
	t.Helper()
	h := newHarness(t, func(c *Config) {
		c.NewDecoder = func(node, session string) Decoder {
			return decode.New(decode.Options{Arch: syscalls.Native().Arch(), Node: node, Session: session, MonoToWall: 1_765_000_000_000_000_000})
		}
	})
	h.send(`{"op":"start","start":{"version":2,"node":"node-a","session":"s1","syscalls":["openat"]` + framings + `}}`)
	ready := h.expectNotice(event.NoticeReady)
	h.send(`{"op":"add","target":{"container_id":"containerd://c1","pod":"web-1","namespace":"shop","container":"nginx","image":"nginx:1","restart_count":2,"labels":{"app":"web","tier":"front"}}}`)
	h.expectNotice(event.NoticeTargetAttached)
	recs := framingRecords(t)
	for _, r := range recs {
		h.feed(r)
	}
	for range recs {
		if l := h.next(); l.Event == nil {
			t.Fatalf("got %+v, want an event", l.Notice)
		}
	}
	h.send(`{"op":"stop"}`)
	for {
		l, ok := <-h.lines
		if !ok {
			t.Fatal("no exit notice")
		}
		if l.Notice != nil && l.Notice.Kind == event.NoticeExit {
			break
		}
	}
	h.rawMu.Lock()
	defer h.rawMu.Unlock()
	var events [][]byte
	for _, l := range h.raw {
		if bytes.HasPrefix(l, []byte(`{"syscall":`)) {
			events = append(events, l)
		}
	}
	return ready, events
}

// TestBinaryFramingSameLines: the plugin's lines from a binary framing are the JSON lines byte for byte.
func TestBinaryFramingSameLines(t *testing.T) {
	readyJSON, want := framedSession(t, "")
	if readyJSON.Framing != wire.JSON {
		t.Fatalf("a plugin that offers nothing gets %q, want %q", readyJSON.Framing, wire.JSON)
	}
	for _, f := range []string{wire.Binary, wire.BinaryZstd} {
		ready, got := framedSession(t, `,"framings":["`+f+`","json"]`)
		if ready.Framing != f {
			t.Fatalf("ready notice's framing %q, want %q", ready.Framing, f)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d events, want %d", f, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("%s: event %d\n got %s\nwant %s", f, i, got[i], want[i])
			}
		}
	}
}

// TestFramingCarriesEveryField fails when a field of the event schema (event.Event, its syscall and container
// objects) is not in the lines of TestBinaryFramingSameLines' session: whoever adds a field makes these records
// fill it, and the comparison above then proves the binary framing carries it.
func TestFramingCarriesEveryField(t *testing.T) {
	_, lines := framedSession(t, `,"framings":["`+wire.Binary+`"]`)
	seen := map[string]bool{}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatal(err)
		}
		collectKeys(m, "", seen)
	}
	var missing []string
	for _, k := range schemaKeys(reflect.TypeOf(event.Event{}), "") {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("no event of the test has %s: make framingRecords (and its target) fill them", strings.Join(missing, ", "))
	}
}

// schemaKeys are the JSON keys of a struct type, nested objects' as "outer.inner"; maps and raw JSON are
// leaves.
func schemaKeys(typ reflect.Type, prefix string) []string {
	var keys []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || name == "" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		keys = append(keys, prefix+name)
		if ft.Kind() == reflect.Struct {
			keys = append(keys, schemaKeys(ft, prefix+name+".")...)
		}
	}
	return keys
}

func collectKeys(m map[string]any, prefix string, seen map[string]bool) {
	for k, v := range m {
		seen[prefix+k] = true
		if sub, ok := v.(map[string]any); ok && k != "args" && k != "labels" {
			collectKeys(sub, prefix+k+".", seen)
		}
	}
}

// TestUnknownFramingRefused: a plugin that reads no framing this agent writes gets one error notice.
func TestUnknownFramingRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.send(`{"op":"start","start":{"version":2,"node":"node-a","session":"s1","framings":["swoll-binary/9"]}}`)
	n := h.expectNotice(event.NoticeError)
	if !strings.Contains(n.Message, "swoll-binary/9") || !strings.Contains(n.Message, wire.Binary) || strings.Contains(n.Message, "\n") {
		t.Fatalf("error notice %q, want one line naming both sides' framings", n.Message)
	}
	if err := <-h.done; !errors.Is(err, wire.ErrNoFraming) {
		t.Fatalf("Run = %v, want ErrNoFraming", err)
	}
}

// TestCountingWritesJSON: counting mode keeps JSON lines whatever the plugin offers (a snapshot a second).
func TestCountingWritesJSON(t *testing.T) {
	s := &session{start: &protocol.Start{Count: true, Framings: []string{wire.Binary}},
		dec: decode.New(decode.Options{Arch: syscalls.Native().Arch()})}
	if f := s.chooseFraming(); f != wire.JSON {
		t.Fatalf("counting mode writes %q, want %q", f, wire.JSON)
	}
	s.start.Count = false
	if f := s.chooseFraming(); f != wire.Binary {
		t.Fatalf("tracing writes %q, want %q", f, wire.Binary)
	}
}

// TestBinaryEventPathDoesNotAllocate runs the per-event path of a binary framing with the real decoder.
func TestBinaryEventPathDoesNotAllocate(t *testing.T) {
	s, rec := realEventPath(t)
	defer func() { _ = s.out.Close() }()
	s.framing = wire.Binary
	s.out.Lock()
	s.switchFramingLocked()
	s.out.Unlock()
	s.onRecord(rec) // the strings' definitions
	if allocs := testing.AllocsPerRun(1000, func() { s.onRecord(rec) }); allocs != 0 {
		t.Fatalf("%v allocations per event, want 0", allocs)
	}
}
