//go:build linux

package hold

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

type result struct {
	outcome Outcome
	err     error
}

func startWait(ctx context.Context, path string, wait time.Duration) chan result {
	done := make(chan result, 1)
	go func() {
		o, err := Wait(ctx, path, wait, 2*time.Millisecond)
		done <- result{o, err}
	}()
	return done
}

func expect(t *testing.T, done chan result, want Outcome) {
	t.Helper()
	select {
	case r := <-done:
		if r.err != nil || r.outcome != want {
			t.Fatalf("Wait = %v, %v; want %v", r.outcome, r.err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Wait did not return; want %v", want)
	}
}

func TestNoSession(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run/swoll/session.lock")
	expect(t, startWait(context.Background(), path, 20*time.Millisecond), NoSession)
}

func TestSessionEnded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.lock")
	// A session of an earlier holder must not count.
	stale, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	stale()
	release, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	// A session is running from the start: the wait must not expire while it runs.
	probes := make(chan struct{}, 3)
	afterProbe = func() {
		select { // the first polls are counted; later ones never wait on a test that stopped counting
		case probes <- struct{}{}:
		default:
		}
	}
	defer func() { afterProbe = func() {} }()
	done := startWait(context.Background(), path, time.Millisecond)
	for range 3 { // well past the deadline
		<-probes
	}
	second, err := Acquire(path) // sessions overlap
	if err != nil {
		t.Fatal(err)
	}
	release()
	select {
	case r := <-done:
		t.Fatalf("Wait returned %v while a session was running", r.outcome)
	default:
	}
	second()
	expect(t, done, SessionsEnded)
}

func TestShortSessionBetweenPolls(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.lock")
	probed, resume := make(chan struct{}), make(chan struct{})
	first := true
	afterProbe = func() {
		if first { // hold the holder between its first two polls
			first = false
			close(probed)
			<-resume
		}
	}
	defer func() { afterProbe = func() {} }()
	done := startWait(context.Background(), path, time.Hour)
	<-probed
	release, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	release()
	close(resume)
	expect(t, done, SessionsEnded)

	// A new holder forgets sessions of the previous one.
	afterProbe = func() {}
	expect(t, startWait(context.Background(), path, 5*time.Millisecond), NoSession)
}

func TestStopped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := startWait(ctx, filepath.Join(t.TempDir(), "l"), time.Hour)
	cancel()
	expect(t, done, Stopped)
}
