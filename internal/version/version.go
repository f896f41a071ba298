// Package version carries the build's version, stamped with -ldflags -X, and the agent image that goes with it.
package version

// Version is set at build time (-X github.com/swoll-dev/swoll/internal/version.Version=...).
var Version = "dev"

// AgentImageRepo is the repository of the node agent image; the plugin runs AgentImageRepo:Version by default.
var AgentImageRepo = "ghcr.io/swoll-dev/swoll-agent"

// AgentImage is the default image the plugin schedules on nodes.
func AgentImage() string { return AgentImageRepo + ":" + Version }
