package node

import (
	"strconv"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/syscheck"
	"github.com/spf13/cobra"
)

// checksystemOptions are node checksystem's flags; each defaults to the
// daemon's environment variable, else the daemon's default.
type checksystemOptions struct {
	output, backend, pluginDir, networking string
	ipv6, ignoreLooseRPF                   bool
}

func (a *app) nodeChecksystemCommand() *cobra.Command {
	var o checksystemOptions
	cmd := &cobra.Command{
		Use:   "checksystem [-o table|yaml|json]",
		Short: "Check that this host can run the calico-libnetwork dataplane",
		Long: `Check, without changing anything, that this host has every tool and kernel feature the
calico-libnetwork daemon needs: ipset (and IP sets in the kernel), the iptables tools of the
backend Docker uses (or iptables_backend), connection tracking, writable net.* sysctls and
rp_filter not loose, VXLAN and IP-in-IP, and a plugin directory it can create sockets in.
Each problem names what is missing and the Debian package or command that fixes it.

The daemon runs the same checks at start-up (and refuses to start when one fails) and
in its /readyz health check. The flags default to the daemon's environment variables
(CALICO_IPTABLES_BACKEND, CALICO_IPV6, CALICO_IGNORE_LOOSE_RPF, CALICO_PLUGIN_DIR,
CALICO_NETWORKING_BACKEND). Run it as root.

Exit status: 0 when nothing failed (warnings allowed), 1 otherwise.`,
		Example: `  sudo calicoctl node checksystem
  sudo calicoctl node checksystem --ipv6 -o yaml`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := cli.ParseFormatOf(o.output, "table", "yaml", "json")
			if err != nil {
				return err
			}
			rep := syscheck.Check(cmd.Context(), syscheck.Config{
				IptablesBackend: o.backend, IPv6: o.ipv6, IgnoreLooseRPF: o.ignoreLooseRPF,
				PluginDir: o.pluginDir, NetworkingBackend: o.networking,
			})
			if format != cli.FormatTable {
				err = cli.WriteStructured(a.Out, format, rep)
			} else {
				err = checksystemTable(rep).Write(a.Out)
			}
			if err != nil {
				return err
			}
			if rep.Err() != nil {
				return &cli.ExitCodeError{Code: cli.ExitFailure}
			}
			return nil
		},
	}
	env := func(name, def string) string {
		if a.LookupEnv == nil { // a bare app, as help tests build
			return def
		}
		if v, ok := a.LookupEnv(name); ok && v != "" {
			return v
		}
		return def
	}
	envBool := func(name string) bool { b, _ := strconv.ParseBool(env(name, "false")); return b }
	cli.AddOutputFlag(cmd, &o.output, "table", "yaml", "json")
	f := cmd.Flags()
	f.StringVar(&o.backend, "iptables-backend", env("CALICO_IPTABLES_BACKEND", ""), "legacy or nft; empty: detect as the daemon does")
	f.BoolVar(&o.ipv6, "ipv6", envBool("CALICO_IPV6"), "also check IPv6 (ip6tables, net.ipv6 sysctls)")
	f.BoolVar(&o.ignoreLooseRPF, "ignore-loose-rpf", envBool("CALICO_IGNORE_LOOSE_RPF"), "accept net.ipv4.conf.all.rp_filter=2")
	f.StringVar(&o.pluginDir, "plugin-dir", env("CALICO_PLUGIN_DIR", "/run/docker/plugins"), "the daemon's plugin_dir")
	f.StringVar(&o.networking, "networking-backend", env("CALICO_NETWORKING_BACKEND", "bird"), "bird, vxlan or none")
	return cmd
}

func checksystemTable(rep syscheck.Report) *cli.Table {
	t := &cli.Table{Header: []string{"CHECK", "STATUS", "DETAIL", "FIX"}}
	for _, r := range rep.Results {
		t.Rows = append(t.Rows, []string{r.Name, r.Status, r.Detail, r.Fix})
	}
	return t
}
