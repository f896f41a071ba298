package decode

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// appendIPv6 must agree with net/netip, which implements RFC 5952, on every shape of zero runs.
func TestAppendIPv6MatchesNetip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var a [16]byte
	for range 20000 {
		for i := range 8 {
			switch rng.IntN(3) {
			case 0: // zero group, to make runs likely
				a[2*i], a[2*i+1] = 0, 0
			case 1:
				a[2*i], a[2*i+1] = 0, byte(rng.IntN(256))
			default:
				a[2*i], a[2*i+1] = byte(rng.IntN(256)), byte(rng.IntN(256))
			}
		}
		if rng.IntN(10) == 0 { // IPv4-mapped
			copy(a[:], make([]byte, 10))
			a[10], a[11] = 0xff, 0xff
		}
		want := netip.AddrFrom16(a).String()
		if got := string(appendIPv6(nil, a[:])); got != want {
			t.Fatalf("% x: got %s, want %s", a, got, want)
		}
	}
}
