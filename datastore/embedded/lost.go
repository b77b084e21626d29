package embedded

import (
	"errors"
	"fmt"
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
// the cluster had left, as this member last knew them, and why it stopped
// (ErrMemberRemoved when the cluster removed it).
func (s *Server) LostReason() (others []string, err error) { return s.others, s.lostErr }

// watchLost waits for the member to stop and, unless Close stopped it,
// records why and closes lost.
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
	id := srv.MemberID()
	s.lostErr = fmt.Errorf("embedded etcd member %s stopped", id)
	if srv.IsIDRemoved(uint64(id)) {
		s.lostErr = fmt.Errorf("%w (member %s)", ErrMemberRemoved, id)
	}
	for _, m := range srv.Cluster().Members() {
		if m.ID != id {
			s.others = append(s.others, m.ClientURLs...)
		}
	}
	close(s.lost)
}
