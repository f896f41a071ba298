//go:build linux

package tracer

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/swoll-dev/swoll/bpf"
	"github.com/swoll-dev/swoll/nodeagent/record"
)

// The probe's record header (generated from bpf/probe.c) and record.Parse must agree on every field.
func TestRecordLayoutMatchesProbe(t *testing.T) {
	h := bpf.ProbeRecHdr{
		Nr: 1, Target: 2, Ret: -3, Args: [6]uint64{4, 5, 6, 7, 8, 9}, Start: 10, Finish: 11,
		Pid: 12, Tid: 13, Nspid: 14, Uid: 15, Gid: 16, Pidns: 17, Utsns: 18, Mntns: 19, Ncaps: 1, Flags: 3,
		Cgroup: 20,
	}
	copy(h.Comm[:], []int8{'s', 'h'})
	capHdr := bpf.ProbeCapHdr{Arg: 1, Flags: 2, Len: 3}
	h.Size = uint32(binary.Size(h) + binary.Size(capHdr) + 3)
	var b bytes.Buffer
	for _, v := range []any{h, capHdr, []byte("abc")} {
		if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
			t.Fatal(err)
		}
	}
	if binary.Size(h) != record.HeaderSize {
		t.Fatalf("probe header is %d bytes, parser expects %d", binary.Size(h), record.HeaderSize)
	}
	var r record.Record
	if err := record.Parse(b.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	want := record.Record{
		Nr: 1, TargetID: 2, Ret: -3, Args: [6]uint64{4, 5, 6, 7, 8, 9}, Start: 10, Finish: 11,
		Pid: 12, Tid: 13, NsPid: 14, UID: 15, GID: 16, PidNS: 17, UtsNS: 18, MntNS: 19, Cgroup: 20, CapsDropped: true,
		NoReturn: true,
	}
	copy(want.Comm[:], "sh")
	got := r
	got.Captures = [6]record.Capture{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed %+v\nwant   %+v", got, want)
	}
	if c := r.Captures[1]; !c.Present || c.Faulted || !c.Truncated || string(c.Data) != "abc" {
		t.Errorf("capture: %+v", c)
	}
}
