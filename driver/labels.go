package driver

import (
	"fmt"
	"maps"
	"strings"

	"github.com/calico-docker/calico-libnetwork/dockerapi"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// LabelPrefix starts the container labels that become endpoint labels:
// `docker run --label org.projectcalico.label.role=db` gives the
// container's endpoints the label role=db. Marathon's form (a docker
// parameter "label" with value "org.projectcalico.label.role=db") becomes
// the same container label.
const LabelPrefix = "org.projectcalico.label."

// identityLabels are the labels the driver sets from the network; a
// container label cannot override them.
var identityLabels = []string{resources.LabelOrchestrator, resources.LabelNetwork, resources.LabelProfile}

// ContainerLabels returns the endpoint labels a container asks for: its
// labels that start with LabelPrefix, with the prefix stripped. Other
// labels are not the network's business and are ignored.
func ContainerLabels(docker map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range docker {
		if name, ok := strings.CutPrefix(k, LabelPrefix); ok {
			out[name] = v
		}
	}
	return out
}

// labelEndpoint completes a pending WorkloadEndpoint from its container:
// labels (the container's, under the identity labels already on the
// endpoint), spec.workload (the container name), spec.containerID, and it
// drops the pending annotation. A container label that is not a valid
// Calico label is an error and leaves wep unusable: the caller keeps the
// endpoint pending (fail closed) rather than enforce policy without it.
func labelEndpoint(wep *resources.WorkloadEndpoint, c dockerapi.Container) error {
	labels := ContainerLabels(c.Labels)
	for _, k := range identityLabels {
		delete(labels, k)
		if v, ok := wep.Labels[k]; ok {
			labels[k] = v
		}
	}
	probe := resources.NewWorkloadEndpoint(wep.Name)
	probe.Labels = labels
	probe.Spec = wep.Spec
	if err := probe.Validate(); err != nil {
		return fmt.Errorf("container %s (%s) has a label that is not a valid Calico label (%w); "+
			"its endpoint %s drops all traffic until the container is recreated with valid %s* labels",
			c.Name, short(c.ID), err, wep.Spec.Endpoint, LabelPrefix)
	}
	wep.Labels = labels
	wep.Spec.Workload, wep.Spec.ContainerID = c.Name, c.ID
	if len(wep.Annotations) > 0 {
		wep.Annotations = maps.Clone(wep.Annotations)
		delete(wep.Annotations, resources.AnnotationLabelsPending)
	}
	return nil
}

// labelsPending reports whether an endpoint still waits for its labels.
func labelsPending(wep *resources.WorkloadEndpoint) bool {
	return wep.Annotations[resources.AnnotationLabelsPending] == "true"
}
