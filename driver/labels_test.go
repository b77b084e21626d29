package driver

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/dockerapi"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestContainerLabels(t *testing.T) {
	for _, tc := range []struct {
		in, want map[string]string
	}{
		{nil, map[string]string{}},
		{map[string]string{"maintainer": "x", "com.example.role": "db"}, map[string]string{}},
		{map[string]string{LabelPrefix + "role": "db", LabelPrefix + "biz_type": "bookstore", "other": "1"},
			map[string]string{"role": "db", "biz_type": "bookstore"}},
		{map[string]string{LabelPrefix + "example.com/tier": "", "org.projectcalico.labelx": "no"},
			map[string]string{"example.com/tier": ""}},
	} {
		if got := ContainerLabels(tc.in); !maps.Equal(got, tc.want) {
			t.Errorf("ContainerLabels(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func pendingWEP() *resources.WorkloadEndpoint {
	w := resources.NewWorkloadEndpoint("host1-libnetwork-libnetwork-" + testEPID)
	w.Labels = map[string]string{resources.LabelOrchestrator: "libnetwork", resources.LabelProfile: "net1", resources.LabelNetwork: "net1"}
	w.Annotations = map[string]string{resources.AnnotationLabelsPending: "true", AnnotationSandbox: "/var/run/docker/netns/x"}
	w.Spec = resources.WorkloadEndpointSpec{Node: "host1", Endpoint: testEPID, InterfaceName: HostIface(testEPID), Profiles: []string{"net1"}}
	return w
}

func TestLabelEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		want    map[string]string // extra labels besides the identity ones
		wantErr string
	}{
		{"none", map[string]string{"foo": "bar"}, map[string]string{}, ""},
		{"bookstore", map[string]string{LabelPrefix + "biz_type": "bookstore", LabelPrefix + "role": "server"},
			map[string]string{"biz_type": "bookstore", "role": "server"}, ""},
		{"identity wins", map[string]string{LabelPrefix + resources.LabelProfile: "admin", LabelPrefix + resources.LabelNetwork: "x"},
			map[string]string{}, ""},
		{"empty value", map[string]string{LabelPrefix + "public": ""}, map[string]string{"public": ""}, ""},
		{"bad key", map[string]string{LabelPrefix + "bad key": "x"}, nil, "bad key"},
		{"bad value", map[string]string{LabelPrefix + "role": "a b"}, nil, "role"},
		{"empty key", map[string]string{LabelPrefix: "x"}, nil, "not a valid label key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := pendingWEP()
			err := labelEndpoint(w, dockerapi.Container{ID: testEPID + "c", Name: "web-1", Labels: tc.labels})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "drops all traffic") {
					t.Fatalf("err = %v, want one naming %q and saying the endpoint stays closed", err, tc.wantErr)
				}
				if !labelsPending(w) || len(w.Labels) != 3 {
					t.Errorf("failed labelling changed the endpoint: %v %v", w.Labels, w.Annotations)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := maps.Clone(tc.want)
			maps.Copy(want, pendingWEP().Labels)
			if !maps.Equal(w.Labels, want) {
				t.Errorf("labels = %v, want %v", w.Labels, want)
			}
			if labelsPending(w) || w.Annotations[AnnotationSandbox] == "" {
				t.Errorf("annotations = %v, want pending gone and sandbox kept", w.Annotations)
			}
			if w.Spec.Workload != "web-1" || w.Spec.ContainerID != testEPID+"c" {
				t.Errorf("spec workload %q containerID %q", w.Spec.Workload, w.Spec.ContainerID)
			}
		})
	}
}

// FuzzLabelEndpoint: whatever labels a container carries, labelling either
// fails (leaving the endpoint pending) or yields a valid endpoint whose
// identity labels are the driver's.
func FuzzLabelEndpoint(f *testing.F) {
	f.Add("role", "db")
	f.Add("projectcalico.org/profile", "admin")
	f.Add("a/b/c", "")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, k, v string) {
		w := pendingWEP()
		err := labelEndpoint(w, dockerapi.Container{ID: "c", Name: "n", Labels: map[string]string{LabelPrefix + k: v}})
		if err != nil {
			if !labelsPending(w) {
				t.Fatal("failed labelling cleared the pending mark")
			}
			return
		}
		if verr := w.Validate(); verr != nil {
			t.Fatalf("labelled endpoint invalid: %v", verr)
		}
		for _, id := range identityLabels {
			if w.Labels[id] != pendingWEP().Labels[id] {
				t.Fatalf("identity label %s = %q", id, w.Labels[id])
			}
		}
	})
}

// joinEndpoint creates an endpoint on testNetID and joins it to a new
// sandbox, through the socket.
func (h *harness) joinEndpoint(epID string) {
	h.t.Helper()
	addr := h.allocate("10.231.0.0/16")
	h.mustCall("/NetworkDriver.CreateEndpoint", network.CreateEndpointRequest{NetworkID: testNetID, EndpointID: epID,
		Interface: &network.EndpointInterface{Address: addr}}, nil)
	sb := newSandbox(h.t)
	h.mustCall("/NetworkDriver.Join", network.JoinRequest{NetworkID: testNetID, EndpointID: epID, SandboxKey: sb.path}, nil)
	if w := getEndpoint(h.t, h, epID); !labelsPending(w) || w.Annotations[AnnotationSandbox] != sb.path {
		h.t.Fatalf("joined endpoint not stored labels-pending with its sandbox: %v", w.Annotations)
	}
}

// restartWithContainer makes Docker list a container (labels) as the owner
// of testEPID, then starts a new driver, as a restarted daemon does, and
// resyncs it.
func (h *harness) restartWithContainer(cid, name string, labels map[string]string) *Driver {
	h.t.Helper()
	h.docker.AddContainer(cid, name, labels)
	h.docker.Attach(cid, testNetID, testEPID)
	dc, err := dockerapi.New(h.docker.Host())
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { dc.Close() })
	h.waitCached(1) // Resync reads the node's endpoints from the cache
	drv := h.newDriver(dc)
	if err := drv.Resync(h.ctx()); err != nil {
		h.t.Fatal(err)
	}
	return drv
}

// waitLabels waits until the endpoint carries want and is no longer pending.
func (h *harness) waitLabels(epID, workload string, want map[string]string) {
	h.t.Helper()
	testenv.Eventually(h.t, 15*time.Second, 10*time.Millisecond, func() error {
		w := getEndpoint(h.t, h, epID)
		for k, v := range want {
			if got, ok := w.Labels[k]; !ok || got != v {
				return fmt.Errorf("labels %v lack %s=%s", w.Labels, k, v)
			}
		}
		if labelsPending(w) || w.Spec.Workload != workload {
			return fmt.Errorf("pending %v, workload %q", labelsPending(w), w.Spec.Workload)
		}
		return nil
	})
}

func newLabelHarness(t *testing.T) *harness {
	h := newHarness(t, nil)
	h.addPool("10.231.0.0/16")
	h.mustCall("/NetworkDriver.CreateNetwork", createNetReq(testNetID, "10.231.0.0/16", "dev"), nil)
	h.docker.AddNetwork(testNetID, "net1")
	testenv.Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
		if !h.drv.LabelStatus().EventsSubscribed || h.docker.Subscribers() == 0 {
			return errors.New("driver not subscribed to events")
		}
		return nil
	})
	return h
}

// TestLabelsFromConnectEvent: the connect event after Join brings the
// container's labels onto the endpoint, with the identity labels.
func TestLabelsFromConnectEvent(t *testing.T) {
	h := newLabelHarness(t)
	cid := strings.Repeat("c", 64)
	h.docker.AddContainer(cid, "bookstore-server", map[string]string{LabelPrefix + "biz_type": "bookstore", LabelPrefix + "role": "server"})
	h.joinEndpoint(testEPID)
	h.docker.Connect(cid, testNetID, testEPID)
	h.waitLabels(testEPID, "bookstore-server", map[string]string{"biz_type": "bookstore", "role": "server",
		resources.LabelProfile: "dev", resources.LabelOrchestrator: "libnetwork"})
	if w := getEndpoint(t, h, testEPID); w.Spec.ContainerID != cid {
		t.Errorf("containerID = %q", w.Spec.ContainerID)
	}
	st := h.drv.LabelStatus()
	if st.Applied != 1 || st.Pending != 0 || st.Window.Count != 1 || st.Window.Max <= 0 {
		t.Errorf("LabelStatus = %+v", st)
	}
	t.Logf("Join to labels stored: %v", st.Window.Last)
}

// TestLabelsWithoutEvents: with the events stream down the poll finds the
// container; the stream comes back by itself.
func TestLabelsWithoutEvents(t *testing.T) {
	h := newLabelHarness(t)
	h.docker.SetEvents(false)
	cid := strings.Repeat("d", 64)
	h.docker.AddContainer(cid, "c1", map[string]string{LabelPrefix + "role": "client"})
	h.joinEndpoint(testEPID)
	h.docker.Attach(cid, testNetID, testEPID)
	h.waitLabels(testEPID, "c1", map[string]string{"role": "client"})
	h.docker.SetEvents(true)
	testenv.Eventually(t, 20*time.Second, 20*time.Millisecond, func() error {
		if !h.drv.LabelStatus().EventsSubscribed {
			return errors.New("events stream not resubscribed")
		}
		return nil
	})
}

// TestLabelsResumedAfterRestart: an endpoint left pending by a stopped
// daemon gets its labels from the next one's Resync.
func TestLabelsResumedAfterRestart(t *testing.T) {
	h := newLabelHarness(t)
	h.joinEndpoint(testEPID) // Docker does not list the container yet
	h.drv.Close()
	if w := getEndpoint(t, h, testEPID); !labelsPending(w) {
		t.Fatal("endpoint lost its pending mark")
	}
	drv := h.restartWithContainer(strings.Repeat("e", 64), "late", map[string]string{LabelPrefix + "role": "db"})
	h.waitLabels(testEPID, "late", map[string]string{"role": "db"})
	if st := drv.LabelStatus(); st.Applied != 1 || st.Window.Count != 0 {
		t.Errorf("LabelStatus after resume = %+v (no Join seen, so no window)", st)
	}
}

// TestInvalidLabelFailsClosed: a container label that is not a valid
// Calico label leaves the endpoint pending (dropping its traffic).
func TestInvalidLabelFailsClosed(t *testing.T) {
	h := newLabelHarness(t)
	cid := strings.Repeat("f", 64)
	h.docker.AddContainer(cid, "bad", map[string]string{LabelPrefix + "role": "not valid!"})
	h.joinEndpoint(testEPID)
	h.docker.Connect(cid, testNetID, testEPID)
	testenv.Eventually(t, 15*time.Second, 10*time.Millisecond, func() error {
		if st := h.drv.LabelStatus(); st.Failed != 1 || st.Pending != 0 {
			return fmt.Errorf("LabelStatus = %+v", st)
		}
		return nil
	})
	if w := getEndpoint(t, h, testEPID); !labelsPending(w) || w.Spec.Workload != "" {
		t.Errorf("endpoint with an invalid container label: pending %v workload %q", labelsPending(w), w.Spec.Workload)
	}
}

// TestLeaveForgetsPendingEndpoint: Leave before the container is known
// stops the lookup.
func TestLeaveForgetsPendingEndpoint(t *testing.T) {
	h := newLabelHarness(t)
	h.joinEndpoint(testEPID)
	if st := h.drv.LabelStatus(); st.Pending != 1 {
		t.Fatalf("LabelStatus after Join = %+v, want 1 pending", st)
	}
	h.mustCall("/NetworkDriver.Leave", network.LeaveRequest{EndpointID: testEPID}, nil)
	if st := h.drv.LabelStatus(); st.Pending != 0 {
		t.Errorf("LabelStatus after Leave = %+v, want none pending", st)
	}
}
