// Package packaging holds what installs calico-libnetwork as a host
// service: the systemd unit and the example configuration file, which is
// generated from daemon.Settings() (go test ./packaging -update) so it
// lists every setting; a test fails when they differ. The managed plugin
// and image are built by plugin.sh and base.sh (make plugin).
package packaging
