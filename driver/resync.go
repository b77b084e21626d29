package driver

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/dockerapi"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Resync finishes, at start-up, work a previous run may have left, for
// the endpoints of this node in the cache (Config.Endpoints; nothing to do
// without it):
//
//   - endpoints Docker removed while no daemon answered are forgotten
//     (forgetOrphans);
//   - source routing is recorded for every live sandbox that has several
//     calico endpoints (srcroute.go);
//   - reading the container labels of joined endpoints still marked
//     labels-pending resumes (labeler.go).
func (d *Driver) Resync(ctx context.Context) error {
	if d.endpoints == nil {
		return nil
	}
	weps := d.forgetOrphans(ctx, d.endpoints.EndpointsOfNode(d.node))
	bySandbox := map[string][]*resources.WorkloadEndpoint{}
	for _, w := range weps {
		if key := w.Annotations[AnnotationSandbox]; key != "" {
			bySandbox[key] = append(bySandbox[key], w)
		}
	}
	for key, group := range bySandbox {
		if len(group) > 1 && sandboxAlive(key) {
			d.startSourceRouting(key, group)
		}
		if d.labels != nil {
			for _, w := range group {
				if labelsPending(w) {
					d.labels.add(w.Spec.Endpoint, w.Spec.Network, time.Time{}, nil)
				}
			}
		}
	}
	return nil
}

// forgetOrphans deletes the endpoints Docker removed while no daemon
// answered (the container was removed while the daemon was stopped: Docker
// moved the container end of the veth back to the host as tmp<id>, and its
// Leave and DeleteEndpoint calls failed) and returns the others. An
// endpoint is an orphan when its sandbox (network namespace) is no longer
// a live namespace and
// Docker does not list it in its network, or lists it for a container
// that no longer exists (Docker keeps such a stale endpoint record after a
// failed DeleteEndpoint; `docker network disconnect -f` clears it); then its veth pair and its
// WorkloadEndpoint are deleted here, and the IPAM garbage collector frees
// its addresses (an allocation with no endpoint). Without Docker, or when
// Docker does not answer, nothing is forgotten.
func (d *Driver) forgetOrphans(ctx context.Context, weps []*resources.WorkloadEndpoint) []*resources.WorkloadEndpoint {
	if d.docker == nil {
		return weps
	}
	listed := map[string]map[string]dockerapi.EndpointOwner{} // by network; nil: Docker did not answer
	kept := make([]*resources.WorkloadEndpoint, 0, len(weps))
	for _, w := range weps {
		if sandboxAlive(w.Annotations[AnnotationSandbox]) {
			kept = append(kept, w)
			continue
		}
		owners, ok := listed[w.Spec.Network]
		if !ok {
			var err error
			owners, err = d.docker.NetworkEndpoints(ctx, w.Spec.Network)
			if errors.Is(err, dockerapi.ErrNotFound) {
				owners, err = map[string]dockerapi.EndpointOwner{}, nil // the network is gone too
			}
			if err != nil {
				d.log.Warn("Resync: Docker did not list the network's endpoints; keeping them", "network", w.Spec.Network, "err", err)
			}
			listed[w.Spec.Network] = owners
		}
		if o, known := owners[w.Spec.Endpoint]; owners == nil || (known && d.containerExists(ctx, o.ContainerID)) {
			kept = append(kept, w)
			continue
		}
		d.forgetOrphan(ctx, w)
	}
	return kept
}

// forgetOrphan deletes an orphaned endpoint's veth and WorkloadEndpoint.
func (d *Driver) forgetOrphan(ctx context.Context, w *resources.WorkloadEndpoint) {
	id := w.Spec.Endpoint
	if err := d.veths.DeleteVeth(HostIface(id)); err != nil {
		d.log.Warn("Resync: could not delete an orphaned endpoint's veth", "endpoint", id, "err", err)
	}
	_, err := d.store.Delete(ctx, resources.KindWorkloadEndpoint, w.Namespace, w.Name, w.ResourceVersion)
	if err != nil && !errors.Is(err, datastore.ErrNotFound) {
		d.log.Warn("Resync: could not delete an orphaned endpoint", "endpoint", id, "err", err)
		return
	}
	d.log.Warn("Resync: forgot an endpoint Docker removed while the daemon was down (its container and sandbox are gone)",
		"endpoint", id, "network", w.Spec.Network, "iface", HostIface(id))
}

// containerExists tells whether Docker knows the container; when Docker
// does not answer, it is assumed to.
func (d *Driver) containerExists(ctx context.Context, id string) bool {
	if strings.HasPrefix(id, "ep-") { // how Docker lists an endpoint with no container
		return false
	}
	_, err := d.docker.Container(ctx, id)
	return !errors.Is(err, dockerapi.ErrNotFound)
}

// sandboxAlive tells whether path is a live network namespace: a file
// bind-mounted from nsfs. Docker unmounts a deleted sandbox's file at once
// but removes it up to a minute later, so existing is not enough. When
// that cannot be told, the sandbox is assumed alive.
func sandboxAlive(path string) bool {
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	return fs.Type == unix.NSFS_MAGIC
}
