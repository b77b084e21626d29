package classic

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

// labelRouteReflector marks the BGPPeers "bgppeer rr add" creates.
const labelRouteReflector = "calicoctl.projectcalico.org/route-reflector"

func (a *app) bgpPeerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bgppeer",
		Short: "Classic global BGP peer commands (add, rr add, remove, show)",
		Long: `The global BGP peer commands of the original calicoctl, working on v3 BGPPeer
resources without spec.node or spec.nodeSelector: every host peers with them.
Node-specific peers are managed with calicoctl apply and calicoctl get bgppeers.`,
		Example: `  calicoctl bgppeer add 192.168.1.1 as 64511
  calicoctl bgppeer rr add 192.168.1.1
  calicoctl bgppeer show`,
	}
	cmd.AddCommand(a.bgpPeerAddCommand(), a.bgpPeerRRCommand(), a.bgpPeerRemoveCommand(), a.bgpPeerShowCommand())
	return cmd
}

func (a *app) bgpPeerAddCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "add IP as AS",
		Short: "Peer every host with a BGP speaker",
		Long: `Create a global BGPPeer (named bgppeer-<IP>) with peerIP IP and asNumber AS, or set
the AS of the global peer with that IP. AS is a number (1-4294967295) or the dotted
form HIGH.LOW.`,
		Example: `  calicoctl bgppeer add 192.168.1.1 as 64511
  calicoctl bgppeer add fd00::1 as 65000`,
		Args: cli.ArgsWith(cobra.ExactArgs(3)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ip, err := parsePeerIP(args[0])
			if err != nil {
				return err
			}
			if args[1] != "as" {
				return cli.Usagef("write the AS number after the word \"as\": calicoctl bgppeer add %s as %s", args[0], args[2])
			}
			asn, err := parseASN(args[2])
			if err != nil {
				return err
			}
			return a.savePeer(cmd.Context(), ip, asn, false)
		},
	}
}

func (a *app) bgpPeerRRCommand() *cobra.Command {
	rr := &cobra.Command{
		Use:     "rr",
		Short:   "Route reflector peers",
		Example: `  calicoctl bgppeer rr add 192.168.1.1`,
	}
	rr.AddCommand(&cobra.Command{
		Use:   "add IP [as AS]",
		Short: "Peer every host with a route reflector (in the cluster's AS unless given)",
		Long: `Create a global BGPPeer (named rr-<IP>, labelled ` + labelRouteReflector + `)
with peerIP IP and the cluster's AS number (BGPConfiguration default's asNumber, else
64512): an iBGP session to a route reflector. Configure the reflector with the same
AS and every host as a client. The node-to-node mesh stays as configured; turn it
off in BGPConfiguration default (nodeToNodeMeshEnabled: false) to rely on the
reflector alone. "as AS" gives the reflector's AS explicitly (the classic form), for
a reflector outside the cluster's AS.`,
		Example: `  calicoctl bgppeer rr add 192.168.1.1
  calicoctl bgppeer rr add 192.168.1.1 as 64512`,
		Args: cli.ArgsWith(func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 && len(args) != 3 {
				return fmt.Errorf("give IP, or IP as AS: calicoctl bgppeer rr add 192.168.1.1 as 64512")
			}
			return nil
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			ip, err := parsePeerIP(args[0])
			if err != nil {
				return err
			}
			var asn resources.ASNumber
			if len(args) == 3 {
				if args[1] != "as" {
					return cli.Usagef("write the AS number after the word \"as\": calicoctl bgppeer rr add %s as %s", args[0], args[2])
				}
				if asn, err = parseASN(args[2]); err != nil {
					return err
				}
				return a.savePeer(cmd.Context(), ip, asn, true)
			}
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			if asn, err = clusterASN(cmd.Context(), st); err != nil {
				return err
			}
			return a.savePeer(cmd.Context(), ip, asn, true)
		},
	})
	return rr
}

func (a *app) bgpPeerRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "remove IP",
		Short:   "Remove the global BGP peer (or route reflector) with this IP",
		Example: `  calicoctl bgppeer remove 192.168.1.1`,
		Args:    cli.ArgsWith(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ip, err := parsePeerIP(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := a.Store(ctx)
			if err != nil {
				return err
			}
			peers, err := globalPeers(ctx, st, ip)
			if err != nil {
				return err
			}
			if len(peers) == 0 {
				return fmt.Errorf("no global BGP peer has IP %s: list them with calicoctl bgppeer show", ip)
			}
			for _, p := range peers {
				if _, err := st.Delete(ctx, resources.KindBGPPeer, "", p.Name, ""); err != nil && !errors.Is(err, datastore.ErrNotFound) {
					return err
				}
				fmt.Fprintf(a.Out, "Removed BGP peer %s (%s)\n", p.Name, ip)
			}
			return nil
		},
	}
}

func (a *app) bgpPeerShowCommand() *cobra.Command {
	var output string
	var v4, v6 bool
	cmd := &cobra.Command{
		Use:   "show [--ipv4|--ipv6] [-o table|yaml|json]",
		Short: "List the global BGP peers",
		Long: `List the global BGP peers (--ipv4 or --ipv6: only those of that family, as the
original calicoctl). Columns: PEER IP, AS NUM, TYPE (global or route-reflector), NAME.
-o yaml|json prints the BGPPeer resources.`,
		Example: `  calicoctl bgppeer show
  calicoctl bgppeer show --ipv4
  calicoctl bgppeer show -o json`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := cli.ParseFormatOf(output, "table", "yaml", "json")
			if err != nil {
				return err
			}
			if v4 && v6 {
				return cli.Usagef("give --ipv4 or --ipv6, not both")
			}
			ctx := cmd.Context()
			st, err := a.Store(ctx)
			if err != nil {
				return err
			}
			peers, err := globalPeers(ctx, st, netip.Addr{})
			if err != nil {
				return err
			}
			peers = slices.DeleteFunc(peers, func(p *resources.BGPPeer) bool {
				ip, err := netip.ParseAddr(p.Spec.PeerIP)
				return err == nil && (v4 && !ip.Unmap().Is4() || v6 && !ip.Is6())
			})
			if format != cli.FormatTable {
				objs := make([]resources.Resource, len(peers))
				for i, p := range peers {
					objs[i] = p
				}
				info, _ := resources.Lookup(resources.KindBGPPeer)
				return cli.Printer{Out: a.Out, Format: format, Store: st}.Print(ctx, info, objs, false)
			}
			t := cli.Table{Header: []string{"PEER IP", "AS NUM", "TYPE", "NAME"}}
			for _, p := range peers {
				t.Rows = append(t.Rows, []string{p.Spec.PeerIP, strconv.FormatUint(uint64(p.Spec.ASNumber), 10), peerType(p), p.Name})
			}
			return t.Write(a.Out)
		},
	}
	cmd.Flags().BoolVar(&v4, "ipv4", false, "only IPv4 peers")
	cmd.Flags().BoolVar(&v6, "ipv6", false, "only IPv6 peers")
	cli.AddOutputFlag(cmd, &output, "table", "yaml", "json")
	return cmd
}

func peerType(p *resources.BGPPeer) string {
	if p.Labels[labelRouteReflector] == "true" {
		return "route-reflector"
	}
	return "global"
}

func parsePeerIP(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, cli.Usagef("%q is not an IP address: give the peer's address, such as 192.168.1.1", s)
	}
	return ip.Unmap(), nil
}

// parseASN reads an AS number, plain or dotted (HIGH.LOW).
func parseASN(s string) (resources.ASNumber, error) {
	n, err := resources.ParseASNumber(s)
	if err != nil || n == 0 {
		return 0, cli.Usagef("AS number %q: give a number from 1 to 4294967295, or HIGH.LOW", s)
	}
	return n, nil
}

// clusterASN is BGPConfiguration default's AS, else Calico's default.
func clusterASN(ctx context.Context, st *datastore.Store) (resources.ASNumber, error) {
	cfg, err := datastore.GetAs[*resources.BGPConfiguration](ctx, st, "", "default")
	switch {
	case errors.Is(err, datastore.ErrNotFound):
		return resources.DefaultASNumber, nil
	case err != nil:
		return 0, fmt.Errorf("read BGPConfiguration default: %w", err)
	case cfg.Spec.ASNumber != nil:
		return *cfg.Spec.ASNumber, nil
	}
	return resources.DefaultASNumber, nil
}

// globalPeers lists the global BGPPeers (of ip, when valid), sorted by IP.
func globalPeers(ctx context.Context, st *datastore.Store, ip netip.Addr) ([]*resources.BGPPeer, error) {
	all, _, err := datastore.ListAs[*resources.BGPPeer](ctx, st, "")
	if err != nil {
		return nil, fmt.Errorf("list BGP peers: %w", err)
	}
	var out []*resources.BGPPeer
	for _, p := range all {
		if p.Spec.Node != "" || p.Spec.NodeSelector != "" || p.Spec.PeerIP == "" {
			continue
		}
		if ip.IsValid() && peerAddr(p) != ip {
			continue
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y *resources.BGPPeer) int {
		if c := peerAddr(x).Compare(peerAddr(y)); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})
	return out, nil
}

// peerAddr is a peer's address (peerIP may carry a port).
func peerAddr(p *resources.BGPPeer) netip.Addr {
	if ap, err := netip.ParseAddrPort(p.Spec.PeerIP); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(p.Spec.PeerIP)
	return a.Unmap()
}

// savePeer creates the global peer of ip, or updates the existing one.
func (a *app) savePeer(ctx context.Context, ip netip.Addr, asn resources.ASNumber, rr bool) error {
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	existing, err := globalPeers(ctx, st, ip)
	if err != nil {
		return err
	}
	prefix := "bgppeer-"
	if rr {
		prefix = "rr-"
	}
	p := resources.NewBGPPeer(prefix + strings.NewReplacer(".", "-", ":", "-").Replace(ip.String()))
	verb := "Added"
	if len(existing) > 0 {
		p, verb = existing[0], "Updated"
	}
	p.Spec.PeerIP, p.Spec.ASNumber = ip.String(), asn
	if rr {
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		p.Labels[labelRouteReflector] = "true"
	} else {
		delete(p.Labels, labelRouteReflector)
	}
	if verb == "Added" {
		_, err = st.Create(ctx, p)
	} else {
		_, err = st.Update(ctx, p)
	}
	if err != nil {
		return fmt.Errorf("nothing was changed: %w", err)
	}
	fmt.Fprintf(a.Out, "%s %s peer %s (%s, AS %d)\n", verb, peerType(p), p.Name, ip, asn)
	return nil
}
