package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded/pki"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// DefaultConfigFile is read when it exists and --config is not given.
const DefaultConfigFile = "/etc/calico/calicoctl.cfg"

// DefaultEtcdEndpoint is the daemon's embedded etcd.
const DefaultEtcdEndpoint = "https://127.0.0.1:2379"

// DefaultDataDir is the daemon's data_dir; its pki/ holds the node's
// certificate, which calicoctl run as root uses when no other is given.
// CALICO_DATA_DIR overrides it, as for the daemon.
const DefaultDataDir = "/var/lib/calico"

// ConnFlags are the datastore flags every command accepts.
type ConnFlags struct {
	ConfigFile string
	endpoints  string
	caCert     string
	cert       string
	key        string
	flags      *pflag.FlagSet
}

func (c *ConnFlags) Register(fs *pflag.FlagSet) {
	c.flags = fs
	fs.StringVarP(&c.ConfigFile, "config", "c", DefaultConfigFile, "CalicoAPIConfig file (YAML or JSON) with the datastore settings; ignored when the default is absent")
	fs.StringVar(&c.endpoints, "etcd-endpoints", "", "comma-separated etcd URLs (env ETCD_ENDPOINTS; default "+DefaultEtcdEndpoint+")")
	fs.StringVar(&c.caCert, "etcd-ca-cert-file", "", "CA bundle to verify etcd (env ETCD_CA_CERT_FILE)")
	fs.StringVar(&c.cert, "etcd-cert-file", "", "client certificate for etcd (env ETCD_CERT_FILE)")
	fs.StringVar(&c.key, "etcd-key-file", "", "client key for etcd (env ETCD_KEY_FILE)")
	fs.Bool("allow-version-mismatch", false, "accepted for calicoctl's scripts: this calicoctl never refuses a cluster of another version (calicoctl version shows both)")
}

// setting is one datastore setting and where each source keeps it.
type setting struct {
	flag, env, fileKey string
	value              *string
}

// Resolve merges the sources, highest precedence first: flag, environment,
// config file, default.
func (c *ConnFlags) Resolve(lookupEnv func(string) (string, bool)) (datastore.EtcdConfig, error) {
	file, err := c.readConfigFile()
	if err != nil {
		return datastore.EtcdConfig{}, err
	}
	if t, ok := lookupEnv("DATASTORE_TYPE"); ok && t != "" && t != "etcdv3" {
		return datastore.EtcdConfig{}, fmt.Errorf("DATASTORE_TYPE=%q is not supported: calico-libnetwork stores its data in etcd; unset it or set etcdv3", t)
	}
	var eps, ca, cert, key string
	for _, s := range []setting{
		{"etcd-endpoints", "ETCD_ENDPOINTS", "spec.etcdendpoints", &eps},
		{"etcd-ca-cert-file", "ETCD_CA_CERT_FILE", "spec.etcdcacertfile", &ca},
		{"etcd-cert-file", "ETCD_CERT_FILE", "spec.etcdcertfile", &cert},
		{"etcd-key-file", "ETCD_KEY_FILE", "spec.etcdkeyfile", &key},
	} {
		*s.value = c.pick(s, lookupEnv, file)
	}
	if eps == "" {
		eps = clientEndpoints(lookupEnv)
	}
	cfg := datastore.EtcdConfig{Endpoints: datastore.ParseEndpoints(eps), CACertFile: ca, CertFile: cert, KeyFile: key}
	for _, ep := range cfg.Endpoints {
		if u, err := url.Parse(ep); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cfg, fmt.Errorf("etcd endpoint %q is not a URL: use the form http(s)://host:port in ETCD_ENDPOINTS or --etcd-endpoints", ep)
		}
	}
	if len(cfg.Endpoints) == 0 {
		return cfg, fmt.Errorf("etcd endpoints %q name no URL: set ETCD_ENDPOINTS to e.g. %s", eps, DefaultEtcdEndpoint)
	}
	if ca == "" && cert == "" && key == "" && strings.HasPrefix(cfg.Endpoints[0], "https://") {
		if err := useNodeCert(&cfg, lookupEnv); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// clientEndpoints are where this host's daemon reaches etcd: the members'
// endpoints on a host that joined the cluster as a client (from
// <data_dir>/cluster.json), else the local member's DefaultEtcdEndpoint.
func clientEndpoints(lookupEnv func(string) (string, bool)) string {
	b, err := os.ReadFile(filepath.Join(dataDir(lookupEnv), "cluster.json"))
	if err != nil {
		return DefaultEtcdEndpoint
	}
	var st struct {
		Role      string   `json:"role"`
		Endpoints []string `json:"endpoints"`
	}
	if json.Unmarshal(b, &st) != nil || st.Role != "client" || len(st.Endpoints) == 0 {
		return DefaultEtcdEndpoint
	}
	return strings.Join(st.Endpoints, ",")
}

func dataDir(lookupEnv func(string) (string, bool)) string {
	if d, ok := lookupEnv("CALICO_DATA_DIR"); ok && d != "" {
		return d
	}
	return DefaultDataDir
}

// useNodeCert gives cfg the node's certificate from <data_dir>/pki when
// it exists: the zero-config way for root on a host running the daemon.
func useNodeCert(cfg *datastore.EtcdConfig, lookupEnv func(string) (string, bool)) error {
	files := pki.NodeFiles(pki.Dir(dataDir(lookupEnv)))
	if _, err := os.Stat(files.Cert); err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("etcd needs a client certificate and %s is readable by root only: run calicoctl as root (sudo), "+
				"or set ETCD_CA_CERT_FILE, ETCD_CERT_FILE and ETCD_KEY_FILE", files.Cert)
		}
		return nil // no daemon here: connect without, and say so if etcd refuses
	}
	cfg.CACertFile, cfg.CertFile, cfg.KeyFile = files.CA, files.Cert, files.Key
	return nil
}

func (c *ConnFlags) pick(s setting, lookupEnv func(string) (string, bool), file *viper.Viper) string {
	if f := c.flags.Lookup(s.flag); f != nil && f.Changed {
		return f.Value.String()
	}
	if v, ok := lookupEnv(s.env); ok && v != "" {
		return v
	}
	if file != nil {
		return file.GetString(s.fileKey)
	}
	return ""
}

// knownConfigKeys are the CalicoAPIConfig keys this product understands
// (viper lower-cases keys).
var knownConfigKeys = map[string]bool{
	"apiversion": true, "kind": true, "metadata": true,
	"spec.datastoretype": true, "spec.etcdendpoints": true,
	"spec.etcdcacertfile": true, "spec.etcdcertfile": true, "spec.etcdkeyfile": true,
}

// readConfigFile reads --config; a missing default file is not an error.
func (c *ConnFlags) readConfigFile() (*viper.Viper, error) {
	explicit := c.flags.Lookup("config").Changed
	path := c.ConfigFile
	if path == "" {
		return nil, nil
	}
	if _, err := os.Stat(path); err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	v := viper.New()
	v.SetConfigFile(path)
	v.SetConfigType("yaml") // JSON is YAML too
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("config file %s is not valid YAML or JSON: %w", path, err)
	}
	if err := checkConfig(v); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return v, nil
}

func checkConfig(v *viper.Viper) error {
	if av := v.GetString("apiVersion"); av != "projectcalico.org/v3" {
		return fmt.Errorf("apiVersion %q: must be projectcalico.org/v3", av)
	}
	if k := v.GetString("kind"); k != "CalicoAPIConfig" {
		return fmt.Errorf("kind %q: must be CalicoAPIConfig", k)
	}
	if t := v.GetString("spec.datastoreType"); t != "" && t != "etcdv3" {
		return fmt.Errorf("spec.datastoreType %q: only etcdv3 is supported", t)
	}
	var unknown []string
	for _, k := range v.AllKeys() {
		if !knownConfigKeys[k] && !strings.HasPrefix(k, "metadata.") {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("unsupported settings %v: use spec.etcdEndpoints, spec.etcdCACertFile, spec.etcdCertFile and spec.etcdKeyFile", unknown)
	}
	return nil
}

// Store connects to etcd once per invocation.
func (a *App) Store(ctx context.Context) (*datastore.Store, error) {
	if a.st != nil {
		return a.st, nil
	}
	cfg, err := a.Conn.Resolve(a.LookupEnv)
	if err != nil {
		return nil, err
	}
	cli, err := datastore.Connect(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot reach etcd at %s: is the calico-libnetwork daemon running? set ETCD_ENDPOINTS (or --etcd-endpoints) to your etcd\n  cause: %w",
			strings.Join(cfg.Endpoints, ","), err)
	}
	a.closers = append(a.closers, func() { cli.Close() })
	a.st = datastore.New(cli)
	return a.st, nil
}
