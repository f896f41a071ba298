//go:build linux

package tracer

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// ringReader reads the probe's BPF ring buffer through its memory mapping, a batch at a time: it loads the
// producer position once per batch and publishes its consumer position once per batch. A reader that does
// both per record makes the traced call pay for them: the probe writes the producer position and reads the
// consumer position on every record, and when the reader runs on another CPU each of those accesses moves a
// cache line between CPUs (measured at 60-90 ns per traced call on a 2-CPU VM).
type ringReader struct {
	cons  []byte // the consumer page (read-write); the consumer position is its first word
	prod  []byte // the producer page (its first word is the producer position), then the data mapped twice
	data  []byte // the data pages, twice in a row: a record that wraps around is contiguous
	mask  uint64
	size  int
	wake  int // an eventfd that interrupt signals to end a wait
	polls []unix.PollFd
	// closing is set by interrupt: the reader must stop.
	closing atomic.Bool
}

// Ring record header (8 bytes): the length with two flag bits, then the page offset the kernel uses.
const (
	ringHeaderSize = 8
	ringBusyBit    = 1 << 31 // reserved, not yet submitted
	ringDiscardBit = 1 << 30 // discarded: skip
)

// errRingCorrupt means a record header points outside the ring: a kernel or probe bug, never user input.
var errRingCorrupt = errors.New("a ring buffer record runs past the ring")

func newRing(m *ebpf.Map) (*ringReader, error) {
	fd := m.FD()
	size := int(m.MaxEntries())
	page := os.Getpagesize()
	cons, err := unix.Mmap(fd, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping the ring buffer's consumer page: %w", err)
	}
	prod, err := unix.Mmap(fd, int64(page), page+2*size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		_ = unix.Munmap(cons)
		return nil, fmt.Errorf("mapping the ring buffer's data: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Munmap(prod)
		_ = unix.Munmap(cons)
		return nil, fmt.Errorf("creating the reader's wakeup eventfd: %w", err)
	}
	return &ringReader{
		cons: cons,
		prod: prod,
		data: prod[page:],
		mask: uint64(size - 1),
		size: size,
		wake: wake,
		polls: []unix.PollFd{
			{Fd: int32(fd), Events: unix.POLLIN},
			{Fd: int32(wake), Events: unix.POLLIN},
		},
	}, nil
}

func (r *ringReader) consPos() *uint64 { return (*uint64)(unsafe.Pointer(&r.cons[0])) }
func (r *ringReader) prodPos() *uint64 { return (*uint64)(unsafe.Pointer(&r.prod[0])) }

// consume hands fn the records submitted so far, at most limit of them, in order. fn's slice aliases the ring
// and is valid only during the call. It returns how many records fn saw; busy says that it stopped at a
// record still being written; stopped that fn returned false (that record counts as consumed).
func (r *ringReader) consume(limit int, fn func(sample []byte) bool) (n int, busy, stopped bool, err error) {
	cons := atomic.LoadUint64(r.consPos())
	prod := atomic.LoadUint64(r.prodPos())
	published := cons
	// Publish now and then within a long batch, so that the probe sees the space free up.
	publishEvery := uint64(r.size / 4)
	for cons < prod && n < limit {
		off := cons & r.mask
		// An atomic load orders the record's data after the kernel's release of its header.
		hdr := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.data[off])))
		if hdr&ringBusyBit != 0 {
			busy = true
			break
		}
		length := uint64(hdr &^ (ringBusyBit | ringDiscardBit))
		start := off + ringHeaderSize
		if start+length > uint64(len(r.data)) {
			err = errRingCorrupt
			break
		}
		next := cons + ringHeaderSize + (length+7)&^7
		if hdr&ringDiscardBit == 0 {
			n++
			if !fn(r.data[start : start+length : start+length]) {
				cons = next
				stopped = true
				break
			}
		}
		cons = next
		if cons-published >= publishEvery {
			atomic.StoreUint64(r.consPos(), cons)
			published = cons
		}
	}
	if cons != published {
		atomic.StoreUint64(r.consPos(), cons)
	}
	return n, busy, stopped, err
}

// wait blocks until the probe wakes the reader, records are pending, timeout passes or Close is called.
func (r *ringReader) wait(timeout time.Duration) error {
	_, err := unix.Poll(r.polls, int(timeout/time.Millisecond))
	if err != nil && !errors.Is(err, unix.EINTR) {
		return fmt.Errorf("waiting for the ring buffer: %w", err)
	}
	return nil
}

// interrupt ends a running wait and every later one.
func (r *ringReader) interrupt() {
	r.closing.Store(true)
	var one [8]byte
	one[0] = 1 // the eventfd counter is a native-endian uint64; every supported GOARCH is little-endian
	_, _ = unix.Write(r.wake, one[:])
}

// close unmaps the ring. No consume or wait may run or follow.
func (r *ringReader) close() error {
	return errors.Join(unix.Munmap(r.prod), unix.Munmap(r.cons), unix.Close(r.wake))
}
