package client

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/defaults"
)

func TestOptionsDefaults(t *testing.T) {
	rc := &rest.Config{Host: "https://127.0.0.1:1", Timeout: 30 * time.Second}
	tests := []struct {
		name       string
		opts       Options
		wantNS     string
		wantAgent  string
		wantImage  string
		wantPull   corev1.PullPolicy
		wantLimit  time.Duration
		wantErrSub string
	}{
		{name: "defaults", opts: Options{Config: rc}, wantNS: "default", wantAgent: "default",
			wantImage: defaults.Image(), wantPull: corev1.PullIfNotPresent, wantLimit: defaults.UnboundedDeadline},
		{name: "given", opts: Options{Config: rc, Namespace: "shop", AgentNamespace: "swoll", Image: "r.internal/a@sha256:1",
			PullPolicy: corev1.PullAlways, Duration: time.Minute},
			wantNS: "shop", wantAgent: "swoll", wantImage: "r.internal/a@sha256:1", wantPull: corev1.PullAlways,
			wantLimit: time.Minute + defaults.DeadlineMargin},
		{name: "agents beside the pods", opts: Options{Config: rc, Namespace: "shop"}, wantNS: "shop", wantAgent: "shop",
			wantImage: defaults.Image(), wantPull: corev1.PullIfNotPresent, wantLimit: defaults.UnboundedDeadline},
		{name: "no config", opts: Options{}, wantErrSub: "Options.Config is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.opts.session()
			if tt.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSub) {
					t.Fatalf("err %v, want %q", err, tt.wantErrSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Selection.Namespace != tt.wantNS || cfg.AgentNamespace != tt.wantAgent || cfg.Image != tt.wantImage ||
				cfg.PullPolicy != tt.wantPull || cfg.AgentDeadline != tt.wantLimit {
				t.Errorf("got ns %q agent ns %q image %q pull %q deadline %s", cfg.Selection.Namespace, cfg.AgentNamespace,
					cfg.Image, cfg.PullPolicy, cfg.AgentDeadline)
			}
			if cfg.REST.Timeout != 0 || rc.Timeout != 30*time.Second {
				t.Errorf("the streams' config must have no timeout (%s) and the caller's stay as it was (%s)", cfg.REST.Timeout, rc.Timeout)
			}
			if cfg.CheckSyscalls == nil || cfg.Stderr == nil || cfg.Client == nil || cfg.StreamClient == nil {
				t.Error("a session needs CheckSyscalls, Stderr and both clients")
			}
		})
	}
}

func TestSinkDecodes(t *testing.T) {
	var got []*event.Event
	var notices []event.NoticeKind
	s := &sink{h: Handler{
		Event:  func(ev *event.Event) error { got = append(got, ev); return nil },
		Notice: func(n *event.Notice) { notices = append(notices, n.Kind) },
	}}
	line := []byte(`{"syscall":{"nr":257,"name":"openat","class":"FileSystem","group":"Files"},"start":1,"finish":2,` +
		`"pid":7,"tid":7,"container_pid":1,"uid":0,"gid":0,"comm":"web","session":"s","error":"OK","return":3,` +
		`"pid_ns":1,"uts_ns":1,"mount_ns":1,"container":{"pod":"web-1","name":"web","namespace":"shop"},"node":"a",` +
		`"args":{"dirfd":"AT_FDCWD","pathname":"/srv/index.html","flags":"O_RDONLY|O_CLOEXEC"}}`)
	if err := s.Event(line); err != nil {
		t.Fatal(err)
	}
	for i := range line {
		line[i] = 'X' // the engine reuses its buffers: the event must not point into them
	}
	if err := s.Notice(&event.Notice{Kind: event.NoticeReady}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Syscall.Name != "openat" || got[0].Container.Pod != "web-1" || got[0].Return != 3 ||
		!strings.Contains(string(got[0].Args), "/srv/index.html") || len(notices) != 1 {
		t.Fatalf("decoded %+v, notices %v", got, notices)
	}
	if err := s.Event([]byte(`{"syscall":`)); err == nil {
		t.Error("a broken line must end the session with an error")
	}
}

// With no cluster to reach, a session fails before creating anything; the channel closes and Wait says why.
func TestStartWithoutCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := Start(ctx, Options{Config: &rest.Config{Host: "https://127.0.0.1:1"}, Namespace: "shop"})
	for m := range s.C {
		t.Errorf("unexpected message %+v", m)
	}
	if err := s.Wait(); err == nil {
		t.Error("Wait returned no error")
	}
	if err := Run(ctx, Options{}, Handler{}); err == nil || !strings.Contains(err.Error(), "Handler.Event is nil") {
		t.Errorf("Run without a handler: %v", err)
	}
}
