package resources

import (
	"slices"
	"strings"
)

// Calico kinds this project does not store, with why and what to use
// instead: a user who names one made no typo, so "not a known kind"
// would mislead.
type elsewhereKind struct {
	kind    string
	names   []string // lower-case plural and aliases, as calicoctl spells them
	why     string
	instead string
}

var elsewhereKinds = []elsewhereKind{
	{"StagedKubernetesNetworkPolicy",
		[]string{"stagedkubernetesnetworkpolicies", "stagedkubernetespolicy", "stagedkubernetespolicies", "sknp", "skpol", "skpols"},
		"stages a Kubernetes NetworkPolicy, and Docker has no Kubernetes NetworkPolicy for it to become",
		"write it as a StagedNetworkPolicy (spec.selector in place of podSelector), which policy explain evaluates"},
	{"KubeControllersConfiguration",
		[]string{"kubecontrollersconfigurations", "kubecontrollersconfig", "kubecontrollersconfigs"},
		"configures Calico's Kubernetes controllers, which do not run on Docker",
		"remove it: the daemon itself frees leaked addresses (--ipam-gc-interval)"},
	{"IPAMConfiguration",
		[]string{"ipamconfigurations", "ipamconfig", "ipamconfigs"},
		"would change how IPAM hands out blocks, and this daemon's IPAM configuration is fixed (strictAffinity false, autoAllocateBlocks true, maxBlocksPerHost 0)",
		"remove it; calicoctl ipam show --show-configuration prints the configuration in use"},
	{"BlockAffinity",
		[]string{"blockaffinities", "affinity", "affinities"},
		"is IPAM's own record of which node owns a block, written only by the daemon",
		"read it with calicoctl ipam show --show-blocks"},
	{"CalicoNodeStatus",
		[]string{"caliconodestatuses"},
		"asks calico-node for a status report, and this daemon answers directly",
		"run calicoctl node status"},
}

// elsewhere returns the explanation for a Calico kind (any spelling
// calicoctl accepts) this project does not store, or "".
func elsewhere(name string) string {
	l := strings.ToLower(name)
	for _, k := range elsewhereKinds {
		if l == strings.ToLower(k.kind) || slices.Contains(k.names, l) {
			return k.kind + " is a Calico kind that does not apply on Docker: it " + k.why + "; " + k.instead
		}
	}
	return ""
}
