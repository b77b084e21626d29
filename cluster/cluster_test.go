package cluster

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded/pki"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// host is one simulated host: its data directory, etcd ports, member.
type host struct {
	name       string
	dir        string
	clientPort int
	peerPort   int
	member     *embedded.Server
}

func newHost(t *testing.T, name string) *host {
	t.Helper()
	ports := testenv.FreePorts(t, 2)
	return &host{name: name, dir: t.TempDir(), clientPort: ports[0], peerPort: ports[1]}
}

func (h *host) files() pki.Files { return pki.NodeFiles(pki.Dir(h.dir)) }

// config is h's member's configuration (initial: an existing cluster to
// join, or "").
func (h *host) config(initial string) embedded.Config {
	files := h.files()
	return embedded.Config{DataDir: h.dir, Name: h.name, ClientPort: h.clientPort, PeerPort: h.peerPort,
		TLS: &files, InitialCluster: initial, Quiet: true, UnsafeNoFsync: true}
}

// start runs h's member (initial: an existing cluster to join, or "").
func (h *host) start(t *testing.T, initial string) {
	t.Helper()
	s, err := embedded.Start(h.config(initial))
	if err != nil {
		t.Fatalf("start %s: %v", h.name, err)
	}
	h.member = s
	t.Cleanup(s.Close)
}

func (h *host) store(t *testing.T, endpoints ...string) *datastore.Store {
	t.Helper()
	if len(endpoints) == 0 {
		endpoints = h.member.Endpoints
	}
	f := h.files()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := datastore.Connect(ctx, datastore.EtcdConfig{Endpoints: endpoints, CACertFile: f.CA, CertFile: f.Cert, KeyFile: f.Key})
	if err != nil {
		t.Fatalf("connect as %s: %v", h.name, err)
	}
	t.Cleanup(func() { cli.Close() })
	return datastore.New(cli)
}

// firstHost creates the CA, starts the member and serves joins.
func firstHost(t *testing.T) (*host, *datastore.Store, string, *pki.CA) {
	t.Helper()
	h := newHost(t, "host1")
	ca, _, err := pki.LoadOrCreateCA(pki.Dir(h.dir), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.EnsureNodeCert(pki.Dir(h.dir), ca, h.name, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	h.start(t, "")
	st := h.store(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Store: st, PKIDir: pki.Dir(h.dir), Name: h.name, Voters: DefaultVoters,
		PeerPort: h.peerPort, ClientPort: h.clientPort, AllowLoopback: true}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done })
	return h, st, l.Addr().String(), ca
}

func makeToken(t *testing.T, st *datastore.Store, ca *pki.CA, ttl time.Duration) Token {
	t.Helper()
	tok, err := NewToken(ca.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.PutJoinToken(ctx, datastore.JoinToken{ID: tok.ID, SecretHash: tok.SecretHash(), Created: time.Now(), Expires: time.Now().Add(ttl)}); err != nil {
		t.Fatal(err)
	}
	return tok
}

// join runs a host's join: writes its PKI, and starts and promotes its
// member when it is made one.
func (h *host) join(t *testing.T, addr string, tok Token) *JoinResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := Join(ctx, addr, tok, JoinRequest{Name: h.name, Address: "127.0.0.1", PeerPort: h.peerPort, ClientPort: h.clientPort})
	if err != nil {
		t.Fatalf("%s joins: %v", h.name, err)
	}
	if err := pki.WriteCA(pki.Dir(h.dir), resp.CACert, resp.CAKey); err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteNodeCert(pki.Dir(h.dir), resp.Cert, resp.Key); err != nil {
		t.Fatal(err)
	}
	if resp.Role != RoleMember {
		return resp
	}
	h.start(t, resp.InitialCluster)
	st := h.store(t, resp.Endpoints...)
	for {
		err := st.PromoteMember(ctx, resp.MemberID)
		if err == nil {
			return resp
		}
		if ctx.Err() != nil {
			t.Fatalf("promote %s: %v", h.name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Three hosts make three voters; the fourth joins as a client; with one
// voter stopped the cluster still takes writes; remove-member drops it.
func TestJoinGrowsToVotersThenClients(t *testing.T) {
	h1, st1, addr, ca := firstHost(t)
	tok := makeToken(t, st1, ca, time.Hour)
	h2, h3, h4 := newHost(t, "host2"), newHost(t, "host3"), newHost(t, "host4")
	for _, h := range []*host{h2, h3} {
		if r := h.join(t, addr, tok); r.Role != RoleMember {
			t.Fatalf("%s joined as %s, want member", h.name, r.Role)
		}
	}
	r4 := h4.join(t, addr, tok)
	if r4.Role != RoleClient || len(r4.Endpoints) != 3 || r4.CAKey != nil {
		t.Fatalf("host4: role %s, endpoints %v, CA key given %v; want a client of 3 members without the CA key", r4.Role, r4.Endpoints, r4.CAKey != nil)
	}
	client := h4.store(t, r4.Endpoints...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := client.ClusterStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leaders := 0
	for _, m := range cs.Members {
		if !m.Healthy || m.Learner || m.DBSize == 0 || m.RaftIndex == 0 {
			t.Errorf("member %+v: want a healthy voter with a database and a raft index", m)
		}
		if m.Leader {
			leaders++
		}
	}
	if len(cs.Members) != 3 || leaders != 1 {
		t.Fatalf("cluster status %+v: want 3 members, one leader", cs)
	}
	h2.member.Close() // one of three voters dies: quorum holds
	if err := client.PutJoinToken(ctx, datastore.JoinToken{ID: "aaaaaaaaaaaa", SecretHash: "x", Expires: time.Now().Add(time.Minute)}); err != nil {
		t.Fatalf("write with one voter dead: %v", err)
	}
	if _, err := st1.RemoveMember(ctx, "host2"); err != nil {
		t.Fatal(err)
	}
	ms, err := st1.Members(ctx)
	if err != nil || len(ms) != 2 { // host1, host3
		t.Fatalf("members after removing host2: %v %v", ms, err)
	}
	_ = h1
}

// A revoked, expired, mistyped or foreign token is refused with a clear
// error, and nothing is added to the cluster.
func TestJoinRefusesBadTokens(t *testing.T) {
	_, st, addr, ca := firstHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	revoked := makeToken(t, st, ca, time.Hour)
	if err := st.RevokeJoinToken(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	expired := makeToken(t, st, ca, 1100*time.Millisecond)
	time.Sleep(1200 * time.Millisecond)
	good := makeToken(t, st, ca, time.Hour)
	wrongSecret := good
	wrongSecret.Secret = strings.Repeat("0", 32)
	foreign := good
	foreign.CAFingerprint = strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name string
		tok  Token
		want string
	}{
		{"revoked", revoked, "unknown, revoked or expired"},
		{"expired", expired, "unknown, revoked or expired"},
		{"wrong secret", wrongSecret, "unknown, revoked or expired"},
		{"another cluster's CA", foreign, "the token is for another cluster"},
	} {
		h := newHost(t, "newhost")
		_, err := Join(ctx, addr, tc.tok, JoinRequest{Name: h.name, Address: "127.0.0.1", PeerPort: h.peerPort, ClientPort: h.clientPort})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	ms, err := st.Members(ctx)
	if err != nil || len(ms) != 1 {
		t.Fatalf("members after refused joins: %v %v, want the first host alone", ms, err)
	}
	if _, err := Join(ctx, addr, good, JoinRequest{Name: "Bad_Name", Address: "127.0.0.1", PeerPort: 1, ClientPort: 2}); err == nil ||
		!strings.Contains(err.Error(), "not a valid node name") {
		t.Errorf("bad name: %v", err)
	}
}

// threeMembers starts host1 and joins host2 and host3 as members; st1 is
// host1's store.
func threeMembers(t *testing.T) (h1, h2, h3 *host, st1 *datastore.Store) {
	t.Helper()
	h1, st1, addr, ca := firstHost(t)
	tok := makeToken(t, st1, ca, time.Hour)
	h2, h3 = newHost(t, "host2"), newHost(t, "host3")
	for _, h := range []*host{h2, h3} {
		if r := h.join(t, addr, tok); r.Role != RoleMember {
			t.Fatalf("%s joined as %s, want member", h.name, r.Role)
		}
	}
	return h1, h2, h3, st1
}

// TestRemovedMemberKnowsIt: `calicoctl cluster remove-member` of a running
// member stops that member, which tells its host why (embedded.Lost) and
// where the remaining members are; a member closed normally tells nothing.
func TestRemovedMemberKnowsIt(t *testing.T) {
	h1, h2, h3, st1 := threeMembers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// etcd refuses a removal until every member has been active a while
	// ("unhealthy cluster") just after the joins.
	testenv.Eventually(t, 20*time.Second, 500*time.Millisecond, func() error {
		_, err := st1.RemoveMember(ctx, "host3")
		return err
	})
	select {
	case <-h3.member.Lost():
	case <-ctx.Done():
		t.Fatal("host3's member did not notice its removal within 30s")
	}
	others, err := h3.member.LostReason()
	if !errors.Is(err, embedded.ErrMemberRemoved) {
		t.Errorf("LostReason: %v, want ErrMemberRemoved", err)
	}
	for _, h := range []*host{h1, h2} {
		if !slices.Contains(others, h.member.Endpoints[0]) {
			t.Errorf("remaining members %v lack %s's %s", others, h.name, h.member.Endpoints[0])
		}
	}
	h2.member.Close()
	select {
	case <-h2.member.Lost():
		t.Error("a member closed normally reported itself lost")
	default:
	}
}

// TestMemberRemovedWhileDown: a member removed while its host was down
// learns it from the other members when it starts again, at once and
// with the fix, instead of waiting to be ready.
func TestMemberRemovedWhileDown(t *testing.T) {
	_, _, h3, st1 := threeMembers(t)
	h3.member.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	testenv.Eventually(t, 20*time.Second, 500*time.Millisecond, func() error {
		_, err := st1.RemoveMember(ctx, "host3")
		return err
	})
	s, err := embedded.Start(h3.config(""))
	if err == nil {
		s.Close()
		t.Fatal("a removed member started again")
	}
	if !errors.Is(err, embedded.ErrMemberRemoved) || !strings.Contains(err.Error(), "join again with a new token") {
		t.Errorf("start of a removed member: %v, want ErrMemberRemoved and the fix", err)
	}
}
