package nftrules

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Header offsets of the source and destination address.
func (c *compiler) addrField(src bool) (offset, size uint32) {
	if c.v == 6 {
		if src {
			return 8, 16
		}
		return 24, 16
	}
	if src {
		return 12, 4
	}
	return 16, 4
}

func (c *compiler) loadAddr(src bool) {
	off, size := c.addrField(src)
	c.emit(&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: size})
}

// addr: "-s 10.0.0.0/8".
func (c *compiler) addr(src bool, arg string) error {
	p, err := netip.ParsePrefix(arg)
	if err != nil {
		return fmt.Errorf("address %q: %w", arg, err)
	}
	if p.Addr().Is4() != (c.v == 4) {
		return fmt.Errorf("address %s is not IPv%d", p, c.v)
	}
	c.loadAddr(src)
	_, size := c.addrField(src)
	if p.Bits() < int(size)*8 {
		mask := net.CIDRMask(p.Bits(), int(size)*8)
		c.emit(&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: size, Mask: mask, Xor: make([]byte, size)})
	}
	c.emit(&expr.Cmp{Op: c.op(), Register: 1, Data: p.Masked().Addr().AsSlice()})
	return nil
}

// ctstate: "--ctstate RELATED,ESTABLISHED" (any of them).
func (c *compiler) ctstate() error {
	_, arg, err := c.flagArg("--ctstate")
	if err != nil {
		return err
	}
	bits := map[string]uint32{"INVALID": 1, "ESTABLISHED": 2, "RELATED": 4, "NEW": 8, "UNTRACKED": 64}
	var mask uint32
	for _, s := range strings.Split(arg, ",") {
		b, ok := bits[s]
		if !ok {
			return fmt.Errorf("unknown ctstate %q", s)
		}
		mask |= b
	}
	op := expr.CmpOpNeq // some bit set
	if c.neg {
		op = expr.CmpOpEq
	}
	if c.netdev {
		if mask == 8 && !c.neg { // NEW: what the to-workload mark stands for (egress.go)
			return nil
		}
		return fmt.Errorf("conntrack state %s cannot be matched in a netdev table", arg)
	}
	c.emit(&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: native(mask), Xor: native(0)},
		&expr.Cmp{Op: op, Register: 1, Data: native(0)})
	return nil
}

func native(v uint32) []byte { return binaryutil.NativeEndian.PutUint32(v) }

// valueMask parses "0x10000/0x30000".
func valueMask(s string) (value, mask uint32, err error) {
	v, m, ok := strings.Cut(s, "/")
	if !ok {
		m = "0xffffffff"
	}
	vv, err1 := strconv.ParseUint(v, 0, 32)
	mm, err2 := strconv.ParseUint(m, 0, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("mark %q: want value/mask", s)
	}
	return uint32(vv), uint32(mm), nil
}

// ethertype: "[!] --ethertype 0x0800", the link layer protocol (a
// netdev table's family check: egress.go).
func (c *compiler) ethertype() error {
	_, arg, err := c.flagArg("--ethertype")
	if err != nil {
		return err
	}
	n, err := strconv.ParseUint(arg, 0, 16)
	if err != nil {
		return fmt.Errorf("ethertype %q: want a 16-bit number (0x0800)", arg)
	}
	c.emit(&expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: 1},
		&expr.Cmp{Op: c.op(), Register: 1, Data: binary.BigEndian.AppendUint16(nil, uint16(n))})
	return nil
}

// markMatch: "--mark 0x10000/0x10000".
func (c *compiler) markMatch() error {
	_, arg, err := c.flagArg("--mark")
	if err != nil {
		return err
	}
	v, m, err := valueMask(arg)
	if err != nil {
		return err
	}
	c.emit(&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: native(m), Xor: native(0)},
		&expr.Cmp{Op: c.op(), Register: 1, Data: native(v)})
	return nil
}

// set: "[!] --match-set NAME src|dst".
func (c *compiler) set() error {
	_, name, err := c.flagArg("--match-set")
	if err != nil {
		return err
	}
	dir, err := c.next()
	if err != nil {
		return err
	}
	if dir != "src" && dir != "dst" {
		return fmt.Errorf("set direction %q: want src or dst", dir)
	}
	// The key of the table's selector set: the address in the first
	// 32-bit registers, the set's number after it (SelectorSet).
	off, size := c.addrField(dir == "src")
	id := SetID(SetName(name))
	c.emit(&expr.Payload{DestRegister: reg32, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: size},
		&expr.Immediate{Register: reg32 + size/4, Data: id[:]},
		&expr.Lookup{SourceRegister: reg32, SetName: SelectorSet, Invert: c.neg})
	return nil
}

// reg32 is the first 32-bit register (NFT_REG32_00): a concatenated key
// is loaded into consecutive ones.
const reg32 = 8

// iprange: "[!] --src-range A-B" / "--dst-range".
func (c *compiler) iprange() error {
	flag, arg, err := c.flagArg("--src-range", "--dst-range")
	if err != nil {
		return err
	}
	a, b, _ := strings.Cut(arg, "-")
	from, err1 := netip.ParseAddr(a)
	to, err2 := netip.ParseAddr(b)
	if err1 != nil || err2 != nil || from.Is4() != (c.v == 4) || to.Is4() != (c.v == 4) {
		return fmt.Errorf("address range %q", arg)
	}
	c.loadAddr(flag == "--src-range")
	c.emit(&expr.Range{Op: c.op(), Register: 1, FromData: from.AsSlice(), ToData: to.AsSlice()})
	return nil
}

// ports: "[!] --sports|--dports 80,8080:8090". A positive list of several
// ports can't be one rule without an anonymous set, so Expand splits it
// before compiling; here a positive list has one entry.
func (c *compiler) ports() error {
	flag, arg, err := c.flagArg("--sports", "--dports")
	if err != nil {
		return err
	}
	items := strings.Split(arg, ",")
	if !c.neg && len(items) > 1 {
		return fmt.Errorf("port list %q: expand it first (Expand)", arg)
	}
	var off uint32 = 2
	if flag == "--sports" {
		off = 0
	}
	for _, it := range items {
		lo, hi, isRange := strings.Cut(it, ":")
		l, err1 := strconv.ParseUint(lo, 10, 16)
		h := l
		var err2 error
		if isRange {
			h, err2 = strconv.ParseUint(hi, 10, 16)
		}
		if err1 != nil || err2 != nil {
			return fmt.Errorf("port %q", it)
		}
		c.emit(&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 2})
		if l == h {
			c.emit(&expr.Cmp{Op: c.op(), Register: 1, Data: be16(l)})
		} else {
			c.emit(&expr.Range{Op: c.op(), Register: 1, FromData: be16(l), ToData: be16(h)})
		}
	}
	return nil
}

// port: "[!] --dport|--sport N" after -m tcp/udp/sctp.
func (c *compiler) port() error {
	flag, arg, err := c.flagArg("--dport", "--sport")
	if err != nil {
		return err
	}
	p, err := strconv.ParseUint(arg, 10, 16)
	if err != nil {
		return fmt.Errorf("port %q", arg)
	}
	var off uint32 = 2
	if flag == "--sport" {
		off = 0
	}
	c.emit(&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 2},
		&expr.Cmp{Op: c.op(), Register: 1, Data: be16(p)})
	return nil
}

func be16(v uint64) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }

// icmp: "[!] --icmp-type T[/C]" or "--icmpv6-type".
func (c *compiler) icmp() error {
	_, arg, err := c.flagArg("--icmp-type", "--icmpv6-type")
	if err != nil {
		return err
	}
	t, code, hasCode := strings.Cut(arg, "/")
	tv, err := strconv.ParseUint(t, 10, 8)
	if err != nil {
		return fmt.Errorf("icmp type %q", arg)
	}
	data := []byte{byte(tv)}
	if hasCode {
		cv, err := strconv.ParseUint(code, 10, 8)
		if err != nil {
			return fmt.Errorf("icmp code %q", arg)
		}
		data = append(data, byte(cv))
	}
	c.emit(&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: uint32(len(data))},
		&expr.Cmp{Op: c.op(), Register: 1, Data: data})
	return nil
}

// mac: "[!] --mac-source 02:..." (the link-layer header's source).
func (c *compiler) mac() error {
	_, arg, err := c.flagArg("--mac-source")
	if err != nil {
		return err
	}
	hw, err := net.ParseMAC(arg)
	if err != nil || len(hw) != 6 {
		return fmt.Errorf("MAC %q", arg)
	}
	c.emit(&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseLLHeader, Offset: 6, Len: 6},
		&expr.Cmp{Op: c.op(), Register: 1, Data: hw})
	return nil
}

// action compiles the iptables target.
func (c *compiler) action(a string) error {
	switch a {
	case "":
		return nil
	case "ACCEPT":
		c.verdict, c.decides = &expr.Verdict{Kind: expr.VerdictAccept}, true
	case "DROP":
		c.verdict, c.decides = &expr.Verdict{Kind: expr.VerdictDrop}, true
	case "RETURN":
		c.verdict = &expr.Verdict{Kind: expr.VerdictReturn}
	case "MASQUERADE":
		c.emit(&expr.Masq{})
	case "NOTRACK": // host endpoints' doNotTrack (raw table): no verdict, as in iptables
		c.emit(&expr.Notrack{})
		c.decides = true
	default:
		return c.target(a)
	}
	return nil
}

func (c *compiler) target(a string) error {
	if rest, ok := strings.CutPrefix(a, "MARK --set-xmark "); ok {
		v, m, err := valueMask(rest)
		if err != nil {
			return err
		}
		c.emit(&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: native(^m), Xor: native(v)},
			&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1})
		return nil
	}
	if rest, ok := strings.CutPrefix(a, `LOG --log-prefix "`); ok {
		prefix, level, ok := strings.Cut(rest, `" --log-level `)
		lv, err := strconv.ParseUint(level, 10, 8)
		if !ok || err != nil {
			return fmt.Errorf("LOG target %q", a)
		}
		c.emit(&expr.Log{Level: expr.LogLevel(lv), Key: 1<<unix.NFTA_LOG_PREFIX | 1<<unix.NFTA_LOG_LEVEL, Data: []byte(prefix)})
		return nil
	}
	if rest, ok := strings.CutPrefix(a, "NFLOG --nflog-group "); ok { // flow logs (felix/rules/nflog.go)
		group, prefix, ok := strings.Cut(rest, ` --nflog-prefix "`)
		g, err := strconv.ParseUint(group, 10, 16)
		if !ok || err != nil || !strings.HasSuffix(prefix, `"`) {
			return fmt.Errorf("NFLOG target %q", a)
		}
		prefix = strings.TrimSuffix(prefix, `"`)
		if c.netdev && prefix != "" {
			prefix = strings.ToLower(prefix[:1]) + prefix[1:] // the payload's Ethernet header (felix/flowlogs)
		}
		c.emit(&expr.Log{Group: uint16(g), Key: 1<<unix.NFTA_LOG_GROUP | 1<<unix.NFTA_LOG_PREFIX,
			Data: []byte(prefix)})
		return nil
	}
	if strings.ContainsAny(a, " \t") || a == "" {
		return fmt.Errorf("unsupported target %q", a)
	}
	c.verdict = &expr.Verdict{Kind: expr.VerdictJump, Chain: a}
	return nil
}
