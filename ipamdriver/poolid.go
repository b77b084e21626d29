package ipamdriver

import (
	"fmt"
	"net/netip"
	"strings"
)

// Names Docker sees.
const (
	LocalAddressSpace  = "CalicoLocalAddressSpace"
	GlobalAddressSpace = "CalicoGlobalAddressSpace"
	// PoolIDV4 and PoolIDV6 name "every enabled pool of the family".
	PoolIDV4 = "CalicoPoolIPv4"
	PoolIDV6 = "CalicoPoolIPv6"
	// GatewayKey is the RequestPool data key Docker reads a gateway from,
	// and the RequestAddressType value of a gateway request.
	GatewayKey = "com.docker.network.gateway"
	// RequestAddressTypeKey is the option naming the kind of address asked for.
	RequestAddressTypeKey = "RequestAddressType"
	// MACAddressKey is the option Docker adds when a driver needs the MAC.
	MACAddressKey = "com.docker.network.endpoint.macaddress"
	// HandlePrefix starts every provisional handle.
	HandlePrefix = "docker-ipam-"
	// Attributes recorded with an address.
	AttrRequestedAt = "requested-at"
	AttrPoolID      = "docker-pool-id"
	// SubnetPoolPrefix starts the name of a pool created for a --subnet.
	SubnetPoolPrefix = "docker-"
	// CreatedByAnnotation marks pools this driver created.
	CreatedByAnnotation = "calico-libnetwork/created-by"
)

// poolID is a parsed PoolID: all pools of a family, or one subnet.
type poolID struct {
	v6     bool
	subnet netip.Prefix // invalid for PoolIDV4/PoolIDV6
}

func (p poolID) String() string {
	if p.subnet.IsValid() {
		return p.subnet.String()
	}
	if p.v6 {
		return PoolIDV6
	}
	return PoolIDV4
}

// anyPrefix is what Docker gets as Pool and gateway for all pools of a family.
func anyPrefix(v6 bool) string {
	if v6 {
		return "::/0"
	}
	return "0.0.0.0/0"
}

// parsePoolID accepts the ids RequestPool hands out.
func parsePoolID(id string) (poolID, error) {
	switch id {
	case PoolIDV4:
		return poolID{}, nil
	case PoolIDV6:
		return poolID{v6: true}, nil
	}
	p, err := netip.ParsePrefix(id)
	if err != nil || p != p.Masked() {
		return poolID{}, fmt.Errorf("unknown pool id %q: calico-ipam hands out %s, %s or a subnet CIDR; recreate the network if it was made by another IPAM driver", id, PoolIDV4, PoolIDV6)
	}
	return poolID{v6: p.Addr().Is6(), subnet: p}, nil
}

// subnetPoolName derives a valid IPPool name from a CIDR.
func subnetPoolName(p netip.Prefix) string {
	r := strings.NewReplacer(".", "-", ":", "-", "/", "-")
	return SubnetPoolPrefix + r.Replace(p.String())
}

// hostPrefix renders an address as the /32 or /128 Docker expects.
func hostPrefix(a netip.Addr) string {
	return netip.PrefixFrom(a, a.BitLen()).String()
}
