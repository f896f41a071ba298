// Command kubectl-swoll is the kubectl plugin: kubectl swoll trace -l app=nginx -s openat.
package main

import (
	"os"

	"github.com/swoll-dev/swoll/plugin/cmd"
)

func main() {
	os.Exit(cmd.Execute())
}
