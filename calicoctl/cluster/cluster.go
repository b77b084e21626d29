package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/cluster"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded/pki"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

// maxTokenTTL bounds a join token's life: it is a credential.
const maxTokenTTL = 24 * time.Hour

func (a *app) clusterCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "The embedded etcd cluster: join tokens, members and clients, removing a dead member",
		Example: `  calicoctl cluster token
  calicoctl cluster status
  calicoctl cluster remove-member host2`,
	}
	cmd.AddCommand(a.clusterTokenCommand(), a.clusterTokensCommand(), a.clusterRevokeCommand(),
		a.clusterStatusCommand(), a.clusterRemoveCommand())
	return cmd
}

func (a *app) clusterRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use: "revoke-token ID", Short: "Revoke a join token (its ID is the part after CALICOJOIN1-)",
		Example: "  calicoctl cluster revoke-token 0123456789ab",
		Args:    cli.ArgsWith(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			if err := st.RevokeJoinToken(cmd.Context(), args[0]); err != nil {
				return fmt.Errorf("revoke join token %s: %w (see calicoctl cluster tokens)", args[0], err)
			}
			fmt.Fprintf(a.Out, "Revoked join token %s\n", args[0])
			return nil
		},
	}
}

func (a *app) clusterTokensCommand() *cobra.Command {
	return &cobra.Command{
		Use: "tokens", Short: "List the live join tokens (IDs and expiry; never the secrets)",
		Example: "  calicoctl cluster tokens",
		Args:    cli.ArgsWith(cobra.NoArgs),
		RunE:    func(cmd *cobra.Command, _ []string) error { return a.runTokenList(cmd.Context()) },
	}
}

func (a *app) clusterTokenCommand() *cobra.Command {
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "token [--ttl 1h]",
		Short: "Print a join token for a new host (run as root on a member)",
		Long: `Prints a join token: it carries the sha256 of the cluster CA (so the new host trusts the
member it joins) and a secret (so the member trusts the new host); etcd keeps only a hash of
the secret, under a lease that ends with the token. Start the new host's daemon with
CALICO_JOIN_TOKEN=<token> and CALICO_JOIN_ADDRESS=<a member's address>. The token joins any
number of hosts until it expires or is revoked (calicoctl cluster revoke-token ID).`,
		Example: `  calicoctl cluster token --ttl 30m`,
		Args:    cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl < time.Minute || ttl > maxTokenTTL {
				return cli.Usagef("--ttl %s: use a duration from 1m to %s", ttl, maxTokenTTL)
			}
			return a.runClusterToken(cmd.Context(), ttl)
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", time.Hour, "how long the token joins hosts (1m to 24h)")
	return cmd
}

func (a *app) runClusterToken(ctx context.Context, ttl time.Duration) error {
	cfg, err := a.Conn.Resolve(a.LookupEnv)
	if err != nil {
		return err
	}
	if cfg.CACertFile == "" {
		return fmt.Errorf("a join token carries the cluster CA's hash and no CA is known: run calicoctl as root on a member " +
			"(it reads /var/lib/calico/pki), or set ETCD_CA_CERT_FILE")
	}
	b, err := os.ReadFile(cfg.CACertFile)
	if err != nil {
		return fmt.Errorf("cluster CA: %w", err)
	}
	ca, err := pki.ParseCert(b)
	if err != nil {
		return fmt.Errorf("cluster CA %s: %w", cfg.CACertFile, err)
	}
	tok, err := cluster.NewToken(pki.Fingerprint(ca.Raw))
	if err != nil {
		return err
	}
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	now := a.Now()
	if err := st.PutJoinToken(ctx, datastore.JoinToken{ID: tok.ID, SecretHash: tok.SecretHash(), Created: now, Expires: now.Add(ttl)}); err != nil {
		return err
	}
	members, err := st.Members(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.Out, tok.String())
	a.printJoinHint(members, now.Add(ttl))
	return nil
}

// printJoinHint tells, on stderr, how to use the token, or why no host
// can join yet.
func (a *app) printJoinHint(members []datastore.Member, expires time.Time) {
	var addrs []string
	for _, m := range members {
		if len(m.PeerURLs) == 0 || m.Learner {
			continue
		}
		if u, err := url.Parse(m.PeerURLs[0]); err == nil {
			if ip := net.ParseIP(u.Hostname()); ip != nil && !ip.IsLoopback() {
				addrs = append(addrs, net.JoinHostPort(u.Hostname(), fmt.Sprint(cluster.DefaultJoinPort)))
			}
		}
	}
	fmt.Fprintf(a.Err, "Expires %s. On the new host start calico-libnetwork with\n  CALICO_JOIN_TOKEN=<the token above> CALICO_JOIN_ADDRESS=<ADDRESS>\n",
		expires.UTC().Format(time.RFC3339))
	if len(addrs) > 0 {
		fmt.Fprintf(a.Err, "where ADDRESS is a member's: %s\n", strings.Join(addrs, ", "))
		return
	}
	fmt.Fprintf(a.Err, "where ADDRESS is this host's IP. This member listens on loopback only: restart its daemon with\n"+
		"CALICO_ETCD_CLIENT_HOST=0.0.0.0 (etcd and the join endpoint stay TLS with client certificates) first.\n")
}

func (a *app) runTokenList(ctx context.Context) error {
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	toks, err := st.ListJoinTokens(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tEXPIRES")
	for _, t := range toks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.ID, t.Created.UTC().Format(time.RFC3339), t.Expires.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func (a *app) clusterRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "remove-member NAME",
		Short: "Remove an etcd member (a dead host, or one leaving) by node name or hex ID",
		Long: `Removes a member from the etcd cluster. Use it for a host that is gone for good, or that
leaves: stop its daemon first. To bring that host back, wipe its <data_dir>/etcd,
<data_dir>/pki and <data_dir>/cluster.json and start it again with a new join token.`,
		Example: `  calicoctl cluster remove-member host2`,
		Args:    cli.ArgsWith(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			m, err := st.RemoveMember(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Out, "Removed etcd member %s (%x)\n", m.Name, m.ID)
			return nil
		},
	}
}

// Report is calicoctl cluster status's document.
type Report struct {
	datastore.ClusterStatus
	Clients []clusterClient `json:"clients"`
}

// clusterClient is a node that is not an etcd member.
type clusterClient struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	LastStarted string `json:"lastStarted,omitempty"`
}

func (a *app) clusterStatusCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status [-o table|yaml|json]",
		Short: "Members (health, leader, raft index, DB size), clients and alarms",
		Long: `Lists the etcd members, each asked directly: health, leader, raft index and database size
(in use / file); the nodes that are clients of the members; and any alarm (NOSPACE: the
database reached its quota and etcd refuses writes). Exit status 1 when a member is unhealthy
or an alarm is raised.`,
		Example: `  calicoctl cluster status
  calicoctl cluster status -o json`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := cli.ParseFormatOf(output, "table", "yaml", "json")
			if err != nil {
				return err
			}
			return a.runClusterStatus(cmd.Context(), format)
		},
	}
	cli.AddOutputFlag(cmd, &output, "table", "yaml", "json")
	return cmd
}

func (a *app) runClusterStatus(ctx context.Context, format cli.OutputFormat) error {
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	cs, err := st.ClusterStatus(ctx)
	if err != nil {
		return err
	}
	rep := Report{ClusterStatus: cs, Clients: []clusterClient{}}
	if nodes, _, err := datastore.ListAs[*resources.Node](ctx, st, ""); err == nil {
		rep.Clients = clientsOf(nodes, cs.Members)
	}
	if format != cli.FormatTable {
		err = cli.WriteStructured(a.Out, format, rep)
	} else {
		err = writeClusterStatus(a.Out, &rep)
	}
	if err != nil {
		return err
	}
	if !clusterHealthy(cs) {
		return &cli.ExitCodeError{Code: 1}
	}
	return nil
}

func clientsOf(nodes []*resources.Node, members []datastore.MemberStatus) []clusterClient {
	out := []clusterClient{}
	for _, n := range nodes {
		if slices.ContainsFunc(members, func(m datastore.MemberStatus) bool { return m.Name == n.Name }) {
			continue
		}
		out = append(out, clusterClient{Name: n.Name, Version: n.Status.Version, LastStarted: n.Status.LastStarted})
	}
	return out
}

func clusterHealthy(cs datastore.ClusterStatus) bool {
	if cs.Error != "" {
		return false
	}
	for _, m := range cs.Members {
		if !m.Healthy {
			return false
		}
	}
	return true
}

func writeClusterStatus(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tID\tROLE\tHEALTH\tRAFT INDEX\tDB SIZE (IN USE/FILE)\tPEER URL")
	for _, m := range rep.Members {
		role, health := "voter", "healthy"
		switch {
		case m.Learner:
			role = "learner"
		case m.Leader:
			role = "leader"
		}
		if !m.Healthy {
			health = "UNHEALTHY: " + m.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s / %s\t%s\n", cli.OrDash(m.Name), m.ID, role, health, m.RaftIndex,
			size(m.DBSizeInUse), size(m.DBSize), strings.Join(m.PeerURLs, ","))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nClients (nodes that are not members): %d\n", len(rep.Clients))
	for _, c := range rep.Clients {
		fmt.Fprintf(w, "  %s (version %s, last started %s)\n", c.Name, cli.OrDash(c.Version), cli.OrDash(c.LastStarted))
	}
	if rep.Error != "" {
		fmt.Fprintf(w, "\nALARM: %s\n", rep.Error)
	}
	return nil
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", n>>10)
	}
}
