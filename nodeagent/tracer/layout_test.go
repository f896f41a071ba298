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

// The fd descriptions of -y (bpf/fdpath.h's struct fd_info, struct fd_sock) and record's reading of them agree.
func TestFdLayoutMatchesProbe(t *testing.T) {
	info := bpf.ProbeFdInfo{Kind: uint8(record.FdSocket), Flags: 3, Magic: 0x534f434b, Ino: 77, Mode: 0o140777, Rdev: 1<<20 | 3}
	sock := bpf.ProbeFdSock{Family: 2, Type: 1, Protocol: 6, Sport: 80, Dport: 4242, AddrLen: 3, Peer: 9, Portid: 11}
	sock.Src[0], sock.Dst[15] = 127, 1
	copy(sock.Proto[:], []int8{'T', 'C', 'P'})
	capHdr := bpf.ProbeCapHdr{Arg: 8 + record.FdRet, Len: uint16(binary.Size(info) + binary.Size(sock) + 3)}
	h := bpf.ProbeRecHdr{Ncaps: 1}
	h.Size = uint32(binary.Size(h)) + 4 + uint32(capHdr.Len)
	var b bytes.Buffer
	for _, v := range []any{h, capHdr, info, sock, []byte("/un")} {
		if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
			t.Fatal(err)
		}
	}
	var r record.Record
	if err := record.Parse(b.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	f := r.Fds[record.FdRet]
	if !f.Present || f.Kind != record.FdSocket || !f.Deleted || !f.Truncated || f.Magic != info.Magic || f.Ino != 77 ||
		f.Mode != info.Mode || f.Rdev != info.Rdev {
		t.Errorf("fd: %+v", f)
	}
	s, ok := f.Socket()
	if !ok || s.Family != 2 || s.Type != 1 || s.Protocol != 6 || s.SrcPort != 80 || s.DstPort != 4242 || s.Peer != 9 ||
		s.PortID != 11 || s.Src[0] != 127 || s.Dst[15] != 1 || string(s.Proto) != "TCP" || string(s.Path) != "/un" {
		t.Errorf("socket: %+v, %v", s, ok)
	}
	var cf bpf.CountCallFds
	if binary.Size(cf) != binary.Size(bpf.ProbeCallFds{}) {
		t.Errorf("call_fds: %d bytes in the counting object, %d in the probe", binary.Size(cf), binary.Size(bpf.ProbeCallFds{}))
	}
}
