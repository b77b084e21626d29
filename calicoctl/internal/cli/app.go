// Package cli is what every calicoctl command group shares: App (one
// invocation's streams, flags and datastore connection), the datastore
// configuration (connect.go), reading -f input (input.go), printing
// objects (output.go, columns.go, custom.go), resolving endpoints
// (resolve.go) and the errors that set the exit code.
package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/spf13/cobra"
)

// Stdio are the streams of one invocation.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// App is the state of one invocation shared by every command.
type App struct {
	Stdio
	LookupEnv func(string) (string, bool)
	Conn      ConnFlags
	Namespace string
	// AllNamespaces is get's -A: list namespaced kinds in every namespace.
	AllNamespaces bool
	// SkipEmpty is --skip-empty: files without resources are skipped.
	SkipEmpty bool
	// recursive is -R, accepted for compatibility (input.go).
	recursive bool
	st        *datastore.Store
	closers   []func()
	// StatusSocket is --status-socket (calicoctl/node).
	StatusSocket string
	// Now is the clock (ipam check's grace period); tests may set it.
	Now func() time.Time
}

func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// UsageError is a mistake in the command line itself.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }

func (e *UsageError) Unwrap() error { return e.Err }

func Usagef(format string, args ...any) error { return &UsageError{Err: fmt.Errorf(format, args...)} }

// SilentError is a failure whose details were already printed.
type SilentError struct{ Err error }

func (e *SilentError) Error() string { return e.Err.Error() }

func (e *SilentError) Unwrap() error { return e.Err }

// ExitCodeError ends calicoctl with a specific exit code and no message
// (the command printed its answer already).
type ExitCodeError struct{ Code int }

func (e *ExitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ArgsWith turns cobra's argument errors into usage errors.
func ArgsWith(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &UsageError{Err: err}
		}
		return nil
	}
}

// Exit codes: scripts may rely on these.
const (
	ExitOK      = 0
	ExitFailure = 1
	// ExitDenied is calicoctl policy explain's answer "the packet would be
	// denied" (the command itself worked).
	ExitDenied = 3
)
