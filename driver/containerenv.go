package driver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/dockerapi"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// A container's environment is read the way its labels are, after Join and
// in the background, for the variables the seeds' Marathon app
// definitions set ("env": {"CALICO_IP": "auto", "CALICO_PROFILE": "dev",
// "SERVICE_PORT": "3000"}) and for the Consul registration:
//
//   - CALICO_PROFILE=NAME adds profile NAME (created if missing, with the
//     rules of a network profile) to the endpoint, after its network's.
//   - CALICO_IP=auto, or unset, is the default: the address comes from
//     Docker's IPAM request. CALICO_IP=ADDRESS is honoured when Docker gave
//     that address (docker run --ip, which Marathon passes as the docker
//     parameter {"key": "ip", "value": ADDRESS}); otherwise it cannot be:
//     the endpoint is annotated (calicoctl endpoint show says so in STATE)
//     and a warning is logged. It is never silently ignored.
//   - MARATHON_APP_ID (else the label org.projectcalico.app) and
//     SERVICE_PORT are kept as annotations for the Consul registration.
//
// A container inspect waits while Docker starts the container, so this
// runs after the labels are stored; it never holds up the endpoint.

// The container variables and label read here.
const (
	EnvProfile     = "CALICO_PROFILE"
	EnvIP          = "CALICO_IP"
	EnvMarathonApp = "MARATHON_APP_ID"
	EnvServicePort = "SERVICE_PORT"
	// LabelApp names the app of a plain Docker container (for Consul).
	LabelApp = "org.projectcalico.app"
)

// Annotations written on the endpoint from the container's environment.
const (
	AnnotationApp         = "libnetwork.projectcalico.org/app"
	AnnotationServicePort = "libnetwork.projectcalico.org/service-port"
	// AnnotationEnvNotApplied says which container variable could not be
	// honoured, and why.
	AnnotationEnvNotApplied = "libnetwork.projectcalico.org/env-not-applied"
)

// envTimeout bounds the inspect (it waits for the container's start) and
// the write.
const envTimeout = 2 * time.Minute

// configReader is the optional Docker call for a container's environment.
type configReader interface {
	ContainerConfig(ctx context.Context, id string) (dockerapi.ContainerConfig, error)
}

// envSettings is what a container's environment asks of its endpoint.
type envSettings struct {
	profile     string
	annotations map[string]string // "" value: remove
	problems    []string
}

// parseEnv reads the variables of one container for one endpoint.
func parseEnv(cfg dockerapi.ContainerConfig, wep *resources.WorkloadEndpoint) envSettings {
	s := envSettings{annotations: map[string]string{AnnotationApp: "", AnnotationServicePort: "", AnnotationEnvNotApplied: ""}}
	if p := strings.TrimSpace(cfg.Env[EnvProfile]); p != "" {
		if err := ValidateProfileName(p); err != nil {
			s.problems = append(s.problems, fmt.Sprintf("%s=%s is not a profile name (%v)", EnvProfile, p, err))
		} else {
			s.profile = p
		}
	}
	switch ip := strings.TrimSpace(cfg.Env[EnvIP]); {
	case ip == "" || strings.EqualFold(ip, "auto"):
	default:
		addr, err := netip.ParseAddr(ip)
		switch {
		case err != nil:
			s.problems = append(s.problems, fmt.Sprintf("%s=%s is not an IP address (use auto or an address)", EnvIP, ip))
		case !slices.ContainsFunc(wep.Addrs(), func(p netip.Prefix) bool { return p.Addr() == addr.Unmap() }):
			s.problems = append(s.problems, fmt.Sprintf("%s=%s not applied: the endpoint has %s from Docker's IPAM; "+
				"give the address with docker run --ip %s (Marathon: docker parameter {\"key\": \"ip\", \"value\": \"%s\"}) "+
				"on a network created with --subnet", EnvIP, ip, strings.Join(wep.Spec.IPNetworks, ","), ip, ip))
		}
	}
	app := cfg.Env[EnvMarathonApp]
	if app == "" {
		app = cfg.Labels[LabelApp]
	}
	s.annotations[AnnotationApp] = strings.TrimSpace(app)
	if port := strings.TrimSpace(cfg.Env[EnvServicePort]); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			s.problems = append(s.problems, fmt.Sprintf("%s=%s is not a port (1-65535)", EnvServicePort, port))
		} else {
			s.annotations[AnnotationServicePort] = port
		}
	}
	s.annotations[AnnotationEnvNotApplied] = strings.Join(s.problems, "; ")
	return s
}

// applyTo changes the endpoint as the environment asks and reports whether
// anything changed.
func (s envSettings) applyTo(wep *resources.WorkloadEndpoint) bool {
	changed := false
	if s.profile != "" && !slices.Contains(wep.Spec.Profiles, s.profile) {
		wep.Spec.Profiles = append(slices.Clone(wep.Spec.Profiles), s.profile)
		changed = true
	}
	ann := maps.Clone(wep.Annotations)
	if ann == nil {
		ann = map[string]string{}
	}
	for k, v := range s.annotations {
		if v == "" && ann[k] != "" {
			delete(ann, k)
			changed = true
		} else if v != "" && ann[k] != v {
			ann[k] = v
			changed = true
		}
	}
	if len(ann) == 0 {
		ann = nil
	}
	wep.Annotations = ann
	return changed
}

// readEnvLater reads a container's environment in the background and
// applies it to its endpoint (see the top of this file).
func (d *Driver) readEnvLater(endpointID, namespace, containerID string) {
	cr, ok := d.docker.(configReader)
	if !ok || containerID == "" {
		return
	}
	d.bg.Go(func() {
		ctx, cancel := context.WithTimeout(d.ctx, envTimeout)
		defer cancel()
		cfg, err := cr.ContainerConfig(ctx, containerID)
		if err == nil {
			err = d.applyEnv(ctx, endpointID, namespace, cfg)
		}
		if err != nil && d.ctx.Err() == nil {
			d.log.Warn("Could not apply the container's environment (CALICO_PROFILE, CALICO_IP, MARATHON_APP_ID, SERVICE_PORT) to its endpoint",
				"endpoint", endpointID, "container", short(containerID), "err", err)
		}
	})
}

// applyEnv writes what the container's environment asks on its endpoint,
// in one compare-and-swap.
func (d *Driver) applyEnv(ctx context.Context, endpointID, namespace string, cfg dockerapi.ContainerConfig) error {
	name := WorkloadEndpointName(d.node, endpointID)
	for range 10 {
		wep, err := datastore.GetAs[*resources.WorkloadEndpoint](ctx, d.store, namespace, name)
		if errors.Is(err, datastore.ErrNotFound) {
			return nil // gone meanwhile
		}
		if err != nil {
			return fmt.Errorf("read endpoint %s: %w", name, err)
		}
		s := parseEnv(cfg, wep)
		if s.profile != "" {
			if err := d.ensureProfile(ctx, s.profile); err != nil {
				return err
			}
		}
		if !s.applyTo(wep) {
			return nil
		}
		if _, err = d.store.Update(ctx, wep); err == nil {
			args := []any{"endpoint", endpointID, "container", short(cfg.ID), "profiles", wep.Spec.Profiles}
			if p := wep.Annotations[AnnotationEnvNotApplied]; p != "" {
				d.log.Warn("Container environment not fully applied: "+p, args...)
			} else {
				d.log.Info("Applied the container's environment", args...)
			}
			return nil
		}
		if !errors.Is(err, datastore.ErrConflict) {
			return fmt.Errorf("store endpoint %s: %w", name, err)
		}
	}
	return fmt.Errorf("store endpoint %s: it kept changing meanwhile", name)
}
