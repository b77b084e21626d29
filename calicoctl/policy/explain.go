package policy

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

func (a *app) policyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Explain policy verdicts and show which policies apply to an endpoint",
		Example: `  calicoctl policy explain --from bookstore-frontend --to bookstore-server --port 80
  calicoctl policy show --endpoint bookstore-server`,
	}
	cmd.AddCommand(a.explainCommand(), a.policyShowCommand())
	return cmd
}

// explainFlags are policy explain's packet description.
type explainFlags struct {
	from, to, protocol, output string
	port, srcPort              int
	icmpType, icmpCode         int
	hostAction                 string
	// failsafeIn and failsafeOut are the daemon's failsafe port settings
	// ("": FelixConfiguration's, else Calico's defaults); failsafe their
	// parsed form.
	failsafeIn, failsafeOut string
	failsafe                calc.FailsafeConfig
}

func (a *app) explainCommand() *cobra.Command {
	var f explainFlags
	cmd := &cobra.Command{
		Use:   "explain --from CONTAINER|IP|ENDPOINT --to CONTAINER|IP|ENDPOINT [--port N] [--protocol TCP]",
		Short: "Would a packet be allowed, and which policy or profile decides",
		Long: `Compute the verdict for the first packet of a flow, with the same calculation the
dataplane (felix) renders its rules from, and print every policy and profile
consulted, in order, with the rule that matched or "no rule matched": first the egress
policy of the source (when it is a workload), then the ingress policy of the
destination (when it is a workload). Rules are numbered from 0, as in the resource.

--from and --to take a container name, a container ID or prefix, a WorkloadEndpoint
name, or an IP address; an address that belongs to no workload is a host outside
Calico (only the workload side's policy applies). A container on several networks
uses the endpoint on the other side's network.

The packet: --protocol (TCP, UDP, SCTP, ICMP, ICMPv6 or a number; default TCP),
--port (destination port; required for TCP, UDP and SCTP), --src-port (default 0),
--icmp-type/--icmp-code (default: echo request).

--from and --to may name a host endpoint too: hostendpoint/NAME (or a NAME no container
has), NODE:INTERFACE (the host endpoint policing that interface of that node: the one
with that interfaceName, else the node's "*" one), or one of its expectedIPs. The
packet is then traced host by host in the order the dataplane applies host endpoint
policy: doNotTrack (raw), preDNAT (mangle), then normal policy (to or from the host)
or applyOnForward policy (forwarded), each after the failsafe ports and the tunnel
peers' packets; a host endpoint with neither policy nor profile denies. The failsafe
ports are FelixConfiguration's (node.<name>, else default), else Calico's defaults,
unless --failsafe-inbound-host-ports/--failsafe-outbound-host-ports give the daemon's.
A workload's traffic to or from another host crosses its host's "*" host endpoint (or
its only host endpoint) on its way.

Established connections and the return traffic of an allowed flow are always
allowed by the dataplane; explain is about the first packet.

Exit status: 0 allowed, 3 denied, 1 error (unknown container, bad address or port).`,
		Example: `  calicoctl policy explain --from bookstore-frontend --to bookstore-server --port 80
  calicoctl policy explain --from 10.0.0.7 --to web-1 --protocol UDP --port 53 -o json
  calicoctl policy explain --from web-1 --to 8.8.8.8 --protocol ICMP
  calicoctl policy explain --from 192.0.2.7 --to host1:eth0 --port 22
  calicoctl policy explain --from hostendpoint/host1-eth0 --to db-1 --port 5432
  if calicoctl policy explain --from a --to b --port 443 >/dev/null; then echo open; fi`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runExplain(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "source: container name or ID, endpoint name, hostendpoint/NAME, NODE:INTERFACE or IP address (required)")
	fl.StringVar(&f.to, "to", "", "destination: container name or ID, endpoint name, hostendpoint/NAME, NODE:INTERFACE or IP address (required)")
	fl.StringVar(&f.protocol, "protocol", "TCP", "protocol: TCP, UDP, SCTP, ICMP, ICMPv6 or a number")
	fl.IntVar(&f.port, "port", -1, "destination port (TCP, UDP, SCTP)")
	fl.IntVar(&f.srcPort, "src-port", 0, "source port (TCP, UDP, SCTP)")
	fl.IntVar(&f.icmpType, "icmp-type", -1, "ICMP type (default 8, or 128 for ICMPv6: echo request)")
	fl.IntVar(&f.icmpCode, "icmp-code", 0, "ICMP code")
	fl.StringVar(&f.hostAction, "endpoint-to-host-action", "Drop", "the source host's endpoint_to_host_action (Drop or Accept): decides traffic to the workload's own host after policy")
	fl.StringVar(&f.failsafeIn, "failsafe-inbound-host-ports", "", "the hosts' failsafe_inbound_host_ports, e.g. tcp:22,udp:68 or none (default: FelixConfiguration's, else Calico's)")
	fl.StringVar(&f.failsafeOut, "failsafe-outbound-host-ports", "", "the hosts' failsafe_outbound_host_ports (default: FelixConfiguration's, else Calico's)")
	cli.AddOutputFlag(cmd, &f.output, "table", "wide", "yaml", "json")
	return cmd
}

// Explanation is policy explain's answer.
type Explanation struct {
	Verdict string        `json:"verdict"` // "allowed" or "denied"
	Allowed bool          `json:"allowed"`
	Reason  string        `json:"reason"`
	Packet  packetView    `json:"packet"`
	From    *party        `json:"from"`
	To      *party        `json:"to"`
	Steps   []explainStep `json:"steps"`
	// Staged is the verdict with the staged policies enforced, when any
	// exist: what they would change. It never affects Verdict.
	Staged *stagedExplanation `json:"staged,omitempty"`
}

// stagedExplanation is the verdict the staged policies would give.
type stagedExplanation struct {
	Verdict string        `json:"verdict"`
	Reason  string        `json:"reason"`
	Steps   []explainStep `json:"steps"`
}

type packetView struct {
	Protocol string `json:"protocol"`
	Src      string `json:"src"`
	Dst      string `json:"dst"`
	SrcPort  *int   `json:"srcPort,omitempty"`
	DstPort  *int   `json:"dstPort,omitempty"`
	ICMPType *int   `json:"icmpType,omitempty"`
	ICMPCode *int   `json:"icmpCode,omitempty"`
}

type explainStep struct {
	Direction string `json:"direction"`
	Endpoint  string `json:"endpoint"`
	// Stage is a host endpoint's: doNotTrack, preDNAT, normal or
	// applyOnForward (calc's order); empty for a workload endpoint.
	Stage string `json:"stage,omitempty"`
	// Kind is policy or profile, or an accept before a host endpoint's
	// policy: failsafe, neighbour discovery or tunnel peer (Name says
	// what matched), or a host endpoint's "default deny".
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Matched  bool   `json:"matched"`
	Rule     *int   `json:"rule,omitempty"`   // index in the policy's or profile's rules
	Action   string `json:"action,omitempty"` // of the matching rule
	RuleText string `json:"ruleText,omitempty"`
	Missing  bool   `json:"missing,omitempty"` // a profile that does not exist
}

// packetFlags checks the packet flags before etcd is contacted.
func (f *explainFlags) packet() (calc.Packet, error) {
	var pkt calc.Packet
	if f.from == "" || f.to == "" {
		return pkt, cli.Usagef("give both --from and --to, e.g. --from web-1 --to db-1 --port 5432")
	}
	if f.hostAction != "Drop" && f.hostAction != "Accept" {
		return pkt, cli.Usagef("--endpoint-to-host-action %q: give Drop or Accept, as the host's endpoint_to_host_action", f.hostAction)
	}
	if err := f.parseFailsafe(); err != nil { // explain_hep.go
		return pkt, err
	}
	proto, err := resources.ParseProtocol(f.protocol)
	if err != nil {
		return pkt, cli.Usagef("--protocol: %v", err)
	}
	pkt.Protocol, pkt.ICMPType = proto.Number, -1
	switch {
	case proto.HasPorts():
		if f.port < 0 {
			return pkt, cli.Usagef("--port is required with protocol %s: give the destination port, e.g. --port 80", proto)
		}
		if f.port > 65535 || f.srcPort < 0 || f.srcPort > 65535 {
			return pkt, cli.Usagef("ports must be between 0 and 65535 (got --port %d --src-port %d)", f.port, f.srcPort)
		}
		pkt.DstPort, pkt.SrcPort = uint16(f.port), uint16(f.srcPort)
	case f.port >= 0:
		return pkt, cli.Usagef("--port makes no sense with protocol %s: use TCP, UDP or SCTP, or drop --port", proto)
	case proto.IsICMP():
		pkt.ICMPType, pkt.ICMPCode = f.icmpType, f.icmpCode
		if pkt.ICMPType < 0 {
			pkt.ICMPType = map[bool]int{true: 8, false: 128}[proto.Number == 1]
		}
		if pkt.ICMPType > 255 || pkt.ICMPCode < 0 || pkt.ICMPCode > 255 {
			return pkt, cli.Usagef("--icmp-type and --icmp-code must be between 0 and 255")
		}
	}
	return pkt, nil
}

func (a *app) runExplain(cmd *cobra.Command, f *explainFlags) error {
	format, err := cli.ParseFormatOf(f.output, "table", "wide", "yaml", "json")
	if err != nil {
		return err
	}
	pkt, err := f.packet()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	exp, err := a.explain(ctx, f, pkt)
	if err != nil {
		return err
	}
	if format == cli.FormatYAML || format == cli.FormatJSON {
		err = cli.WriteStructured(a.Out, format, exp)
	} else {
		err = writeExplanation(a.Out, exp, format == cli.FormatWide)
	}
	if err != nil {
		return err
	}
	if !exp.Allowed {
		return &cli.ExitCodeError{Code: cli.ExitDenied}
	}
	return nil
}

func (a *app) explain(ctx context.Context, f *explainFlags, pkt calc.Packet) (*Explanation, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	v, err := LoadPolicyView(ctx, st)
	if err != nil {
		return nil, err
	}
	v.hosts.override = f.failsafe
	froms, err := v.candidates("--from", f.from)
	if err != nil {
		return nil, err
	}
	tos, err := v.candidates("--to", f.to)
	if err != nil {
		return nil, err
	}
	from, to, err := pickPair(froms, tos)
	if err != nil {
		return nil, err
	}
	if from.hep != nil && to.hep != nil && from.Node == to.Node {
		return nil, fmt.Errorf("--from and --to are both host endpoints of node %s: a host talks to itself over loopback, which policy never polices", from.Node)
	}
	if from.addr == to.addr {
		return nil, fmt.Errorf("--from and --to are both %s: traffic to itself never leaves the container, so no policy applies", from.IP)
	}
	pkt.Src, pkt.Dst = from.addr, to.addr
	toHost := v.toOwnHost(from, to) // explain_host.go
	verdict := func(staged bool) calc.Result {
		switch {
		case !toHost && v.involvesHost(from, to): // explain_hep.go
			return v.Model.PathVerdict(pkt, v.hops(from, to), staged)
		case staged:
			return v.Model.StagedVerdict(pkt)
		}
		return v.Model.Verdict(pkt)
	}
	exp := v.explanation(verdict, from, to, pkt)
	v.hostVerdict(exp, from, to, f.hostAction, toHost && to.hep != nil) // explain_host.go
	return exp, nil
}

// explanation is the verdict (verdict(false)) with its steps, and what
// the staged policies would decide (verdict(true)) when any exist.
func (v *policyView) explanation(verdict func(staged bool) calc.Result, from, to *party, pkt calc.Packet) *Explanation {
	res := verdict(false)
	exp := &Explanation{Verdict: "denied", Allowed: res.Allowed, Reason: res.Reason, From: from, To: to, Packet: packetOf(pkt)}
	if res.Allowed {
		exp.Verdict = "allowed"
	}
	for _, s := range res.Steps {
		exp.Steps = append(exp.Steps, v.stepOf(s))
	}
	if v.Model.HasStaged() {
		sr := verdict(true)
		exp.Staged = &stagedExplanation{Verdict: map[bool]string{true: "allowed", false: "denied"}[sr.Allowed], Reason: sr.Reason}
		for _, s := range sr.Steps {
			exp.Staged.Steps = append(exp.Staged.Steps, v.stepOf(s))
		}
	}
	return exp
}

func (v *policyView) stepOf(s calc.Step) explainStep {
	out := explainStep{Direction: s.Direction.String(), Endpoint: strings.TrimPrefix(s.Endpoint, resources.DefaultNamespace+"/"),
		Stage: s.Stage, Kind: s.Kind, Name: s.Name, Matched: s.Rule >= 0, Action: s.Action, RuleText: v.ruleText(s)}
	if s.Rule >= 0 {
		out.Rule = cli.IntPtr(s.Rule)
	}
	if s.Kind == "profile" && v.profiles[s.Name] == nil {
		out.Missing = true
	}
	return out
}

func packetOf(pkt calc.Packet) packetView {
	proto := resources.ProtocolFromNumber(pkt.Protocol)
	pv := packetView{Protocol: proto.String(), Src: pkt.Src.String(), Dst: pkt.Dst.String()}
	switch {
	case proto.HasPorts():
		pv.SrcPort, pv.DstPort = cli.IntPtr(int(pkt.SrcPort)), cli.IntPtr(int(pkt.DstPort))
	case proto.IsICMP():
		pv.ICMPType, pv.ICMPCode = cli.IntPtr(pkt.ICMPType), cli.IntPtr(pkt.ICMPCode)
	}
	return pv
}

func (p packetView) String() string {
	switch {
	case p.DstPort != nil:
		return fmt.Sprintf("%s %s port %d -> %s port %d", p.Protocol, p.Src, *p.SrcPort, p.Dst, *p.DstPort)
	case p.ICMPType != nil:
		return fmt.Sprintf("%s type %d code %d %s -> %s", p.Protocol, *p.ICMPType, *p.ICMPCode, p.Src, p.Dst)
	}
	return fmt.Sprintf("%s %s -> %s", p.Protocol, p.Src, p.Dst)
}

func writeExplanation(w io.Writer, e *Explanation, wide bool) error {
	fmt.Fprintf(w, "Packet:   %s\n", e.Packet)
	fmt.Fprintf(w, "From:     %s\n", e.From.describe())
	fmt.Fprintf(w, "To:       %s\n", e.To.describe())
	fmt.Fprintf(w, "Verdict:  %s (%s)\n", strings.ToUpper(e.Verdict), e.Reason)
	if e.Staged != nil {
		fmt.Fprintf(w, "Staged:   would be %s (%s)\n", strings.ToUpper(e.Staged.Verdict), e.Staged.Reason)
	}
	fmt.Fprintln(w)
	if len(e.Steps) == 0 {
		fmt.Fprintln(w, "No policy or profile was consulted.")
		return nil
	}
	t := cli.Table{Header: []string{"STEP", "DIRECTION", "ENDPOINT", "KIND", "NAME", "RESULT"}}
	if wide {
		t.Header = append(t.Header, "RULE")
	}
	for i, s := range e.Steps {
		result, kind := "no rule matched", stageKind(s.Kind, s.Stage)
		switch {
		case s.Rule == nil && s.Action == resources.ActionAllow:
			result = "accepted before policy"
		case s.Rule == nil && s.Action != "":
			result = s.Action
		case s.Missing:
			result = "profile does not exist: no rule matched"
		case s.Matched:
			result = fmt.Sprintf("rule %d: %s", *s.Rule, s.Action)
		}
		row := []string{strconv.Itoa(i + 1), s.Direction, s.Endpoint, kind, s.Name, result}
		if wide {
			row = append(row, s.RuleText)
		}
		t.Rows = append(t.Rows, row)
	}
	return t.Write(w)
}

// stageKind is a KIND column: the kind, with the host endpoint stage
// (preDNAT, doNotTrack, ...) it applies at when it has one.
func stageKind(kind, stage string) string {
	if stage == "" {
		return kind
	}
	return kind + " (" + stage + ")"
}
