package calicoctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/spf13/cobra"
)

// Exit codes: scripts may rely on these.
const (
	ExitOK      = 0
	ExitFailure = 1
	// ExitDenied is calicoctl policy explain's answer "the packet would be
	// denied" (the command itself worked).
	ExitDenied = 3
)

// Main runs calicoctl with args (without the program name) and returns
// the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, stdio{in: stdin, out: stdout, err: stderr}, os.LookupEnv)
}

// stdio are the streams of one invocation.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// app is the state of one invocation shared by every command.
type app struct {
	stdio
	lookupEnv func(string) (string, bool)
	conn      connFlags
	namespace string
	// allNamespaces is get's -A: list namespaced kinds in every namespace.
	allNamespaces bool
	st            *datastore.Store
	closers       []func()
	// hostStatus reads this host's daemon status (daemonHostStatus).
	hostStatus HostStatusFunc
	// statusSocket is --status-socket (node_status.go).
	statusSocket string
	// now is the clock (ipam check's grace period); tests may set it.
	now func() time.Time
}

func run(ctx context.Context, args []string, std stdio, lookupEnv func(string) (string, bool)) int {
	a := &app{stdio: std, lookupEnv: lookupEnv, now: time.Now}
	a.hostStatus = a.daemonHostStatus
	defer a.close()
	root := a.rootCommand()
	root.SetArgs(classicArgs(args))
	root.SetIn(std.in)
	root.SetOut(std.out)
	root.SetErr(std.err)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var code *exitCodeError
	if errors.As(err, &code) {
		return code.code
	}
	var silent *silentError
	if !errors.As(err, &silent) {
		fmt.Fprintf(std.err, "Error: %v\n", err)
	}
	var usage *usageError
	if (errors.As(err, &usage) || strings.HasPrefix(err.Error(), "unknown command")) && cmd != nil {
		fmt.Fprintf(std.err, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return ExitFailure
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "calicoctl",
		Short: "Manage Calico resources for the calico-libnetwork Docker plugin",
		Long: `calicoctl manages Calico v3 resources (IP pools, profiles, policies,
endpoints, nodes, BGP) stored in etcd.

It reaches etcd like the calico-libnetwork daemon does: --etcd-endpoints,
else ETCD_ENDPOINTS, else spec.etcdEndpoints of the --config file
(/etc/calico/calicoctl.cfg), else https://127.0.0.1:2379 (the daemon's
embedded etcd). TLS: ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE; for an
https endpoint without them, run as root calicoctl uses the node's
certificate in /var/lib/calico/pki (or $CALICO_DATA_DIR/pki).

Exit status: 0 on success, 1 on any failure (the reason is on stderr);
calicoctl policy explain exits 3 when the packet would be denied.`,
		Example: `  calicoctl apply -f pool.yaml
  calicoctl get ippools -o wide
  ETCD_ENDPOINTS=https://10.0.0.1:2379 ETCD_CA_CERT_FILE=ca.crt \\
    ETCD_CERT_FILE=me.crt ETCD_KEY_FILE=me.key calicoctl get profiles`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	a.conn.register(root.PersistentFlags())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(
		a.applyCommand(), a.createCommand(), a.replaceCommand(),
		a.deleteCommand(), a.getCommand(),
		a.patchCommand(), a.labelCommand(), a.validateCommand(),
		a.versionCommand(), a.completionCommand(root),
	)
	a.addOperatorCommands(root)
	root.InitDefaultHelpCmd()
	refuseUnknownSubcommands(root)
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.Example = "  calicoctl help get"
			c.Run = nil
			c.RunE = func(c *cobra.Command, args []string) error {
				target, rest, err := root.Find(args)
				if err != nil || len(rest) > 0 {
					return usagef("unknown help topic %q: run calicoctl help for the commands", strings.Join(args, " "))
				}
				return target.Help()
			}
		}
	}
	return root
}

// usageError is a mistake in the command line itself.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// silentError is a failure whose details were already printed.
type silentError struct{ err error }

func (e *silentError) Error() string { return e.err.Error() }
func (e *silentError) Unwrap() error { return e.err }

// exitCodeError ends calicoctl with a specific exit code and no message
// (the command printed its answer already).
type exitCodeError struct{ code int }

func (e *exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// argsWith turns cobra's argument errors into usage errors.
func argsWith(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

// refuseUnknownSubcommands makes every command group (a command with
// subcommands and nothing to run itself) fail on an unknown subcommand,
// so scripts never mistake a typo for success. Cobra would print the
// group's help and exit 0. With no arguments the group prints its help.
func refuseUnknownSubcommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		refuseUnknownSubcommands(c)
	}
	if !cmd.HasSubCommands() || cmd.Runnable() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		var names []string
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
			}
		}
		return usagef("unknown command %q for %q: use one of %s", args[0], c.CommandPath(), strings.Join(names, ", "))
	}
}
