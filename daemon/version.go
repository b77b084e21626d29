package daemon

import "runtime/debug"

// version is set at link time: -ldflags "-X github.com/calico-docker/calico-libnetwork/daemon.version=v1.2.3".
var version = ""

// Version returns the daemon's version: the link-time value, else the VCS
// revision Go recorded in the binary, else "dev".
func Version() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}
