package nftrules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/nftables/expr"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// Compile turns one rule of chain (felix/rules' iptables vocabulary) into
// nftables expressions for a table of IP version v.
//
// Not every rule counts packets as iptables' do: only the rules of policy
// and profile chains (what users wrote; their hit counts are what a reader
// of `nft list ruleset` looks for) and every rule that accepts, drops or
// untracks a packet (what decided a packet's fate). The plumbing between
// them (a mark cleared, a jump, a return on a mark: three rules in four at
// 1,000 endpoints × 1,000 policies) has no counter: each one costs the
// kernel a per-CPU allocation and an expression lookup whenever its chain
// is written (~30 ms of a start of day's commit; docs/nftables.md).
func Compile(v int, chain string, r ipt.Rule) ([]expr.Any, error) {
	return compile(&compiler{v: v, toks: strings.Fields(r.Match)}, chain, r)
}

// CompileNetdev is Compile for a netdev table's chain (egress mode's
// to-workload shards, egress.go): there is no conntrack there, so the
// flow log rules' "first packet of a connection" (ctstate NEW) compiles
// to nothing (only such packets are marked for the chain) and any other
// conntrack match is an error, as is an input interface (there is none
// on the egress hook); an NFLOG prefix's first letter is lower case (the
// payload starts at the Ethernet header: felix/flowlogs).
func CompileNetdev(v int, chain string, r ipt.Rule) ([]expr.Any, error) {
	return compile(&compiler{v: v, toks: strings.Fields(r.Match), netdev: true}, chain, r)
}

func compile(c *compiler, chain string, r ipt.Rule) ([]expr.Any, error) {
	for c.i < len(c.toks) {
		if err := c.match(); err != nil {
			return nil, fmt.Errorf("rule %q: %w", r.Match+" -j "+r.Action, err)
		}
	}
	if c.verdict == nil { // no goto in the match: the action decides
		if err := c.action(r.Action); err != nil {
			return nil, fmt.Errorf("rule %q: %w", r.Match+" -j "+r.Action, err)
		}
	} else if r.Action != "" {
		return nil, fmt.Errorf("rule %q: both a goto and an action", r.Match)
	}
	if c.decides || rules.IsRuleChain(chain) || r.Action == rules.AllowAndClear {
		c.out = append(c.out, &expr.Counter{})
	}
	if c.verdict != nil {
		c.out = append(c.out, c.verdict)
	}
	return c.out, nil
}

type compiler struct {
	v       int
	netdev  bool // a netdev table's chain (CompileNetdev)
	toks    []string
	i       int
	neg     bool
	out     []expr.Any
	verdict expr.Any
	decides bool // the action accepts, drops or untracks the packet
}

func (c *compiler) next() (string, error) {
	if c.i >= len(c.toks) {
		return "", fmt.Errorf("missing argument after %q", c.toks[c.i-1])
	}
	c.i++
	return c.toks[c.i-1], nil
}

func (c *compiler) op() expr.CmpOp {
	if c.neg {
		return expr.CmpOpNeq
	}
	return expr.CmpOpEq
}

// match compiles one match at c.i (with its arguments).
func (c *compiler) match() error {
	tok, _ := c.next()
	if tok == "!" {
		c.neg = true
		tok, _ = c.next()
	}
	defer func() { c.neg = false }()
	arg, err := c.next()
	if err != nil {
		return err
	}
	switch tok {
	case "-i", "-o":
		if c.netdev && tok == "-i" {
			return fmt.Errorf("an input interface (%s) cannot be matched on the egress hook", arg)
		}
		return c.iface(tok == "-i", arg)
	case "-p":
		p, err := protoNumber(arg)
		if err != nil {
			return err
		}
		c.emit(&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: c.op(), Register: 1, Data: []byte{p}})
	case "-s", "-d":
		return c.addr(tok == "-s", arg)
	case "-g":
		c.verdict = &expr.Verdict{Kind: expr.VerdictGoto, Chain: arg}
	case "-m":
		return c.module(arg)
	case srcKeyFlag:
		return c.sourceLookup(arg)
	default:
		return fmt.Errorf("unsupported match %q", tok)
	}
	return nil
}

func (c *compiler) emit(e ...expr.Any) { c.out = append(c.out, e...) }

// iface: "cali+" is a prefix match (the name's bytes without NUL), any
// other name an exact one; "vmap NAME" a verdict-map lookup.
func (c *compiler) iface(in bool, name string) error {
	key := expr.MetaKeyOIFNAME
	if in {
		key = expr.MetaKeyIIFNAME
	}
	c.emit(&expr.Meta{Key: key, Register: 1})
	if name == "vmap" {
		set, err := c.next()
		if err != nil {
			return err
		}
		c.emit(&expr.Lookup{SourceRegister: 1, DestRegister: 0, IsDestRegSet: true, SetName: set})
		return nil
	}
	data := []byte(name + "\x00")
	if p, ok := strings.CutSuffix(name, "+"); ok {
		data = []byte(p)
	}
	c.emit(&expr.Cmp{Op: c.op(), Register: 1, Data: data})
	return nil
}

func (c *compiler) module(mod string) error {
	switch mod {
	case "conntrack":
		return c.ctstate()
	case "mark":
		return c.markMatch()
	case "ethertype":
		return c.ethertype()
	case "set":
		return c.set()
	case "iprange":
		return c.iprange()
	case "multiport":
		return c.ports()
	case "tcp", "udp", "sctp": // one port (failsafe rules, felix/rules/hostendpoint.go)
		return c.port()
	case "icmp", "icmp6":
		return c.icmp()
	case "mac":
		return c.mac()
	case "comment":
		_, err := c.next() // "--comment"
		if err == nil {
			_, err = c.next()
		}
		return err
	}
	return fmt.Errorf("unsupported match module %q", mod)
}

// flagArg reads "[!] --flag value" after a module name.
func (c *compiler) flagArg(want ...string) (flag, val string, err error) {
	f, err := c.next()
	if err != nil {
		return "", "", err
	}
	if f == "!" {
		c.neg = true
		if f, err = c.next(); err != nil {
			return "", "", err
		}
	}
	for _, w := range want {
		if f == w {
			val, err = c.next()
			return f, val, err
		}
	}
	return "", "", fmt.Errorf("unsupported option %q (want %s)", f, strings.Join(want, " or "))
}

func protoNumber(s string) (byte, error) {
	switch s {
	case "tcp":
		return 6, nil
	case "udp":
		return 17, nil
	case "icmp":
		return 1, nil
	case "ipv6-icmp", "icmpv6":
		return 58, nil
	case "sctp":
		return 132, nil
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("unknown protocol %q", s)
	}
	return byte(n), nil
}
