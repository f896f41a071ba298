//go:build linux

// Command swoll-agent is the node agent: it traces system calls with eBPF and writes JSON lines.
package main

import (
	"os"

	"github.com/swoll-dev/swoll/nodeagent/agentcmd"
)

func main() { os.Exit(agentcmd.Main()) }
