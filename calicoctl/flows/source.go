package flows

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/flows"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/status"
)

// listTimeout bounds one list request.
const listTimeout = 10 * time.Second

// source is one daemon's flows API.
type source struct {
	name   string // node name, or the socket/URL when unknown
	base   string // http://host:port, or http://calico-libnetwork for the socket
	client *http.Client
}

// sources picks the daemons to ask: --api, else --node (its annotation;
// all: every node with one), else this host's status socket.
func sources(ctx context.Context, a *cli.App, o *options) ([]source, error) {
	switch {
	case o.api != "":
		u, err := url.Parse(o.api)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, cli.Usagef("--api %q: not an http(s) URL; use http://host:port of the daemon's metrics_addr", o.api)
		}
		return []source{{name: u.Host, base: strings.TrimRight(o.api, "/"), client: &http.Client{}}}, nil
	case o.node == "":
		socket := socketPath(a)
		return []source{{name: socket, base: "http://calico-libnetwork", client: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", socket)
			}}}}}, nil
	}
	return nodeSources(ctx, a, o.node)
}

func socketPath(a *cli.App) string {
	if a.StatusSocket != "" {
		return a.StatusSocket
	}
	if d, ok := a.LookupEnv("CALICO_DATA_DIR"); ok && d != "" {
		return filepath.Join(d, status.SocketName)
	}
	return status.DefaultSocket
}

// nodeSources reads the flows API URLs nodes record on their Node.
func nodeSources(ctx context.Context, a *cli.App, node string) ([]source, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	var nodes []*resources.Node
	if node == "all" {
		if nodes, _, err = datastore.ListAs[*resources.Node](ctx, st, ""); err != nil {
			return nil, fmt.Errorf("list nodes: %w", err)
		}
	} else {
		n, err := datastore.GetAs[*resources.Node](ctx, st, "", node)
		if errors.Is(err, datastore.ErrNotFound) {
			return nil, cli.Usagef("--node %q: no such node; see calicoctl get nodes, or use all", node)
		}
		if err != nil {
			return nil, fmt.Errorf("read node %q: %w", node, err)
		}
		nodes = []*resources.Node{n}
	}
	var out []source
	var missing []string
	for _, n := range nodes {
		u := n.Annotations[flows.AnnotationAPI]
		if u == "" {
			missing = append(missing, n.Name)
			continue
		}
		out = append(out, source{name: n.Name, base: strings.TrimRight(u, "/"), client: &http.Client{}})
	}
	if len(missing) > 0 {
		fmt.Fprintf(a.Err, "Nodes without a flows API address (set metrics_addr on their daemon, with flow_logs on): %s\n",
			strings.Join(missing, ", "))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no node to ask: none of %d node(s) records a flows API address; "+
			"set metrics_addr (reachable from here) on their daemons, or run calicoctl flows on the host itself", len(nodes))
	}
	return out, nil
}

// apiError explains a failed request to a source.
func (s source) apiError(err error) error {
	switch {
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("cannot open %s: permission denied: run calicoctl as root (sudo calicoctl flows)", s.name)
	case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("no calico-libnetwork daemon answers at %s: start it, or give --status-socket, --node or --api (%v)", s.name, err)
	}
	return fmt.Errorf("ask %s for flows: %w", s.name, err)
}

// listAnswer is GET /api/v1/flows's document.
type listAnswer struct {
	Flows   []flows.Flow `json:"flows"`
	Dropped uint64       `json:"dropped"`
	Node    string       `json:"node"`
}

func (s source) get(ctx context.Context, path string, q url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, s.apiError(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct{ Error string }
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s: %s", s.name, e.Error)
		}
		if resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("%s has no flows API: is flow_logs on, and the daemon as new as calicoctl?", s.name)
		}
		return nil, fmt.Errorf("%s answered %s: %s", s.name, resp.Status, strings.TrimSpace(string(body)))
	}
	return resp, nil
}

func (s source) list(ctx context.Context, q url.Values) (*listAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	resp, err := s.get(ctx, "/api/v1/flows", q)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var ans listAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(&ans); err != nil {
		return nil, fmt.Errorf("%s: not a flows answer (%w): is calicoctl as new as the daemon?", s.name, err)
	}
	return &ans, nil
}

// list asks every source (concurrently) and prints the rows, newest first.
func list(ctx context.Context, a *cli.App, srcs []source, q url.Values, p *printer) error {
	answers := make([]*listAnswer, len(srcs))
	errs := make([]error, len(srcs))
	var wg sync.WaitGroup
	for i, s := range srcs {
		wg.Go(func() { answers[i], errs[i] = s.list(ctx, q) })
	}
	wg.Wait()
	merged := listAnswer{Flows: []flows.Flow{}}
	var nodes []string
	for i, ans := range answers {
		if errs[i] != nil {
			if len(srcs) == 1 {
				return errs[i]
			}
			fmt.Fprintf(a.Err, "Skipping %s: %v\n", srcs[i].name, errs[i])
			continue
		}
		merged.Flows = append(merged.Flows, ans.Flows...)
		merged.Dropped += ans.Dropped
		nodes = append(nodes, ans.Node)
	}
	slices.SortStableFunc(merged.Flows, func(x, y flows.Flow) int { return y.End.Compare(x.End) })
	return p.list(merged.Flows, merged.Dropped, nodes)
}

// follow streams every source's flows until ctx ends.
func follow(ctx context.Context, a *cli.App, srcs []source, q url.Values, p *printer) error {
	rows := make(chan flows.Flow)
	errs := make(chan error, len(srcs))
	for _, s := range srcs {
		go func() { errs <- s.stream(ctx, q, rows) }()
	}
	p.header()
	for left := len(srcs); left > 0; {
		select {
		case <-ctx.Done():
			return nil
		case r := <-rows:
			if err := p.row(&r); err != nil {
				return err
			}
		case err := <-errs:
			left--
			if err != nil && ctx.Err() == nil {
				if len(srcs) == 1 {
					return err
				}
				fmt.Fprintf(a.Err, "Stopped following %v\n", err)
			}
		}
	}
	return nil
}

// stream reads the SSE stream, sending each flow to rows.
func (s source) stream(ctx context.Context, q url.Values, rows chan<- flows.Flow) error {
	resp, err := s.get(ctx, "/api/v1/flows/stream", q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var f flows.Flow
		if err := json.Unmarshal([]byte(data), &f); err != nil {
			return fmt.Errorf("%s: bad event (%w)", s.name, err)
		}
		select {
		case rows <- f:
		case <-ctx.Done():
			return nil
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: stream: %w", s.name, err)
	}
	return fmt.Errorf("%s closed the stream", s.name)
}
