package cluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded/pki"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// DefaultVoters is how many voting members a cluster grows to by default;
// MaxVoters is the most allowed.
const (
	DefaultVoters = 3
	MaxVoters     = 5
)

// Server is a member's join endpoint.
type Server struct {
	Store      *datastore.Store
	PKIDir     string // holds the CA key and this member's certificate
	Name       string // this member's name
	Voters     int    // voting members to grow to (1..MaxVoters)
	PeerPort   int    // this member's etcd ports
	ClientPort int
	// SetAddress is called when this member learns the address other hosts
	// reach it at (the first join to a first host): its certificate is
	// reissued for it and its peer URL moved to it; the daemon keeps it for
	// restarts.
	SetAddress func(ip net.IP) error
	Logger     *slog.Logger
	// AllowLoopback admits hosts at loopback addresses: tests that run
	// every member on one host (different ports) set it; never the daemon.
	AllowLoopback bool

	mu sync.Mutex // one join at a time: etcd adds one learner at a time
}

// Serve answers joins on l (TLS with this member's certificate) until ctx ends.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	files := pki.NodeFiles(s.PKIDir)
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return chainWithCA(files)
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+JoinPath, s.handleJoin)
	srv := &http.Server{Handler: mux, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.logger().Handler(), slog.LevelDebug), // failed handshakes: scanners, wrong tokens
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, localAddrKey{}, c.LocalAddr())
		}}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.ServeTLS(l, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("join endpoint on %s: %w", l.Addr(), err)
	}
	return nil
}

type localAddrKey struct{}

// chainWithCA loads the node certificate and appends the CA certificate,
// so a joining host can check the CA against its token's fingerprint.
func chainWithCA(files pki.Files) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		return nil, fmt.Errorf("join endpoint certificate: %w", err)
	}
	caPEM, err := os.ReadFile(files.CA)
	if err != nil {
		return nil, fmt.Errorf("join endpoint CA: %w", err)
	}
	ca, err := pki.ParseCert(caPEM)
	if err != nil {
		return nil, fmt.Errorf("join endpoint CA: %w", err)
	}
	c.Certificate = append(c.Certificate, ca.Raw)
	return &c, nil
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	var req JoinRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		refuse(w, http.StatusBadRequest, fmt.Errorf("join request is not JSON: %w", err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	local, _ := r.Context().Value(localAddrKey{}).(net.Addr)
	s.mu.Lock()
	resp, code, err := s.join(ctx, req, local)
	s.mu.Unlock()
	log := s.logger().With("host", req.Name, "address", req.Address, "tokenID", req.TokenID)
	if err != nil {
		log.Warn("Refused a join", "err", err)
		refuse(w, code, err)
		return
	}
	log.Info("Host joined", "role", resp.Role)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func refuse(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(errorBody{Error: err.Error()})
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// join checks the request and token and admits the host.
func (s *Server) join(ctx context.Context, req JoinRequest, local net.Addr) (*JoinResponse, int, error) {
	ip, err := checkRequest(req, s.AllowLoopback)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	tok, err := s.Store.GetJoinToken(ctx, req.TokenID)
	if errors.Is(err, datastore.ErrNoJoinToken) || (err == nil && !secretMatches(req.Secret, tok.SecretHash)) {
		return nil, http.StatusForbidden, fmt.Errorf("join token %s is unknown, revoked or expired: "+
			"make a new one with `calicoctl cluster token` on a member", req.TokenID)
	}
	if err != nil {
		return nil, http.StatusServiceUnavailable, err
	}
	if err := s.ensureReachable(ctx, local); err != nil && !s.AllowLoopback {
		return nil, http.StatusServiceUnavailable, err
	}
	members, err := s.Store.Members(ctx)
	if err != nil {
		return nil, http.StatusServiceUnavailable, err
	}
	voters := 0
	for _, m := range members {
		sameIP := !s.AllowLoopback && len(m.PeerURLs) > 0 && hostOf(m.PeerURLs[0]) == ip.String()
		if m.Name == req.Name || sameIP {
			return nil, http.StatusConflict, fmt.Errorf("host %s (%s) is already an etcd member: remove it first with "+
				"`calicoctl cluster remove-member %s` and wipe its <data_dir>/etcd and <data_dir>/pki", req.Name, ip, m.Name)
		}
		if !m.Learner {
			voters++
		}
	}
	return s.admit(ctx, req, ip, members, voters < s.Voters)
}

func checkRequest(req JoinRequest, allowLoopback bool) (net.IP, error) {
	if err := resources.NewNode(req.Name).Validate(); err != nil || req.Name == "" {
		return nil, fmt.Errorf("join request: name %q is not a valid node name: set NODENAME on the new host", req.Name)
	}
	ip := net.ParseIP(req.Address)
	if ip == nil || ip.IsUnspecified() || (ip.IsLoopback() && !allowLoopback) {
		return nil, fmt.Errorf("join request: address %q is not an address other hosts can reach: set etcd_client_host on the new host to its own IP", req.Address)
	}
	for _, p := range []int{req.PeerPort, req.ClientPort} {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("join request: port %d is not from 1 to 65535", p)
		}
	}
	return ip, nil
}

// admit issues the certificate and, as a member, adds the learner.
func (s *Server) admit(ctx context.Context, req JoinRequest, ip net.IP, members []datastore.Member, asMember bool) (*JoinResponse, int, error) {
	ca, err := pki.LoadCA(s.PKIDir)
	if err != nil {
		return nil, http.StatusServiceUnavailable, err
	}
	cert, key, err := ca.Issue(req.Name, []net.IP{ip}, time.Now())
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	resp := &JoinResponse{Role: RoleClient, CACert: ca.CertPEM(), Cert: cert, Key: key, Endpoints: s.clientEndpoints(members)}
	if !asMember {
		return resp, 0, nil
	}
	peerURL := "https://" + net.JoinHostPort(ip.String(), strconv.Itoa(req.PeerPort))
	id, members, err := s.Store.AddLearner(ctx, peerURL)
	if err != nil {
		return nil, http.StatusServiceUnavailable, err
	}
	var initial []string
	for _, m := range members {
		name := m.Name
		if m.ID == id {
			name = req.Name
		}
		if name != "" && len(m.PeerURLs) > 0 {
			initial = append(initial, name+"="+m.PeerURLs[0])
		}
	}
	if resp.CAKey, err = ca.KeyPEM(); err != nil {
		return nil, http.StatusInternalServerError, err
	}
	resp.Role, resp.MemberID, resp.InitialCluster = RoleMember, id, strings.Join(initial, ",")
	return resp, 0, nil
}

// clientEndpoints are the voting members' client URLs off loopback.
func (s *Server) clientEndpoints(members []datastore.Member) []string {
	var out []string
	for _, m := range members {
		if m.Learner || len(m.PeerURLs) == 0 {
			continue
		}
		port := strconv.Itoa(s.ClientPort)
		for _, c := range m.ClientURLs {
			if h := hostOf(c); h != "" && (!isLoopback(h) || s.AllowLoopback) {
				port = portOf(c)
			}
		}
		if h := hostOf(m.PeerURLs[0]); !isLoopback(h) || s.AllowLoopback {
			out = append(out, "https://"+net.JoinHostPort(h, port))
		}
	}
	return out
}

// ensureReachable moves this member off loopback the first time another
// host joins: its peer URL becomes the address the join came in on.
func (s *Server) ensureReachable(ctx context.Context, local net.Addr) error {
	members, err := s.Store.Members(ctx)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.Name != s.Name || len(m.PeerURLs) == 0 || !isLoopback(hostOf(m.PeerURLs[0])) {
			continue
		}
		tcp, ok := local.(*net.TCPAddr)
		if !ok || tcp.IP.IsLoopback() {
			return errors.New("this member advertises a loopback peer URL and the join came over loopback: join from another host")
		}
		ip := tcp.IP
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		if s.SetAddress != nil {
			if err := s.SetAddress(ip); err != nil {
				return fmt.Errorf("take address %s for this member: %w", ip, err)
			}
		}
		return s.Store.UpdatePeerURL(ctx, m.ID, "https://"+net.JoinHostPort(ip.String(), strconv.Itoa(s.PeerPort)))
	}
	return nil
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Hostname()
}

func portOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Port()
}

func isLoopback(h string) bool {
	ip := net.ParseIP(h)
	return h == "localhost" || (ip != nil && ip.IsLoopback())
}
