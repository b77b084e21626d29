package node

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

// DefaultLogFile is the daemon's default log_file setting.
const DefaultLogFile = "/var/log/calico/calico-libnetwork.log"

// Bounds of node diags.
const (
	diagsCommandTimeout = 30 * time.Second
	diagsMaxLogBytes    = 32 << 20 // of log files, newest first
)

// diagsOptions are node diags's flags.
type diagsOptions struct {
	output  string // archive path
	logFile string // the daemon's log file
	backend string // iptables backend: legacy, nft or "" (the daemon's)
}

func (a *app) nodeDiagsCommand() *cobra.Command {
	var o diagsOptions
	cmd := &cobra.Command{
		Use:   "diags [--output FILE.tar.gz] [--log-file PATH] [--iptables-backend legacy|nft]",
		Short: "Collect this host's Calico diagnostics into one archive",
		Long: `Write one tar.gz with what is needed to debug Calico networking on this host:

  status.json              the daemon's status (version, datastore, dataplane, BGP sessions)
  resources/KIND.yaml      every resource of every kind (as calicoctl get KIND -o yaml)
  host-endpoints.yaml      the workload endpoints of this host
  iptables-save.txt        iptables-save and ip6tables-save of the backend the daemon
  ip6tables-save.txt       uses (iptables-nft or iptables-legacy)
  ipset-list.txt           ipset list
  nftables.txt             the daemon's nftables tables (dataplane: nftables): chains with
                           their counters, maps, and address sets' members by set name
  ip-route.txt ...         ip route, ip -6 route, ip rule, ip -6 rule, ip link, ip addr
  logs/                    the daemon's log file and its newest rotated files
  summary.txt              what was collected, from where
  errors.txt               every collector that failed, and why (empty when none)

A collector that fails (the daemon not running, etcd unreachable, a tool not installed)
is recorded in errors.txt and the others still run. Run it as root: iptables-save,
ipset, nftables and the status socket need it.

--output defaults to calico-diags-NODE-TIME.tar.gz in the temporary directory. The
iptables backend is --iptables-backend, else the daemon's (from its status), else
$CALICO_IPTABLES_BACKEND, else detected as the daemon does. --log-file defaults to
$CALICO_LOG_FILE, else ` + DefaultLogFile + `.

Exit status: 0 when the archive was written (even if collectors failed), 1 when it
could not be.`,
		Example: `  sudo calicoctl node diags
  sudo calicoctl node diags --output /tmp/diags.tar.gz`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if b := o.backend; b != "" && b != string(iptables.BackendLegacy) && b != string(iptables.BackendNFT) {
				return cli.Usagef("--iptables-backend %q: use legacy or nft, or leave it out to use the daemon's", b)
			}
			return a.runDiags(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.output, "output", "", "path of the archive to write (.tar.gz)")
	cmd.Flags().StringVar(&o.logFile, "log-file", "", "the daemon's log file (its log_file setting)")
	cmd.Flags().StringVar(&o.backend, "iptables-backend", "", "legacy or nft (default: the daemon's)")
	return cmd
}

func (a *app) runDiags(ctx context.Context, o diagsOptions) error {
	now := a.Now()
	st, raw, statusErr := a.fetchDaemonStatus(ctx)
	node := a.diagsNodeName(st)
	if o.output == "" {
		o.output = filepath.Join(os.TempDir(), fmt.Sprintf("calico-diags-%s-%s.tar.gz", node, now.Format("20060102-150405")))
	}
	ar, err := createDiagsArchive(o.output, fmt.Sprintf("calico-diags-%s-%s", node, now.Format("20060102-150405")), now)
	if err != nil {
		return err
	}
	defer ar.abort()
	var summary strings.Builder
	fmt.Fprintf(&summary, "calicoctl %s (%s), collected %s on node %s\n", cli.Version, cli.GitCommit(), now.UTC().Format(time.RFC3339), node)
	fmt.Fprintf(&summary, "status socket: %s\n", a.statusSocketPath())
	if statusErr != nil {
		ar.fail("status.json", statusErr)
	} else {
		ar.add("status.json", raw)
	}
	store, storeErr := a.Store(ctx)
	a.collectResources(ctx, ar, node, store, storeErr)
	backend, how := a.diagsBackend(ctx, o.backend, st)
	fmt.Fprintf(&summary, "iptables backend: %s (%s)\n", backend, how)
	for _, c := range DiagsCommands(backend) {
		ar.addCommand(ctx, c.File, c.argv)
	}
	a.collectNftables(ctx, ar, node, store, storeErr)
	logFile := a.diagsLogFile(o.logFile)
	fmt.Fprintf(&summary, "log file: %s\n", logFile)
	collectLogs(ar, logFile)
	fmt.Fprintf(&summary, "files: %s\n", strings.Join(ar.files, " "))
	ar.add("summary.txt", []byte(summary.String()))
	if err := ar.finish(); err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "Diagnostics written to %s\n", o.output)
	if n := len(ar.errs); n > 0 {
		fmt.Fprintf(a.Out, "%d collector(s) failed; the archive's errors.txt says why.\n", n)
	}
	return nil
}

// diagsNodeName is the daemon's node name, else NODENAME, else the host
// name lower-cased (the daemon's default).
func (a *app) diagsNodeName(st *daemonStatus) string {
	if st != nil && st.Node != "" {
		return st.Node
	}
	if n, ok := a.LookupEnv("NODENAME"); ok && n != "" {
		return n
	}
	if h, err := os.Hostname(); err == nil {
		return strings.ToLower(h)
	}
	return "unknown"
}

func (a *app) diagsLogFile(flag string) string {
	if flag != "" {
		return flag
	}
	if f, ok := a.LookupEnv("CALICO_LOG_FILE"); ok && f != "" {
		return f
	}
	return DefaultLogFile
}

// diagsBackend picks the iptables backend whose rules to save, and says why.
func (a *app) diagsBackend(ctx context.Context, flag string, st *daemonStatus) (iptables.Backend, string) {
	switch {
	case flag != "":
		return iptables.Backend(flag), "--iptables-backend"
	case st != nil && st.Dataplane != nil && st.Dataplane.IptablesBackend != "":
		return iptables.Backend(st.Dataplane.IptablesBackend), "the daemon's, from its status"
	}
	if b, ok := a.LookupEnv("CALICO_IPTABLES_BACKEND"); ok && (b == "legacy" || b == "nft") {
		return iptables.Backend(b), "CALICO_IPTABLES_BACKEND"
	}
	ctx, cancel := context.WithTimeout(ctx, diagsCommandTimeout)
	defer cancel()
	return iptables.DetectBackend(ctx, execRunner{}), "detected as the daemon does: the daemon's status was not available"
}

// diagsCommand is one command whose output goes into the archive.
type diagsCommand struct {
	File string
	argv []string
}

func DiagsCommands(b iptables.Backend) []diagsCommand {
	return []diagsCommand{
		{"iptables-save.txt", []string{"iptables-" + string(b) + "-save"}},
		{"ip6tables-save.txt", []string{"ip6tables-" + string(b) + "-save"}},
		{"ipset-list.txt", []string{"ipset", "list"}},
		{"ip-route.txt", []string{"ip", "route", "show", "table", "all"}},
		{"ip6-route.txt", []string{"ip", "-6", "route", "show", "table", "all"}},
		{"ip-rule.txt", []string{"ip", "rule"}},
		{"ip6-rule.txt", []string{"ip", "-6", "rule"}},
		{"ip-link.txt", []string{"ip", "-d", "link"}},
		{"ip-addr.txt", []string{"ip", "addr"}},
	}
}

// collectResources writes every kind as calicoctl get KIND -o yaml, and
// this host's workload endpoints.
func (a *app) collectResources(ctx context.Context, ar *diagsArchive, node string, st *datastore.Store, err error) {
	if err != nil {
		ar.fail("resources/", err)
		return
	}
	for _, info := range resources.Kinds() {
		name := "resources/" + strings.ToLower(info.Plural) + ".yaml"
		objs, _, err := st.List(ctx, info.Kind, "")
		if err != nil {
			ar.fail(name, err)
			continue
		}
		ar.addYAML(name, objs)
		if info.Kind != resources.KindWorkloadEndpoint {
			continue
		}
		var mine []resources.Resource
		for _, o := range objs {
			if w, ok := o.(*resources.WorkloadEndpoint); ok && w.Spec.Node == node {
				mine = append(mine, o)
			}
		}
		ar.addYAML("host-endpoints.yaml", mine)
	}
}

// collectLogs adds the log file and its newest rotated siblings
// (lumberjack names them <name>-<time>.<ext>, maybe .gz), newest first,
// up to diagsMaxLogBytes.
func collectLogs(ar *diagsArchive, logFile string) {
	if _, err := os.Stat(logFile); err != nil {
		ar.fail("logs/", fmt.Errorf("the daemon's log file: %w (is log_file set to another path, or none? then see journalctl -u calico-libnetwork, or pass --log-file)", err))
		return
	}
	ext := filepath.Ext(logFile)
	rotated, _ := filepath.Glob(strings.TrimSuffix(logFile, ext) + "-*" + ext + "*")
	files := append([]string{logFile}, newestFirst(rotated)...)
	budget := int64(diagsMaxLogBytes)
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil || fi.Size() > budget {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			ar.fail("logs/"+filepath.Base(f), err)
			continue
		}
		budget -= int64(len(data))
		ar.add("logs/"+filepath.Base(f), data)
	}
}

func newestFirst(paths []string) []string {
	type file struct {
		path string
		mod  time.Time
	}
	var fs []file
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			fs = append(fs, file{p, fi.ModTime()})
		}
	}
	out := make([]string, 0, len(fs))
	for len(fs) > 0 {
		best := 0
		for i, f := range fs {
			if f.mod.After(fs[best].mod) {
				best = i
			}
		}
		out = append(out, fs[best].path)
		fs = append(fs[:best], fs[best+1:]...)
	}
	return out
}

// execRunner runs host commands (iptables.Runner, for DetectBackend).
type execRunner struct{}

func (execRunner) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return out, fmt.Errorf("%s is not installed (or not in PATH)", name)
	case err != nil && stderr.Len() > 0:
		return out, fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	case err != nil:
		return out, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// diagsArchive is the tar.gz being written: every file under one
// directory; it is written to FILE.partial and renamed when complete.
type diagsArchive struct {
	path, tmp, dir string
	now            time.Time
	f              *os.File
	gz             *gzip.Writer
	tw             *tar.Writer
	files          []string
	errs           []string
	writeErr       error
}

func createDiagsArchive(path, dir string, now time.Time) (*diagsArchive, error) {
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create the diagnostics archive: %w (choose another path with --output)", err)
	}
	gz := gzip.NewWriter(f)
	return &diagsArchive{path: path, tmp: tmp, dir: dir, now: now, f: f, gz: gz, tw: tar.NewWriter(gz)}, nil
}

// add writes one file; a write error is kept and reported by finish.
func (d *diagsArchive) add(name string, data []byte) {
	if d.writeErr != nil {
		return
	}
	hdr := &tar.Header{Name: d.dir + "/" + name, Mode: 0o644, Size: int64(len(data)), ModTime: d.now.Truncate(time.Second), Typeflag: tar.TypeReg}
	if err := d.tw.WriteHeader(hdr); err != nil {
		d.writeErr = err
		return
	}
	if _, err := d.tw.Write(data); err != nil {
		d.writeErr = err
		return
	}
	d.files = append(d.files, name)
}

func (d *diagsArchive) addYAML(name string, objs []resources.Resource) {
	if objs == nil {
		objs = []resources.Resource{}
	}
	var buf bytes.Buffer
	if err := cli.WriteStructured(&buf, cli.FormatYAML, cli.ObjectList{APIVersion: resources.APIVersion, Kind: "List", Items: objs}); err != nil {
		d.fail(name, err)
		return
	}
	d.add(name, buf.Bytes())
}

// addCommand runs argv and adds its output; a failure is recorded (with
// whatever output it produced still added).
func (d *diagsArchive) addCommand(ctx context.Context, name string, argv []string) {
	ctx, cancel := context.WithTimeout(ctx, diagsCommandTimeout)
	defer cancel()
	out, err := execRunner{}.Run(ctx, nil, argv[0], argv[1:]...)
	if err == nil || len(out) > 0 {
		d.add(name, out) // empty output (no rules, no sets) is an answer too
	}
	if err != nil {
		d.fail(name, fmt.Errorf("%s: %w", strings.Join(argv, " "), err))
	}
}

// fail records a collector's failure for errors.txt.
func (d *diagsArchive) fail(what string, err error) {
	d.errs = append(d.errs, what+": "+strings.ReplaceAll(err.Error(), "\n", " "))
}

// finish writes errors.txt, closes the archive and moves it into place.
func (d *diagsArchive) finish() error {
	var errs strings.Builder
	for _, e := range d.errs {
		errs.WriteString(e + "\n")
	}
	d.add("errors.txt", []byte(errs.String()))
	err := errors.Join(d.writeErr, d.tw.Close(), d.gz.Close(), d.f.Close())
	d.f = nil
	if err == nil {
		err = os.Rename(d.tmp, d.path)
	}
	if err != nil {
		os.Remove(d.tmp)
		return fmt.Errorf("write the diagnostics archive %s: %w", d.path, err)
	}
	return nil
}

// abort removes an unfinished archive (after finish it does nothing).
func (d *diagsArchive) abort() {
	if d.f != nil {
		d.f.Close()
		os.Remove(d.tmp)
	}
}
