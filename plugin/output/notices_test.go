package output

import (
	"testing"

	"github.com/swoll-dev/swoll/event"
)

func TestDescribe(t *testing.T) {
	n := func(v int) *int { return &v }
	base := func(kind event.NoticeKind) event.Notice {
		return event.Notice{Kind: kind, Namespace: "shop", Pod: "crash", Container: "main", ContainerKind: "regular", RestartCount: n(3),
			ContainerID: "containerd://0123456789abcdef0123"}
	}
	tests := []struct {
		name string
		n    func() event.Notice
		want string
	}{
		{"started", func() event.Notice { return base(event.NoticeContainerStarted) }, "shop/crash/main run #3 started"},
		{"init container started late", func() event.Notice {
			x := base(event.NoticeContainerStarted)
			x.ContainerKind, x.TracedFromNs = "init", 4200e6
			x.Message = "started 4.2s before its pod was traced: traced from its 5th second"
			return x
		}, "shop/crash/main (init) run #3 started 4.2s before its pod was traced: traced from its 5th second"},
		{"unnamed", func() event.Notice {
			x := base(event.NoticeContainerStarted)
			x.Container, x.ContainerKind, x.RestartCount = "", "", nil
			return x
		}, "shop/crash/container 0123456789ab started"},
		{"exit status", func() event.Notice {
			x := base(event.NoticeContainerEnded)
			x.ExitCode, x.Reason = n(1), "Error"
			return x
		}, "shop/crash/main run #3 ended: exit status 1 (Error)"},
		{"signal and OOM", func() event.Notice {
			x := base(event.NoticeContainerEnded)
			x.ExitCode, x.Signal, x.OOMKilled, x.Reason = n(137), "SIGKILL", true, "OOMKilled"
			return x
		}, "shop/crash/main run #3 ended: killed by SIGKILL (exit status 137), OOM-killed"},
		{"unknown end", func() event.Notice {
			x := base(event.NoticeContainerEnded)
			x.Message = "the runtime did not say how it ended: CRI ContainerStatus: runtime unavailable"
			return x
		}, "shop/crash/main run #3 ended: the runtime did not say how it ended: CRI ContainerStatus: runtime unavailable"},
		{"unattributed", func() event.Notice {
			x := base(event.NoticeUnattributed)
			x.Dropped, x.Message = 7, "the runtime did not name its container in time"
			return x
		}, "7 event(s) of shop/crash's container 0123456789ab left out: the runtime did not name its container in time"},
		{"by cgroup", func() event.Notice {
			return event.Notice{Kind: event.NoticeReady, Selection: event.SelectionCgroup, Message: "cgroup v2"}
		}, "pods selected by cgroup: traced from their first call"},
		{"by mount namespace", func() event.Notice {
			return event.Notice{Kind: event.NoticeReady, Selection: event.SelectionMountNS, Message: "no kubepods cgroup found"}
		}, "pods selected by the mount namespaces of their running containers, which are traced from when they are found, not from their first call: no kubepods cgroup found"},
		{"other notices", func() event.Notice { return event.Notice{Kind: event.NoticeLost, Lost: 3} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tt.n()
			if got := Describe(&x); got != tt.want {
				t.Errorf("Describe = %q\nwant       %q", got, tt.want)
			}
		})
	}
}
