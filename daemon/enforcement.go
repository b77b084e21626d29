package daemon

import (
	"fmt"
	"strings"
	"time"
)

// Enforcement holds the settings of policy enforcement and of the IPAM
// garbage collector.
type Enforcement struct {
	// EndpointToHostAccept lets workloads reach this host itself once their
	// egress policy allowed it (endpoint_to_host_action Accept); by default
	// (Drop) the host is protected from its workloads.
	EndpointToHostAccept bool
	// EndpointToHostAction is the setting as given: Drop, Accept or Return
	// (to the INPUT chain's later rules), as Calico's
	// defaultEndpointToHostAction.
	EndpointToHostAction string
	// IPAMGCInterval is the period of the IPAM garbage collector; 0 = off.
	IPAMGCInterval time.Duration
	// IPAMGCGrace is how old a leaked allocation must be to be freed.
	IPAMGCGrace time.Duration
}

// minIPAMGCGrace: Docker allocates a container's address before it creates
// the endpoint; a shorter grace could free an address on its way to it.
const minIPAMGCGrace = time.Minute

func (p *parser) enforcement() Enforcement {
	e := Enforcement{
		IPAMGCInterval: p.durationAtLeast("ipam_gc_interval", time.Second, true),
		IPAMGCGrace:    p.durationAtLeast("ipam_gc_grace", minIPAMGCGrace, false),
	}
	switch a := p.str("endpoint_to_host_action"); {
	case strings.EqualFold(a, "Accept"):
		e.EndpointToHostAccept, e.EndpointToHostAction = true, "Accept"
	case strings.EqualFold(a, "Drop"):
		e.EndpointToHostAction = "Drop"
	case strings.EqualFold(a, "Return"):
		e.EndpointToHostAction = "Return"
	default:
		p.fail(configError("endpoint_to_host_action", a, "use Drop (protect the host from its workloads), Accept, or Return (to the INPUT chain's later rules)"))
	}
	return e
}

// durationAtLeast reads a duration of at least lo; with canBeOff, 0 is
// accepted too (and means off).
func (p *parser) durationAtLeast(key string, lo time.Duration, canBeOff bool) time.Duration {
	s := p.str(key)
	d, err := time.ParseDuration(s)
	if err == nil && (d >= lo || (canBeOff && d == 0)) {
		return d
	}
	want := fmt.Sprintf("use a duration of at least %v, such as 5m or 1h", lo)
	if canBeOff {
		want += ", or 0 to turn it off"
	}
	p.fail(configError(key, s, want))
	return 0
}
