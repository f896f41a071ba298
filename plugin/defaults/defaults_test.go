package defaults

import (
	"testing"
	"time"
)

func TestAgentDeadline(t *testing.T) {
	tests := []struct {
		deadline, duration, want time.Duration
	}{
		{0, 0, UnboundedDeadline},
		{0, 10 * time.Minute, 10*time.Minute + DeadlineMargin},
		{20 * time.Minute, 10 * time.Minute, 20 * time.Minute},
		{20 * time.Minute, 0, 20 * time.Minute},
	}
	for _, tc := range tests {
		if got := AgentDeadline(tc.deadline, tc.duration); got != tc.want {
			t.Errorf("AgentDeadline(%s, %s) = %s, want %s", tc.deadline, tc.duration, got, tc.want)
		}
	}
}
