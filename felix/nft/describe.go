package nft

import (
	"fmt"
	"strings"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// msgVerbs names the nf_tables message types we send.
var msgVerbs = map[uint16]string{
	unix.NFT_MSG_NEWTABLE: "add table", unix.NFT_MSG_DELTABLE: "delete table",
	unix.NFT_MSG_NEWCHAIN: "add chain", unix.NFT_MSG_DELCHAIN: "delete chain",
	unix.NFT_MSG_NEWRULE: "add rule", unix.NFT_MSG_DELRULE: "delete rule",
	unix.NFT_MSG_NEWSET: "add set", unix.NFT_MSG_DELSET: "delete set",
	unix.NFT_MSG_NEWSETELEM: "add elements", unix.NFT_MSG_DELSETELEM: "delete elements",
}

// describe says what a message of our batch was: its verb and the table,
// chain or set (and rule tag) it names, e.g.
// `add rule to chain calico/cali-tw-x (rule cali:1a2b)`.
func describe(m netlink.Message) string {
	typ := uint16(m.Header.Type) & 0xff
	verb, ok := msgVerbs[typ]
	if !ok {
		return fmt.Sprintf("nf_tables message type %d", typ)
	}
	if len(m.Data) < 4 {
		return verb
	}
	attrs, err := netlink.UnmarshalAttributes(m.Data[4:]) // after the nfgenmsg
	if err != nil {
		return verb
	}
	raw, str := map[uint16][]byte{}, map[uint16]string{}
	for _, a := range attrs {
		raw[a.Type] = a.Data
		str[a.Type] = strings.TrimRight(string(a.Data), "\x00")
	}
	table := str[1] // NFTA_{TABLE_NAME,CHAIN_TABLE,RULE_TABLE,SET_TABLE,SET_ELEM_LIST_TABLE}
	switch typ {
	case unix.NFT_MSG_NEWTABLE, unix.NFT_MSG_DELTABLE:
		return fmt.Sprintf("%s %s", verb, table)
	case unix.NFT_MSG_NEWCHAIN, unix.NFT_MSG_DELCHAIN:
		return fmt.Sprintf("%s %s/%s", verb, table, str[unix.NFTA_CHAIN_NAME])
	case unix.NFT_MSG_NEWRULE, unix.NFT_MSG_DELRULE:
		s := fmt.Sprintf("%s in chain %s/%s", verb, table, str[unix.NFTA_RULE_CHAIN])
		if tag := tagOf(raw[unix.NFTA_RULE_USERDATA]); tag != "" {
			s += " (rule " + tag + ")"
		}
		return s
	default: // sets and their elements: the set's name is attribute 2
		return fmt.Sprintf("%s %s/%s", verb, table, str[2])
	}
}
