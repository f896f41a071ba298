package decode

import (
	"encoding/json"
	"testing"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/render"
	"github.com/swoll-dev/swoll/syscalls"
)

// structCalls lists, per architecture, one call for each type of parameter the probe copies (strings,
// buffers, sockaddrs, structs), and which parameter: FuzzStructDecoders feeds each of them the same bytes.
func structCalls(arch syscalls.Arch) []struct {
	nr  uint32
	arg int
} {
	t, err := syscalls.ForArch(arch)
	if err != nil {
		return nil
	}
	var out []struct {
		nr  uint32
		arg int
	}
	seen := map[syscalls.ArgType]bool{}
	for _, s := range t.All() {
		for i, p := range s.Params {
			if i < record.MaxArgs && s.Capture(i).Kind != syscalls.CaptureNone && !seen[p.Type] {
				seen[p.Type] = true
				out = append(out, struct {
					nr  uint32
					arg int
				}{uint32(s.Nr), i})
			}
		}
	}
	return out
}

// FuzzStructDecoders gives every struct, sockaddr, string and buffer decoder of both architectures the
// same captured bytes, with arguments and returns that select every branch (success, failure, counts), and
// checks that each line is valid JSON that the CLI formatter renders the same in the agent and the plugin.
func FuzzStructDecoders(f *testing.F) {
	f.Add([]byte{}, int64(0), uint64(2), uint64(0), false)
	f.Add([]byte("\x01\x00\x00\x00\x05\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff"), int64(1), uint64(40), uint64(7), true)
	f.Add(make([]byte, 400), int64(-4), uint64(1), uint64(0x10), false)
	// ioctl requests whose argument is a struct (count lands in args[1]: the request) and segmented captures
	f.Add([]byte("\x00\x05\x00\x00\x05\x00\x00\x00\xbf\x00\x00\x00;\x8a\x00\x00\x00\x03\x1c\x7f\x15\x04\x00\x01\x00\x11\x13\x1a\x00\x12\x0f\x17\x16\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
		int64(0), uint64(0x5401), uint64(0), false)
	f.Add([]byte("\x10\x00\x00\x00\xfd\x7f\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x05\x00hello"), int64(5), uint64(1), uint64(0), false)
	f.Add([]byte("\x18\x00\x00\x00\x00\x00\x00\x00\x14\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x05\x00\x00\x00"), int64(0), uint64(0x5415), uint64(0x18), false)
	decoders := map[syscalls.Arch]*Decoder{}
	calls := map[syscalls.Arch][]struct {
		nr  uint32
		arg int
	}{}
	for _, arch := range syscalls.Arches {
		decoders[arch] = New(testOptions(arch))
		calls[arch] = structCalls(arch)
	}
	f.Fuzz(func(t *testing.T, data []byte, ret int64, count, other uint64, truncated bool) {
		for arch, d := range decoders {
			for _, sc := range calls[arch] {
				rec := &record.Record{Nr: sc.nr, Ret: ret, Args: [6]uint64{other, count, count, other, count, other}}
				rec.Args[sc.arg] = 0x7ffd0000
				rec.Captures[sc.arg] = record.Capture{Present: true, Data: data, Truncated: truncated}
				line := d.AppendJSON(nil, rec)
				checkJSONLine(t, string(arch), line)
				var e event.Event
				if err := json.Unmarshal(line, &e); err != nil {
					t.Fatal(err)
				}
				if agent, plugin := d.AppendCLI(nil, rec), render.AppendEvent(nil, &e); string(agent) != string(plugin) {
					t.Fatalf("%s: agent and plugin CLI lines differ:\nagent  %q\nplugin %q", arch, agent, plugin)
				}
			}
		}
	})
}
