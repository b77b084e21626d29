package felix

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/calico-docker/calico-libnetwork/felix/ns"
)

// rpFilterLoose is the rp_filter value of loose reverse-path filtering.
const rpFilterLoose = "2"

// ErrLooseRPF is returned (wrapped) by Start when the namespace has loose
// reverse-path filtering and Config.IgnoreLooseRPF is not set.
var ErrLooseRPF = errors.New("loose reverse-path filtering")

// checkRPFilter refuses loose reverse-path filtering, as Calico's felix
// does. The kernel applies the larger of conf/all/rp_filter and
// conf/<iface>/rp_filter, so all=2 turns the strict setting we give every
// workload interface into loose, and a workload with CAP_NET_RAW could then
// send packets from any address the host routes back through some
// interface: other workloads' addresses included, getting past policy that
// matches on source addresses. conf/default only seeds new interfaces,
// and we set every workload interface to strict, so a loose default is
// merely reported.
func checkRPFilter(n *ns.NS, ignore bool, log *slog.Logger) error {
	var all, def string
	err := n.Do(func() error {
		var err error
		if all, err = readSysctl("net/ipv4/conf/all/rp_filter"); err != nil {
			return err
		}
		def, err = readSysctl("net/ipv4/conf/default/rp_filter")
		return err
	})
	if err != nil {
		return err
	}
	if def == rpFilterLoose {
		log.Info("net.ipv4.conf.default.rp_filter is 2 (loose); workload interfaces are set to strict (1) anyway")
	}
	if all != rpFilterLoose {
		return nil
	}
	const risk = "net.ipv4.conf.all.rp_filter is 2 (loose): the kernel then accepts a packet from a workload " +
		"with any source address the host can route, so a workload with CAP_NET_RAW can spoof another's address and get past policy"
	if ignore {
		log.Warn(risk+"; continuing because IgnoreLooseRPF is set: be careful granting containers CAP_NET_RAW",
			"netns", n.Path())
		return nil
	}
	log.Error(risk+"; refusing to start", "netns", n.Path())
	return fmt.Errorf("%w: %s; set it to 1 (sysctl -w net.ipv4.conf.all.rp_filter=1) or 0, "+
		"or accept the risk with IgnoreLooseRPF", ErrLooseRPF, risk)
}

func readSysctl(path string) (string, error) {
	b, err := os.ReadFile("/proc/sys/" + path)
	if err != nil {
		return "", fmt.Errorf("read sysctl %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}
