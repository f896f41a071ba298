// Command goprog is the Go process of the symbolize tests: it prints the pcs of its own stack with the names
// the Go runtime gives them ("frame PC NAME" lines, then "ready"), then blocks reading its standard input; a
// line makes it exit.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
)

//go:noinline
func leaf() {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(1, pcs)
	for _, pc := range pcs[:n] {
		fmt.Printf("frame %#x %s\n", pc, runtime.FuncForPC(pc-1).Name())
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

//go:noinline
func middle() { leaf() }

func main() { middle() }
