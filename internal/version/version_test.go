package version

import (
	"os"
	"regexp"
	"runtime/debug"
	"testing"
)

func TestAgentImage(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, version, digest, mirror string
		wantImage, wantMirror         string
		wantPinned                    bool
	}{
		{name: "plain build: by tag", version: "v0.0.0-gabc", mirror: "registry.internal:5000/tools",
			wantImage:  "ghcr.io/swoll-dev/swoll-agent:v0.0.0-gabc",
			wantMirror: "registry.internal:5000/tools/swoll-agent:v0.0.0-gabc"},
		{name: "make dist: by digest", version: "v0.1.0", digest: digest, mirror: "registry.internal:5000/tools/",
			wantImage:  "ghcr.io/swoll-dev/swoll-agent@" + digest,
			wantMirror: "registry.internal:5000/tools/swoll-agent@" + digest, wantPinned: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func(v, d string) { Version, AgentImageDigest = v, d }(Version, AgentImageDigest)
			Version, AgentImageDigest = tt.version, tt.digest
			if got := AgentImage(); got != tt.wantImage {
				t.Errorf("AgentImage() = %q, want %q", got, tt.wantImage)
			}
			if got := MirrorImage(tt.mirror); got != tt.wantMirror {
				t.Errorf("MirrorImage(%q) = %q, want %q", tt.mirror, got, tt.wantMirror)
			}
			if Pinned() != tt.wantPinned {
				t.Errorf("Pinned() = %v, want %v", Pinned(), tt.wantPinned)
			}
		})
	}
}

// The build scripts stamp AGENT_REPO from hack/lib.sh; a plain go build falls back to AgentImageRepo's default.
// Both must name the same repository.
func TestDefaultRepoMatchesBuildScripts(t *testing.T) {
	lib, err := os.ReadFile("../../hack/lib.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^AGENT_REPO=\$\{AGENT_REPO:-([^}]+)\}$`).FindSubmatch(lib)
	if m == nil {
		t.Fatal("hack/lib.sh has no AGENT_REPO=${AGENT_REPO:-...} line")
	}
	if string(m[1]) != AgentImageRepo {
		t.Errorf("hack/lib.sh AGENT_REPO defaults to %q, internal/version.AgentImageRepo to %q", m[1], AgentImageRepo)
	}
}

func TestModuleVersion(t *testing.T) {
	dep := func(v string) []*debug.Module { return []*debug.Module{{Path: modulePath, Version: v}} }
	tests := []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"go install of a release", debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "v0.2.0"}}, "v0.2.0"},
		{"a program requiring a release", debug.BuildInfo{Main: debug.Module{Path: "example.com/tool"}, Deps: dep("v0.3.1-rc.1")}, "v0.3.1-rc.1"},
		{"replaced by a release", debug.BuildInfo{Deps: []*debug.Module{{Path: modulePath, Version: "v0.1.0",
			Replace: &debug.Module{Path: "../swoll", Version: ""}}}}, "dev"},
		{"a checkout", debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "(devel)"}}, "dev"},
		{"a pseudo-version", debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "v0.0.0-20261128063000-b7158b4d1234"}}, "dev"},
		{"a dirty VCS stamp", debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "v0.2.0+dirty"}}, "dev"},
		{"another module", debug.BuildInfo{Main: debug.Module{Path: "example.com/tool", Version: "v1.0.0"}}, "dev"},
	}
	for _, tt := range tests {
		if got := moduleVersion(&tt.info); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
