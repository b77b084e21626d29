package daemon

import (
	"fmt"
	"log/slog"

	"golang.org/x/sys/unix"
)

// procSys is where the dataplane writes sysctls (net.ipv4.ip_forward, per
// interface rp_filter, proxy_arp, ...).
const procSys = "/proc/sys"

// ensureWritableSysctls makes /proc/sys writable when it is a read-only
// mount, as in a Docker managed plugin: Docker's default OCI spec mounts
// /proc/sys read-only for every plugin, and a plugin cannot mount another
// procfs there (runc refuses mounts under /proc). With CAP_SYS_ADMIN
// (which the plugin's config grants for this) the mount is remounted
// read-write inside the plugin's own mount namespace; the host's mounts
// are untouched. With network.type host, /proc/sys/net is the host's.
func ensureWritableSysctls(log *slog.Logger) error {
	var st unix.Statfs_t
	if err := unix.Statfs(procSys+"/net", &st); err != nil {
		return fmt.Errorf("statfs %s/net: %w", procSys, err)
	}
	if st.Flags&unix.ST_RDONLY == 0 {
		return nil
	}
	// A bind remount must repeat the mount's other flags.
	keep := st.Flags & (unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC | unix.ST_NOATIME | unix.ST_NODIRATIME | unix.ST_RELATIME)
	if err := unix.Mount("", procSys, "", uintptr(keep)|unix.MS_REMOUNT|unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("%s is read-only and could not be made writable (%w): the dataplane must set net.* sysctls; "+
			"run the daemon with CAP_SYS_ADMIN (the managed plugin has it) or with /proc/sys writable", procSys, err)
	}
	log.Info("Remounted /proc/sys read-write (it was read-only, as in a managed plugin)")
	return nil
}
