package eventline

import (
	"strconv"
	"testing"
)

// TestTimeCache checks the cached rendering of timestamps against strconv, across seconds and back.
func TestTimeCache(t *testing.T) {
	var c timeCache
	for _, ns := range []int64{0, 999_999_999, 1_000_000_000, 1_700_000_000_000_000_001, 1_700_000_000_999_999_999,
		1_700_000_001_000_000_000, 1_700_000_000_000_100_000, 42, -5, 9_223_372_036_854_775_807} {
		if got, want := string(c.appendTime(nil, ns)), strconv.FormatInt(ns, 10); got != want {
			t.Errorf("appendTime(%d) = %s, want %s", ns, got, want)
		}
	}
}
