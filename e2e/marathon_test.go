package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// The Marathon test launches docs/marathon's app definitions the way
// Mesos' Docker containerizer does: it turns each definition into the
// exact `docker run` command line the containerizer runs (Mesos
// src/docker/docker.cpp, Docker::RunOptions::create and Docker::run) and
// runs that command. Marathon maps an app with networks
// [{"mode": "container", "name": N}] to DockerInfo network USER with a
// NetworkInfo named N (`--net N`), and each docker parameter
// {"key": K, "value": V} becomes `--K=V`: labels reach Docker as
// `--label=org.projectcalico.label.role=server`.

// marathonApp is the part of a Marathon app definition the Docker
// containerizer uses.
type marathonApp struct {
	ID        string            `json:"id"`
	Cmd       string            `json:"cmd"`
	Args      []string          `json:"args"`
	CPUs      float64           `json:"cpus"`
	Mem       float64           `json:"mem"`
	Env       map[string]string `json:"env"`
	Container struct {
		Type   string `json:"type"`
		Docker struct {
			Image      string `json:"image"`
			Privileged bool   `json:"privileged"`
			Parameters []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"parameters"`
		} `json:"docker"`
	} `json:"container"`
	Networks []struct {
		Mode string `json:"mode"`
		Name string `json:"name"`
	} `json:"networks"`
}

// mesosTask is what the agent adds: its docker socket, the container
// name (mesos-<container ID>), the sandbox and the role.
type mesosTask struct {
	socket, name, taskID, sandbox, role string
}

// Mesos constants (src/slave/constants.hpp, src/docker/docker.cpp).
const (
	cpuSharesPerCPU = 1024
	minCPUShares    = 2
	minMemoryMB     = 32
	mesosSandbox    = "/mnt/mesos/sandbox"
)

// mesosDockerRun returns the argv of the containerizer's `docker run`.
func mesosDockerRun(app marathonApp, task mesosTask) ([]string, error) {
	if !strings.EqualFold(app.Container.Type, "DOCKER") {
		return nil, fmt.Errorf("app %s: container type %q, want DOCKER", app.ID, app.Container.Type)
	}
	argv := []string{"docker", "-H", task.socket, "run"}
	if app.Container.Docker.Privileged {
		argv = append(argv, "--privileged")
	}
	argv = append(argv, "--cpu-shares", strconv.FormatUint(max(uint64(cpuSharesPerCPU*app.CPUs), minCPUShares), 10))
	argv = append(argv, "--memory", strconv.FormatUint(uint64(max(app.Mem, minMemoryMB))<<20, 10))
	env := map[string]string{ // Marathon's task environment, then the agent's
		"MARATHON_APP_ID": app.ID, "MESOS_TASK_ID": task.taskID,
		"MESOS_SANDBOX": mesosSandbox, "MESOS_CONTAINER_NAME": task.name, "MESOS_ALLOCATION_ROLE": task.role,
	}
	for k, v := range app.Env {
		env[k] = v
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a std::map in Mesos
	for _, k := range keys {
		argv = append(argv, "-e", k+"="+env[k])
	}
	argv = append(argv, "-v", task.sandbox+":"+mesosSandbox)
	network, err := mesosNetwork(app)
	if err != nil {
		return nil, err
	}
	argv = append(argv, "--net", network)
	if app.Cmd != "" { // a shell command: Mesos overrides the entrypoint
		argv = append(argv, "--entrypoint", "/bin/sh")
	}
	argv = append(argv, "--name", task.name)
	for _, p := range app.Container.Docker.Parameters {
		argv = append(argv, "--"+p.Key+"="+p.Value)
	}
	argv = append(argv, app.Container.Docker.Image)
	if app.Cmd != "" {
		return append(argv, "-c", app.Cmd), nil
	}
	return append(argv, app.Args...), nil
}

// mesosNetwork maps Marathon networks to Docker's --net.
func mesosNetwork(app marathonApp) (string, error) {
	switch {
	case len(app.Networks) == 0 || app.Networks[0].Mode == "host":
		return "host", nil
	case len(app.Networks) > 1:
		return "", fmt.Errorf("app %s: only a single network can be defined in Docker run", app.ID)
	case app.Networks[0].Mode == "container/bridge":
		return "bridge", nil
	case app.Networks[0].Mode == "container" && app.Networks[0].Name != "":
		return app.Networks[0].Name, nil
	}
	return "", fmt.Errorf("app %s: network %+v: want a named container network", app.ID, app.Networks[0])
}

func TestMesosDockerRunArgs(t *testing.T) {
	app := loadApp(t, "bookstore-server")
	argv, err := mesosDockerRun(app, mesosTask{socket: "unix:///var/run/docker.sock", name: "mesos-c1", taskID: "t1",
		sandbox: "/var/lib/mesos/sandbox", role: "*"})
	if err != nil {
		t.Fatal(err)
	}
	want := "docker -H unix:///var/run/docker.sock run --cpu-shares 102 --memory 134217728 " +
		"-e MARATHON_APP_ID=/bookstore-server -e MESOS_ALLOCATION_ROLE=* -e MESOS_CONTAINER_NAME=mesos-c1 " +
		"-e MESOS_SANDBOX=/mnt/mesos/sandbox -e MESOS_TASK_ID=t1 -v /var/lib/mesos/sandbox:/mnt/mesos/sandbox " +
		"--net calico --name mesos-c1 --label=org.projectcalico.label.biz_type=bookstore " +
		"--label=org.projectcalico.label.role=server mesosphere/id-server:2.1.0"
	if got := strings.Join(argv, " "); got != want {
		t.Errorf("argv:\n got %s\nwant %s", got, want)
	}
}

func loadApp(t *testing.T, name string) marathonApp {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "marathon", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var app marathonApp
	if err := json.Unmarshal(b, &app); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	return app
}

// mesosLaunch runs the app as the containerizer does (an attached
// `docker run`) and waits until the container runs; cleanup stops and
// removes it as Mesos does (docker stop, docker rm -f -v).
func mesosLaunch(t *testing.T, e *engine, app marathonApp) string {
	t.Helper()
	id := make([]byte, 8)
	rand.Read(id)
	task := mesosTask{socket: e.host, name: "mesos-" + e.sfx + "-" + hex.EncodeToString(id),
		taskID: strings.Trim(app.ID, "/") + "." + hex.EncodeToString(id), sandbox: t.TempDir(), role: "*"}
	argv, err := mesosDockerRun(app, task)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s", app.ID, strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	out, _ := os.Create(filepath.Join(task.sandbox, "stdout"))
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_, _ = e.try("stop", "-t", "0", task.name)
		_, _ = e.try("rm", "-f", "-v", task.name)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Errorf("docker run of %s did not exit after its container was removed; killing it", task.name)
			_ = cmd.Process.Kill()
		}
	})
	testenv.Eventually(t, 60*time.Second, 200*time.Millisecond, func() error {
		select {
		case err := <-exited:
			exited <- err
			b, _ := os.ReadFile(filepath.Join(task.sandbox, "stdout"))
			t.Fatalf("docker run of %s exited: %v: %s", app.ID, err, b)
		default:
		}
		if s, err := e.try("inspect", "-f", "{{.State.Running}}", task.name); err != nil || s != "true" {
			return fmt.Errorf("%s not running yet (%s %v)", task.name, s, err)
		}
		return nil
	})
	return task.name
}

// serverCmd stands in for mesosphere/id-server (no registry here): it
// answers GET /id on port 80 with the container's host name.
const serverCmd = "mkdir -p /www && hostname > /www/id && exec httpd -f -p 80 -h /www"

// TestMarathonBookstore runs the seed's bookstore/fruitstore example from
// docs/marathon: the labels given as docker parameters reach the
// endpoints, both frontends reach the server, and once the seed's policy
// is applied only the bookstore frontend does.
func TestMarathonBookstore(t *testing.T) {
	e := newEngine(t)
	requireFreeRanges(t, defaultPool)
	d := startDaemon(t, e.host)
	network := e.network("calico") // the apps' "calico", named for this run
	names := map[string]string{}
	for _, id := range []string{"bookstore-server", "bookstore-frontend", "fruitstore-frontend"} {
		app := loadApp(t, id)
		app.Container.Docker.Image = testenv.TestImage()
		app.Cmd = serverCmd
		app.Networks[0].Name = network
		names[id] = mesosLaunch(t, e, app)
	}
	server := e.ip(names["bookstore-server"], network)
	store := datastore.New(d.etcd())
	t.Run("labels", func(t *testing.T) {
		want := map[string]map[string]string{
			"bookstore-server":    {"biz_type": "bookstore", "role": "server"},
			"bookstore-frontend":  {"biz_type": "bookstore"},
			"fruitstore-frontend": {"biz_type": "fruitstore"},
		}
		for id, labels := range want {
			checkEndpointLabels(t, store, e.ip(names[id], network), labels)
		}
	})
	// GET /id as the seed's `wget -qO- server:80/id` (busybox-static's wget
	// crashes, so nc speaks the HTTP).
	fetch := func(from string) error {
		out, err := e.exec(names[from], "sh", "-c", `printf 'GET /id HTTP/1.0\r\n\r\n' | nc -w 2 `+server+` 80`)
		if err == nil && !strings.Contains(out, "200 OK") {
			err = fmt.Errorf("answer %q", out)
		}
		return err
	}
	reaches := func(t *testing.T, from string, want bool) {
		t.Helper()
		testenv.Eventually(t, 30*time.Second, 250*time.Millisecond, func() error {
			if err := fetch(from); (err == nil) != want {
				return fmt.Errorf("%s -> bookstore-server:80: err %v, want reachable=%v", from, err, want)
			}
			return nil
		})
	}
	t.Run("before policy", func(t *testing.T) {
		reaches(t, "bookstore-frontend", true)
		reaches(t, "fruitstore-frontend", true)
	})
	t.Run("seed policy", func(t *testing.T) {
		applyPolicyFile(t, store, filepath.Join("..", "docs", "marathon", "policy.yaml"))
		reaches(t, "fruitstore-frontend", false)
		reaches(t, "bookstore-frontend", true)
		if err := fetch("fruitstore-frontend"); err == nil {
			t.Error("fruitstore-frontend reached the server again with the policy in place")
		}
	})
}

// checkEndpointLabels waits for the endpoint holding ip to carry labels
// (the driver reads container labels after Join).
func checkEndpointLabels(t *testing.T, store *datastore.Store, ip string, want map[string]string) {
	t.Helper()
	addr := netip.MustParseAddr(ip)
	testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		weps, _, err := datastore.ListAs[*resources.WorkloadEndpoint](ctx, store, "")
		if err != nil {
			return err
		}
		for _, w := range weps {
			if !slices.ContainsFunc(w.Addrs(), func(p netip.Prefix) bool { return p.Addr() == addr }) {
				continue
			}
			if _, pending := w.Annotations[resources.AnnotationLabelsPending]; pending {
				return fmt.Errorf("endpoint %s: labels pending", w.Name)
			}
			for k, v := range want {
				if got, ok := w.Labels[k]; !ok || got != v {
					return fmt.Errorf("endpoint %s labels %v, want %s=%s", w.Name, w.Labels, k, v)
				}
			}
			return nil
		}
		return fmt.Errorf("no endpoint holds %s", ip)
	})
}

// applyPolicyFile applies resources from a YAML file, as calicoctl apply
// does, and deletes them at cleanup.
func applyPolicyFile(t *testing.T, store *datastore.Store, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs, err := resources.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, o := range objs {
		if _, err := store.Apply(ctx, o); err != nil {
			t.Fatalf("apply %s: %v", path, err)
		}
		m := o.Meta()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = store.Delete(ctx, o.GetTypeMeta().Kind, m.Namespace, m.Name, "")
		})
	}
}
