//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"time"
)

// pollInterval is how often conditions are re-checked. Tests wait on conditions, never on the clock.
const pollInterval = 200 * time.Millisecond

// pollUntil re-evaluates cond until it returns true, returns an error, or ctx ends. The error names what was
// awaited (format, args) and the last transient error cond reported through lastErr.
func pollUntil(ctx context.Context, cond func(context.Context) (bool, error), format string, args ...any) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		ok, err := cond(ctx)
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", fmt.Sprintf(format, args...), err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s", fmt.Sprintf(format, args...))
		case <-tick.C:
		}
	}
}

// within is pollUntil with its own deadline.
func within(d time.Duration, cond func(context.Context) (bool, error), format string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return pollUntil(ctx, cond, format, args...)
}
