//go:build linux

// Package agentcmd is the command line of swoll-agent: `hold` and `session` for agent pods driven by the
// kubectl plugin, `trace` for tracing on the local machine, and `version`.
package agentcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/swoll-dev/swoll/internal/version"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the work could not be done
	exitUsage   = 2 // bad flags or arguments
)

// streams are the command's standard files.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// Main runs swoll-agent with the process's arguments and files; SIGINT and SIGTERM cancel the command.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// Run runs swoll-agent with args and returns the exit code. Errors are printed as one line on stderr.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	io := streams{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "swoll-agent",
		Short:         "swoll's node agent: container-aware system call tracing with eBPF",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(cleanFlagError(err)) })
	root.AddCommand(
		newTraceCommand(io),
		newSessionCommand(io),
		newHoldCommand(io),
		&cobra.Command{
			Use:   "version",
			Short: "Print the agent version",
			Args:  cobra.NoArgs,
			Run:   func(*cobra.Command, []string) { _, _ = fmt.Fprintln(stdout, version.Version) },
		},
	)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			_, _ = fmt.Fprintln(stderr, "swoll-agent:", ee.err)
		}
		return ee.code
	}
	// cobra's own errors (unknown command, bad arguments) are usage errors.
	_, _ = fmt.Fprintln(stderr, "swoll-agent:", err)
	return exitUsage
}

// badValue matches pflag's message for a value that does not parse, which ends in Go parser internals.
var badValue = regexp.MustCompile(`^invalid argument (".*") for "(.*)" flag: .*?(invalid syntax|out of range|unknown unit.*|missing unit.*|invalid duration.*)$`)

// cleanFlagError turns `invalid argument "x" for "--pid" flag: strconv.ParseInt: parsing "x": invalid syntax`
// into `--pid "x": not a valid number`.
func cleanFlagError(err error) error {
	if m := badValue.FindStringSubmatch(err.Error()); m != nil {
		why := m[3]
		if why == "invalid syntax" {
			why = "not a valid number"
		}
		return &flagError{msg: fmt.Sprintf("%s %s: %s", m[2], m[1], why), err: err}
	}
	return err
}

// flagError is a flag value that does not parse, said without the parser's internals; it unwraps to pflag's
// error (and through it strconv's or time's).
type flagError struct {
	msg string
	err error
}

func (e *flagError) Error() string { return e.msg }

func (e *flagError) Unwrap() error { return e.err }

// exitError carries an exit code; a nil err exits quietly (the command reported already).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }

func failure(err error) error { return &exitError{code: exitFailure, err: err} }
