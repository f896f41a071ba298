//go:build linux

// Package hold ties an agent pod's life to its sessions. The pod's main process (`swoll-agent hold`) waits
// while sessions (`swoll-agent session`, exec'd into the pod by the plugin) run, and exits once they are
// over or when none came, so that a pod orphaned by a killed plugin completes on its own.
//
// Sessions hold a shared flock on a lock file for their lifetime and append a line to it; the holder polls
// with a non-blocking exclusive lock: refused means a session is running, granted over a non-empty file means
// one ran and ended. The kernel drops a killed session's lock, so no session can keep the pod alive by dying.
package hold

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultLockPath is the lock file sessions and the holder share (both run in the agent container).
func DefaultLockPath() string { return filepath.Join(os.TempDir(), "swoll-session.lock") }

// Acquire marks a session as running until release is called (or the process dies).
func Acquire(path string) (release func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("session lock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("session lock: %w", err)
	}
	// Shared: sessions may overlap. Blocking: the holder only ever holds its lock for an instant.
	if err := flock(f, unix.LOCK_SH); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("session lock %s: %w", path, err)
	}
	if _, err := f.WriteString(strconv.Itoa(os.Getpid()) + "\n"); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("session lock %s: %w", path, err)
	}
	return func() { _ = f.Close() }, nil
}

// Outcome says why Wait returned.
type Outcome int

const (
	// NoSession: nothing started within the wait.
	NoSession Outcome = iota
	// SessionsEnded: sessions ran and none is left.
	SessionsEnded
	// Stopped: the context ended (SIGTERM).
	Stopped
)

func (o Outcome) String() string {
	switch o {
	case NoSession:
		return "no session started"
	case SessionsEnded:
		return "the session ended"
	default:
		return "stopped"
	}
}

// Wait blocks until a session ran and ended, until no session started within wait, or until ctx is done.
// It forgets sessions of an earlier holder (the file is emptied when no session holds it).
func Wait(ctx context.Context, path string, wait, poll time.Duration) (Outcome, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, fmt.Errorf("session lock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, fmt.Errorf("session lock: %w", err)
	}
	defer func() { _ = f.Close() }()
	deadline := time.Now().Add(wait)
	first := true
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		busy, ran, err := probe(f, first)
		if err != nil {
			return 0, fmt.Errorf("session lock %s: %w", path, err)
		}
		first = false
		afterProbe()
		switch {
		case ran && !busy:
			return SessionsEnded, nil
		case !busy && time.Now().After(deadline):
			return NoSession, nil
		}
		select {
		case <-ctx.Done():
			return Stopped, nil
		case <-ticker.C:
		}
	}
}

// afterProbe lets tests wait for the holder's polls.
var afterProbe = func() {}

// probe reports whether a session holds the lock, and whether any session has run (a line in the file).
func probe(f *os.File, reset bool) (busy, ran bool, err error) {
	if err := flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return true, true, nil
		}
		return false, false, err
	}
	defer flock(f, unix.LOCK_UN) //nolint:errcheck // closing the file releases it too
	if reset {
		return false, false, f.Truncate(0)
	}
	st, err := f.Stat()
	if err != nil {
		return false, false, err
	}
	return false, st.Size() > 0, nil
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
