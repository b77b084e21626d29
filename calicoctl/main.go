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

	"github.com/calico-docker/calico-libnetwork/calicoctl/classic"
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/spf13/cobra"
)

// Main runs calicoctl with args (without the program name) and returns
// the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, cli.Stdio{In: stdin, Out: stdout, Err: stderr}, os.LookupEnv)
}

func run(ctx context.Context, args []string, std cli.Stdio, lookupEnv func(string) (string, bool)) int {
	a := &app{&cli.App{Stdio: std, LookupEnv: lookupEnv, Now: time.Now}}
	defer a.Close()
	root := a.rootCommand()
	root.SetArgs(classic.Args(args))
	root.SetIn(std.In)
	root.SetOut(std.Out)
	root.SetErr(std.Err)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return cli.ExitOK
	}
	var code *cli.ExitCodeError
	if errors.As(err, &code) {
		return code.Code
	}
	var silent *cli.SilentError
	if !errors.As(err, &silent) {
		fmt.Fprintf(std.Err, "Error: %v\n", err)
	}
	var usage *cli.UsageError
	if (errors.As(err, &usage) || strings.HasPrefix(err.Error(), "unknown command")) && cmd != nil {
		fmt.Fprintf(std.Err, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return cli.ExitFailure
}

// app is one invocation's shared state; the root's commands (version,
// completion, help) are its methods.
type app struct{ *cli.App }

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
	a.Conn.Register(root.PersistentFlags())
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(a.versionCommand(), a.completionCommand(root))
	root.AddCommand(groupCommands(a.App)...)
	root.InitDefaultHelpCmd()
	refuseUnknownSubcommands(root)
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.Example = "  calicoctl help get"
			c.Run = nil
			c.RunE = func(c *cobra.Command, args []string) error {
				target, rest, err := root.Find(args)
				if err != nil || len(rest) > 0 {
					return cli.Usagef("unknown help topic %q: run calicoctl help for the commands", strings.Join(args, " "))
				}
				return target.Help()
			}
		}
	}
	return root
}

// flagError reports a bad flag, unless the flag follows an unknown
// subcommand of a group ("calicoctl ipam configure --strictaffinity=true"):
// then the unknown subcommand is the mistake to name.
func flagError(c *cobra.Command, err error) error {
	if c.HasSubCommands() && c.Flags().NArg() > 0 {
		return unknownSubcommand(c, c.Flags().Arg(0))
	}
	return &cli.UsageError{Err: err}
}

func unknownSubcommand(c *cobra.Command, name string) error {
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return cli.Usagef("unknown command %q for %q: use one of %s", name, c.CommandPath(), strings.Join(names, ", "))
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
		return unknownSubcommand(c, args[0])
	}
}
