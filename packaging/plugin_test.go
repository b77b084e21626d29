package packaging

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/daemon"
)

// pluginConfig is the part of plugin.json (the managed plugin's
// config.json) checked here.
type pluginConfig struct {
	Entrypoint []string `json:"entrypoint"`
	Interface  struct {
		Types  []string `json:"types"`
		Socket string   `json:"socket"`
	} `json:"interface"`
	Env []struct {
		Name        string   `json:"name"`
		Description string   `json:"description"`
		Settable    []string `json:"settable"`
		Value       string   `json:"value"`
	} `json:"env"`
}

// pluginFixed are the settings the plugin fixes: users cannot set them.
var pluginFixed = map[string]string{
	"CALICO_SINGLE_SOCKET": "true",                        // one socket serves both drivers
	"CALICO_PLUGIN_DIR":    "/run/docker/plugins",         // where Docker bind-mounts the socket dir
	"CALICO_DATA_DIR":      "/var/lib/calico",             // the data mount
	"DOCKER_HOST":          "unix:///var/run/docker.sock", // the docker-socket mount
}

// pluginDefaults are settable settings whose plugin default differs.
var pluginDefaults = map[string]string{
	"CALICO_LOG_FILE": "none", // Docker keeps the plugin's output; files are opt-in, under the data mount
	// A plugin's environment variables are always set, and a setting given
	// wins over FelixConfiguration: empty leaves the dataplane to
	// nftablesMode (the daemon's default, iptables, when unset).
	"CALICO_DATAPLANE": "",
}

// TestPluginEnvCoversSettings: every daemon setting is in plugin.json's
// env, settable (unless the plugin fixes it) with the daemon's default
// (unless the plugin needs another), and nothing else is.
func TestPluginEnvCoversSettings(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "plugin.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pc pluginConfig
	if err := json.Unmarshal(b, &pc); err != nil {
		t.Fatalf("plugin.json: %v", err)
	}
	if pc.Interface.Socket != daemon.NetworkPluginName+".sock" {
		t.Errorf("socket %q: the daemon serves %s.sock with single_socket", pc.Interface.Socket, daemon.NetworkPluginName)
	}
	env := map[string]int{}
	for i, e := range pc.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s is listed twice", e.Name)
		}
		env[e.Name] = i
	}
	for _, s := range daemon.Settings() {
		i, ok := env[s.Env]
		if !ok {
			t.Errorf("plugin.json env lacks %s (setting %s): add it, settable, with value %q", s.Env, s.Key, s.Default)
			continue
		}
		delete(env, s.Env)
		e := pc.Env[i]
		want, settable := s.Default, true
		if v, ok := pluginFixed[s.Env]; ok {
			want, settable = v, false
		} else if v, ok := pluginDefaults[s.Env]; ok {
			want = v
		}
		if e.Value != want {
			t.Errorf("env %s = %q, want %q", e.Name, e.Value, want)
		}
		if got := len(e.Settable) == 1 && e.Settable[0] == "value"; got != settable {
			t.Errorf("env %s settable %v, want settable=%v", e.Name, e.Settable, settable)
		}
		if e.Description == "" {
			t.Errorf("env %s has no description", e.Name)
		}
	}
	for name := range env {
		t.Errorf("plugin.json env %s is no daemon setting", name)
	}
}

// TestNftablesImageHoldsOnlyOurBinaries: the nftables-mode image
// (DATAPLANE=nftables make plugin) is built from scratch with nothing but
// the daemon and calicoctl.
func TestNftablesImageHoldsOnlyOurBinaries(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var stage []string
	in := false
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "FROM ") {
			in = l == "FROM scratch AS image-nftables"
			continue
		}
		if in && l != "" && !strings.HasPrefix(l, "#") {
			stage = append(stage, l)
		}
	}
	want := []string{"COPY bin/static/calico-libnetwork bin/static/calicoctl /usr/bin/", `ENTRYPOINT ["/usr/bin/calico-libnetwork"]`}
	if strings.Join(stage, "\n") != strings.Join(want, "\n") {
		t.Fatalf("image-nftables stage (FROM scratch) is\n%s\nwant\n%s", strings.Join(stage, "\n"), strings.Join(want, "\n"))
	}
}
