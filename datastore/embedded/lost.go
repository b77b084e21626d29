package embedded

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/calico-docker/calico-libnetwork/datastore/memberurl"
)

// A member stops by itself when the cluster removes it (`calicoctl
// cluster remove-member` of this host: etcd applies the removal and shuts
// the member down) or on a fatal error. The daemon learns it through Lost
// and goes on as a client of the other members.

// ErrMemberRemoved: the cluster removed this member.
var ErrMemberRemoved = errors.New("this host's etcd member was removed from the cluster")

// Lost is closed when the member stopped by itself, not through Close;
// LostReason then tells why.
func (s *Server) Lost() <-chan struct{} { return s.lost }

// LostReason, once Lost is closed, returns the client URLs of the members
// the cluster had left, as this member last knew them and as this host
// dials them, and why it stopped
// (ErrMemberRemoved when the cluster removed it).
func (s *Server) LostReason() (others []string, err error) { return s.others, s.lostErr }

// StoppedError is Start's error when the member stopped by itself before
// it was ready: Err says why (ErrMemberRemoved when the cluster had
// removed it while this host was down), Others are the other members'
// client URLs as it knew them.
type StoppedError struct {
	Others []string
	Dir    string // the member's data directory
	Err    error
}

func (e *StoppedError) Error() string {
	if errors.Is(e.Err, ErrMemberRemoved) {
		return fmt.Sprintf("%v while this host was down: move %s away and join again with a new token (calicoctl cluster token on a member)",
			e.Err, e.Dir)
	}
	return fmt.Sprintf("embedded etcd stopped while starting: %v", e.Err)
}

func (e *StoppedError) Unwrap() error { return e.Err }

// askTimeout bounds asking the other members whether they removed this one.
const askTimeout = 5 * time.Second

// watchLost waits for the member to stop and, unless Close stopped it,
// records why and closes lost.
//
// A member learns of its removal in one of two ways: it applies the
// removal itself (then its cluster records the ID as removed), or the
// other members, having applied it first, refuse its peer connections and
// it stops before it applied it. In the second way etcd keeps the reason
// to itself, so the other members are asked whether they still list it.
func (s *Server) watchLost() {
	srv := s.etcd.Server
	select {
	case <-srv.StopNotify():
	case <-s.stop:
		return
	}
	if s.closing.Load() {
		return
	}
	s.whyStopped()
	close(s.lost)
}

// whyStopped records, for a member that stopped by itself, the other
// members' client URLs and the reason.
func (s *Server) whyStopped() {
	srv := s.etcd.Server
	id := srv.MemberID()
	for _, m := range srv.Cluster().Members() {
		if m.ID != id {
			s.others = append(s.others, memberurl.Reachable(m.ClientURLs, m.PeerURLs)...)
		}
	}
	s.lostErr = fmt.Errorf("embedded etcd member %s stopped", id)
	if srv.IsIDRemoved(uint64(id)) || s.othersRemoved(uint64(id)) {
		s.lostErr = fmt.Errorf("%w (member %s)", ErrMemberRemoved, id)
	}
}

// othersRemoved tells whether the other members answer and no longer list
// the member id. Unreachable members tell nothing (false).
func (s *Server) othersRemoved(id uint64) bool {
	if len(s.others) == 0 {
		return false
	}
	var tlsCfg *tls.Config
	if !s.clientTLS.Empty() {
		c, err := s.clientTLS.ClientConfig()
		if err != nil {
			return false
		}
		tlsCfg = c
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: s.others, TLS: tlsCfg, DialTimeout: askTimeout, Logger: zap.NewNop()})
	if err != nil {
		return false
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
	defer cancel()
	resp, err := cli.MemberList(ctx)
	if err != nil {
		return false
	}
	return !slices.ContainsFunc(resp.Members, func(m *etcdserverpb.Member) bool { return m.ID == id })
}
