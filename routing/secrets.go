package routing

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/bgp"
)

// DefaultSecretsDir holds BGP passwords: Calico names a Kubernetes Secret
// and a key in it; on Docker they name the file <dir>/<secret>/<key>,
// which must exist on every host the BGPPeer applies to.
const DefaultSecretsDir = "/etc/calico/bgp-secrets"

// readSecret reads a BGPPeer password from dir.
func readSecret(dir string, ref *resources.SecretKeyRef) (string, error) {
	for _, part := range []string{ref.Name, ref.Key} {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, `/\`) {
			return "", fmt.Errorf("secret %q key %q: not a plain file name", ref.Name, ref.Key)
		}
	}
	path := filepath.Join(dir, ref.Name, ref.Key)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("BGP password %s (spec.password.secretKeyRef %s/%s): %w; create the file on this host",
			path, ref.Name, ref.Key, err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" || len(pw) > 80 {
		return "", fmt.Errorf("BGP password %s: must be 1 to 80 characters (TCP MD5 keys are at most 80 bytes)", path)
	}
	return pw, nil
}

// withPasswords gives peers made by a BGPPeer with spec.password their
// password. A peer whose password cannot be read is left out (a session
// without it would be refused, or worse, accepted unauthenticated), and
// the error is logged when it first appears; r.mu is held.
func (r *Router) withPasswords(peers []bgp.Peer) []bgp.Peer {
	out := peers[:0:0]
	errs := map[string]string{}
	for _, p := range peers {
		bp := r.c.peers[p.Name]
		if p.Type != bgp.PeerMesh && bp != nil && bp.Spec.Password != nil && bp.Spec.Password.SecretKeyRef != nil {
			pw, err := readSecret(r.cfg.SecretsDir, bp.Spec.Password.SecretKeyRef)
			if err != nil {
				errs[p.Address.String()] = err.Error()
				if r.secretErrs[p.Address.String()] != err.Error() {
					r.log.Error("BGP peer left out: its password cannot be read", "peer", p.String(), "err", err)
				}
				continue
			}
			p.Password = pw
		}
		out = append(out, p)
	}
	r.secretErrs = errs
	return out
}
