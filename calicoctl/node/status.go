package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/routing/status"
	"github.com/spf13/cobra"
)

// statusTimeout bounds one read of the daemon's status endpoint (the
// daemon probes etcd for up to 2s while answering).
const statusTimeout = 10 * time.Second

// daemonStatus is the document the daemon serves on its status socket
// (daemon.HostStatus, decoded here without importing the daemon; a test
// serves daemon.StatusHandler to keep the two in step): routing's
// status.Status plus version, datastore and dataplane.
type daemonStatus struct {
	status.Status
	Version   string           `json:"version"`
	Datastore *daemonDatastore `json:"datastore,omitempty"`
	Dataplane *daemonDataplane `json:"dataplane,omitempty"`
}

type daemonDatastore struct {
	Reachable bool     `json:"reachable"`
	Endpoints []string `json:"endpoints"`
	Error     string   `json:"error,omitempty"`
}

type daemonDataplane struct {
	InSync            bool       `json:"inSync"`
	Dataplane         string     `json:"dataplane,omitempty"`
	IptablesBackend   string     `json:"iptablesBackend,omitempty"`
	NftablesHook      string     `json:"nftablesHook,omitempty"`
	Applies           uint64     `json:"applies"`
	Failures          uint64     `json:"failures"`
	LastApply         *time.Time `json:"lastApply,omitempty"`
	LastApplyDuration string     `json:"lastApplyDuration,omitempty"`
	LastError         string     `json:"lastError,omitempty"`
	Endpoints         int        `json:"endpoints"`
	Routes            int        `json:"routes"`
}

func (a *app) nodeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "This host's calico-libnetwork daemon: status and diagnostics",
		Example: `  calicoctl node status
  calicoctl node diags
  calicoctl node checksystem`,
	}
	cmd.PersistentFlags().StringVar(&a.StatusSocket, "status-socket", "",
		"the daemon's status socket (default <data_dir>/status.sock: $CALICO_DATA_DIR/status.sock, else "+status.DefaultSocket+")")
	cmd.AddCommand(a.nodeStatusCommand(), a.nodeDiagsCommand(), a.nodeChecksystemCommand())
	return cmd
}

func (a *app) nodeStatusCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status [-o table|yaml|json]",
		Short: "Is this host's daemon running: version, datastore, dataplane, BGP sessions",
		Long: `Ask this host's calico-libnetwork daemon, through its local status socket, for its
version, whether it reaches the datastore (etcd), whether its dataplane is in sync, and
its BGP sessions: one table per address family with PEER ADDRESS, PEER TYPE
(node-to-node mesh, global, node specific), STATE (up, or start while connecting),
SINCE (time of day when today, else the date) and INFO (the BGP state and the last
error), as the original calicoctl printed them.

-o json|yaml prints the daemon's whole status document.

Reading the socket needs the rights to open it (root, with the default data_dir).
Exit status: 0 when the daemon answered (whatever it reports), 1 when it is not
running or cannot be reached.`,
		Example: `  calicoctl node status
  calicoctl node status -o json
  calicoctl node status --status-socket /srv/calico/status.sock`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := cli.ParseFormatOf(output, "table", "yaml", "json")
			if err != nil {
				return err
			}
			st, _, err := a.fetchDaemonStatus(cmd.Context())
			if err != nil {
				return err
			}
			if format != cli.FormatTable {
				return cli.WriteStructured(a.Out, format, st)
			}
			return writeNodeStatus(a.Out, st, a.Now())
		},
	}
	cli.AddOutputFlag(cmd, &output, "table", "yaml", "json")
	return cmd
}

// statusSocketPath is --status-socket, else $CALICO_DATA_DIR/status.sock
// (the daemon's data_dir setting), else the default.
func (a *app) statusSocketPath() string {
	if a.StatusSocket != "" {
		return a.StatusSocket
	}
	if d, ok := a.LookupEnv("CALICO_DATA_DIR"); ok && d != "" {
		return filepath.Join(d, status.SocketName)
	}
	return status.DefaultSocket
}

// fetchDaemonStatus reads the daemon's status document, and its raw JSON.
func (a *app) fetchDaemonStatus(ctx context.Context) (*daemonStatus, []byte, error) {
	socket := a.statusSocketPath()
	raw, err := getStatusDocument(ctx, socket)
	if err != nil {
		return nil, nil, err
	}
	var st daemonStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, raw, fmt.Errorf("the daemon's status on %s is not a status document (%w): is calicoctl as new as the daemon?", socket, err)
	}
	return &st, raw, nil
}

// getStatusDocument does GET status.Path on the unix socket.
func getStatusDocument(ctx context.Context, socket string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	c := http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://calico-libnetwork"+status.Path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, daemonUnreachable(socket, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("read the daemon's status from %s: %w", socket, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the daemon's status endpoint %s answered %s: %s", socket, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// daemonUnreachable explains a failed connection to the status socket.
func daemonUnreachable(socket string, err error) error {
	switch {
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("cannot open %s: permission denied: run calicoctl as root (sudo calicoctl ...)", socket)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("calico-libnetwork on this host does not answer on %s within %s: it may be overloaded or stuck; see its logs", socket, statusTimeout)
	}
	cause := "no daemon listens there"
	if errors.Is(err, os.ErrNotExist) {
		cause = "the socket does not exist"
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		cause = err.Error()
	}
	return fmt.Errorf("calico-libnetwork is not running on this host: cannot reach %s (%s); start it "+
		"(systemctl start calico-libnetwork), or give its socket with --status-socket <data_dir>/status.sock", socket, cause)
}

// daemonHostStatus is app.hostStatus: calicoctl status's view of the daemon.
func (a *app) daemonHostStatus(ctx context.Context) (*HostStatus, error) {
	st, _, err := a.fetchDaemonStatus(ctx)
	if err != nil {
		return nil, err
	}
	h := &HostStatus{Version: st.Version, DataplaneInSync: st.Dataplane != nil && st.Dataplane.InSync}
	h.Details = append(h.Details, "node "+st.Node+"; datastore "+datastoreLine(st)+"; dataplane "+dataplaneLine(st.Dataplane))
	if st.BGP != nil {
		for _, p := range st.BGP.Peers {
			line := fmt.Sprintf("BGP peer %s (%s): %s", p.PeerIP, status.PeerTypeDisplay(p.Type), p.State)
			if p.Since != nil {
				line += " since " + p.Since.UTC().Format(time.RFC3339)
			}
			h.Details = append(h.Details, line)
		}
	}
	return h, nil
}

// writeNodeStatus prints the classic calicoctl node status report.
func writeNodeStatus(w io.Writer, st *daemonStatus, now time.Time) error {
	fmt.Fprintln(w, "Calico process is running.")
	fmt.Fprintln(w)
	lines := [][2]string{
		{"Version", cli.OrDash(st.Version)},
		{"Node", cli.OrDash(st.Node)},
		{"Datastore", datastoreLine(st)},
		{"Dataplane", dataplaneLine(st.Dataplane)},
	}
	if st.Backend != "" {
		lines = append(lines, [2]string{"Routing", routingLine(st)})
	}
	lines = append(lines, [2]string{"BGP", bgpLine(st)})
	for _, l := range lines {
		fmt.Fprintf(w, "%-11s %s\n", l[0]+":", l[1])
	}
	if st.BGP == nil || !st.BGP.Running {
		return nil
	}
	for _, fam := range []struct {
		name string
		is6  bool
	}{{"IPv4", false}, {"IPv6", true}} {
		fmt.Fprintf(w, "\n%s BGP status\n", fam.name)
		var rows [][]string
		for _, p := range st.BGP.Peers {
			if addr, err := netip.ParseAddr(p.PeerIP); err == nil && addr.Unmap().Is6() == fam.is6 {
				rows = append(rows, peerRow(p, now))
			}
		}
		if len(rows) == 0 {
			fmt.Fprintf(w, "No %s peers found.\n", fam.name)
			continue
		}
		writeBoxTable(w, []string{"PEER ADDRESS", "PEER TYPE", "STATE", "SINCE", "INFO"}, rows)
	}
	return nil
}

func datastoreLine(st *daemonStatus) string {
	d := st.Datastore
	if d == nil {
		return "unknown (the daemon did not say)"
	}
	where := "etcd " + strings.Join(d.Endpoints, ",")
	if d.Reachable && d.Error != "" { // e.g. the NOSPACE alarm: reads work, writes fail
		return fmt.Sprintf("reachable but REFUSING WRITES (%s): %s", where, d.Error)
	}
	if d.Reachable {
		return "reachable (" + where + ")"
	}
	return fmt.Sprintf("UNREACHABLE (%s): %s", where, d.Error)
}

func dataplaneLine(d *daemonDataplane) string {
	if d == nil {
		return "not started"
	}
	detail := fmt.Sprintf("%d endpoint(s), %d route(s); %d apply(ies), %d failed", d.Endpoints, d.Routes, d.Applies, d.Failures)
	if d.IptablesBackend != "" {
		detail = "iptables " + d.IptablesBackend + "; " + detail
	}
	if d.Dataplane == "nftables" {
		what := "nftables"
		if d.NftablesHook != "" {
			what += ", workloads' ingress policy on the " + d.NftablesHook + " hook"
		}
		detail = what + "; " + detail
	}
	if d.LastApply != nil {
		detail += "; last " + d.LastApply.UTC().Format(time.RFC3339)
	}
	switch {
	case d.InSync:
		return "in sync (" + detail + ")"
	case d.LastError != "":
		return fmt.Sprintf("NOT IN SYNC: the last apply failed: %s (%s)", d.LastError, detail)
	case d.Applies == 0:
		return "not in sync yet: the first apply has not finished"
	}
	return "NOT IN SYNC (" + detail + ")"
}

func routingLine(st *daemonStatus) string {
	r := st.Routes
	line := fmt.Sprintf("networking backend %s; %d route(s) to other hosts", st.Backend, r.Programmed)
	if r.InSync {
		line += ", in sync"
	} else {
		line += ", NOT IN SYNC"
	}
	if r.LastError != "" {
		line += ": " + r.LastError
	}
	return line
}

func bgpLine(st *daemonStatus) string {
	b := st.BGP
	switch {
	case b == nil && st.Backend == "":
		return "unknown: the daemon's routing has not started"
	case b == nil && st.Backend != "bird":
		return fmt.Sprintf("not used (networking backend %s)", st.Backend)
	case b == nil:
		return "no BGP speaker"
	case !b.Running:
		return "NOT RUNNING: " + cli.OrDash(b.LastError)
	}
	line := fmt.Sprintf("AS %d, router ID %s, address %s", b.ASNumber, b.RouterID, cli.OrDash(b.IPv4Address))
	if b.LastError != "" {
		line += "; " + b.LastError
	}
	return line
}

// peerRow is a BGP session as BIRD-era calicoctl showed it.
func peerRow(p status.Peer, now time.Time) []string {
	state, info := "start", p.State
	if p.State == "Established" {
		state = "up"
	}
	if p.Info != "" && p.Info != p.State {
		info = strings.TrimSpace(info + " " + p.Info)
	}
	since := ""
	if p.Since != nil {
		t := p.Since.In(now.Location())
		if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
			since = t.Format("15:04:05")
		} else {
			since = t.Format("2006-01-02")
		}
	}
	return []string{p.PeerIP, status.PeerTypeDisplay(p.Type), state, since, info}
}

// writeBoxTable prints a bordered table with centred headers, as the
// original calicoctl's node status did.
func writeBoxTable(w io.Writer, header []string, rows [][]string) {
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	var sep strings.Builder
	sep.WriteString("+")
	for _, n := range width {
		sep.WriteString(strings.Repeat("-", n+2) + "+")
	}
	line := func(cells []string, centre bool) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range cells {
			pad := width[i] - len(c)
			left := 0
			if centre {
				left = pad / 2
			}
			b.WriteString(" " + strings.Repeat(" ", left) + c + strings.Repeat(" ", pad-left) + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	fmt.Fprintln(w, sep.String())
	line(header, true)
	fmt.Fprintln(w, sep.String())
	for _, r := range rows {
		line(r, false)
	}
	fmt.Fprintln(w, sep.String())
}
