package decode

import (
	"testing"

	"github.com/swoll-dev/swoll/syscalls"
)

// TestArgDecodersComplete: the decoder renders every syscalls.ArgType in exactly one way, which agrees
// with the type's direction. A type added to package syscalls without its entry here fails: it would
// otherwise print as its raw value.
func TestArgDecodersComplete(t *testing.T) {
	for at := range syscalls.NumArgTypes {
		a := &argDecoders[at]
		if !a.complete() {
			t.Errorf("%s: no argDecoder, or more than one way to render it: %+v", at, *a)
			continue
		}
		if decoderOf(at) != a {
			t.Errorf("%s: decoderOf does not return its entry", at)
		}
		switch dir := at.Info().Dir; {
		case a.target != nil && (dir == syscalls.DirValue || dir == syscalls.DirByCommand):
			t.Errorf("%s: rendered from a capture, but of direction %d", at, dir)
		case (a.text != nil || a.value != nil) && dir != syscalls.DirValue && dir != syscalls.DirByCommand:
			t.Errorf("%s: a pointer to data (direction %d) rendered as a value", at, dir)
		}
		if a.cut && a.target == nil {
			t.Errorf("%s: cut is for targets", at)
		}
	}
	if decoderOf(syscalls.NumArgTypes) != &rawArg {
		t.Error("a value that is no ArgType is not rendered raw")
	}
}

// TestRelationsResolve: every argument whose rendering depends on another finds it in every call of its
// type, on every architecture.
func TestRelationsResolve(t *testing.T) {
	for _, arch := range syscalls.Arches {
		d := New(Options{Arch: arch})
		for _, c := range d.calls {
			if c == nil {
				continue
			}
			for i := range c.params {
				p := &c.params[i]
				if p.dec.related == relNone {
					continue
				}
				// open's mode without flags (creat) renders without them; nothing else may.
				creat := p.dec.related == relOpenFlags && p.related == -1
				if (p.related < 0 || p.related >= len(c.params) || p.related == i) && !creat {
					t.Errorf("%s: %s param %d depends on param %d", arch, c.spec.Name, i, p.related)
				}
			}
		}
	}
}
