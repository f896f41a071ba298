// Package version carries what a build stamps into the binaries with -ldflags -X: the version, and the agent
// image that goes with it.
//
// A plain `go build` or `make plugin` knows only the version, so the plugin schedules the agent image by tag
// (AgentImageRepo:Version). `make dist` first builds the agent image index, whose digest is known before anything
// is pushed, and stamps that digest in: released plugins schedule AgentImageRepo@sha256:…, which a registry can
// neither move nor replace.
package version

import (
	"regexp"
	"runtime/debug"
	"strings"
)

// Version is the plugin's and agent's version (-X github.com/swoll-dev/swoll/internal/version.Version=v0.1.0).
// A build that does not stamp it (a program using the Go API, go install …@v0.2.0) takes the release version
// the go command recorded for this module, if it is one.
var Version = "dev"

const modulePath = "github.com/swoll-dev/swoll"

// release matches a release version; pseudo-versions (v0.0.0-20261128063000-b7158b4d1234) name no image.
var release = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$`)

func init() {
	if Version == "dev" {
		if info, ok := debug.ReadBuildInfo(); ok {
			Version = moduleVersion(info)
		}
	}
}

// moduleVersion is this module's version in a binary's build info, when it is a release: the main module's
// (go install …@v0.2.0) or a dependency's (a program that requires this module); "dev" otherwise.
func moduleVersion(info *debug.BuildInfo) string {
	v := ""
	if info.Main.Path == modulePath {
		v = info.Main.Version
	}
	for _, d := range info.Deps {
		if d.Path == modulePath {
			v = d.Version
			if d.Replace != nil {
				v = d.Replace.Version
			}
		}
	}
	if release.MatchString(v) && !strings.Contains(v, "+") {
		return v
	}
	return "dev"
}

// AgentImageRepo is the repository the agent image is published to. The build scripts stamp it from AGENT_REPO
// in hack/lib.sh (a unit test keeps the two defaults equal).
var AgentImageRepo = "ghcr.io/swoll-dev/swoll-agent"

// AgentImageDigest is the digest (sha256:…) of the agent image index built together with this binary; empty when
// the build did not make the image (make plugin, go build).
var AgentImageDigest = ""

// AgentImage is the image the plugin schedules on nodes unless --image says otherwise: by digest when the build
// stamped one, by tag otherwise.
func AgentImage() string {
	if AgentImageDigest != "" {
		return AgentImageRepo + "@" + AgentImageDigest
	}
	return AgentImageRepo + ":" + Version
}

// Pinned reports whether AgentImage names the image by digest.
func Pinned() bool { return AgentImageDigest != "" }

// MirrorImage is the reference the agent image gets when copied (with every platform, digest unchanged) into the
// repository prefix mirror, e.g. "registry.corp:5000/tools" gives "registry.corp:5000/tools/swoll-agent@sha256:…".
func MirrorImage(mirror string) string {
	name := AgentImageRepo[strings.LastIndex(AgentImageRepo, "/")+1:]
	ref := strings.TrimSuffix(mirror, "/") + "/" + name
	if AgentImageDigest != "" {
		return ref + "@" + AgentImageDigest
	}
	return ref + ":" + Version
}
