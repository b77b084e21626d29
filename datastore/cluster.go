package datastore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Cluster membership, join tokens and backups: what calicoctl cluster,
// calicoctl datastore and the join endpoint (package cluster) ask of etcd.
// Join tokens are leased keys (they vanish when they expire), so they are
// written here rather than through Commit.

// JoinTokenPrefix holds the join tokens by id: only a hash of each secret.
const JoinTokenPrefix = LibnetworkPrefix + "jointokens/"

// ClusterStatus asks every member for its status (see Cluster).
func (s *Store) ClusterStatus(ctx context.Context) (ClusterStatus, error) { return Cluster(ctx, s.cli) }

// Health is nil when etcd answers and raises no alarm (see Health).
func (s *Store) Health(ctx context.Context) error { return Health(ctx, s.cli) }

// Snapshot streams an etcd snapshot (the whole database) to w.
func (s *Store) Snapshot(ctx context.Context, w io.Writer) (int64, error) {
	rc, err := s.cli.Snapshot(ctx)
	if err != nil {
		return 0, fmt.Errorf("etcd snapshot: %w", err)
	}
	defer rc.Close()
	n, err := io.Copy(w, rc)
	if err != nil {
		return n, fmt.Errorf("etcd snapshot after %d bytes: %w", n, err)
	}
	return n, nil
}

// Member is one etcd member.
type Member struct {
	ID         uint64
	Name       string // empty while an added member has not started
	PeerURLs   []string
	ClientURLs []string
	Learner    bool
}

// Members lists the etcd members.
func (s *Store) Members(ctx context.Context) ([]Member, error) {
	resp, err := s.cli.MemberList(ctx)
	if err != nil {
		return nil, fmt.Errorf("list etcd members: %w", err)
	}
	out := make([]Member, 0, len(resp.Members))
	for _, m := range resp.Members {
		out = append(out, Member{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs, Learner: m.IsLearner})
	}
	return out, nil
}

// AddLearner adds a non-voting member at peerURL and returns its id and
// the members then. Right after a membership change etcd calls the
// cluster unhealthy for a few seconds; AddLearner waits that out (within ctx).
func (s *Store) AddLearner(ctx context.Context, peerURL string) (uint64, []Member, error) {
	resp, err := s.cli.MemberAddAsLearner(ctx, []string{peerURL})
	for errors.Is(err, rpctypes.ErrUnhealthy) {
		select {
		case <-ctx.Done():
			return 0, nil, fmt.Errorf("add etcd learner %s: %w (a member is down or just joined: retry in a minute)", peerURL, err)
		case <-time.After(500 * time.Millisecond):
		}
		resp, err = s.cli.MemberAddAsLearner(ctx, []string{peerURL})
	}
	if err != nil {
		return 0, nil, fmt.Errorf("add etcd learner %s: %w", peerURL, err)
	}
	ms, err := s.Members(ctx)
	return resp.Member.ID, ms, err
}

// PromoteMember makes a learner a voting member; etcd refuses until the
// learner has caught up with the leader.
func (s *Store) PromoteMember(ctx context.Context, id uint64) error {
	if _, err := s.cli.MemberPromote(ctx, id); err != nil {
		return fmt.Errorf("promote etcd member %x: %w", id, err)
	}
	return nil
}

// UpdatePeerURL changes where members reach member id.
func (s *Store) UpdatePeerURL(ctx context.Context, id uint64, peerURL string) error {
	if _, err := s.cli.MemberUpdate(ctx, id, []string{peerURL}); err != nil {
		return fmt.Errorf("set etcd member %x's peer URL to %s: %w", id, peerURL, err)
	}
	return nil
}

// RemoveMember removes the member named name (or with hex id name).
func (s *Store) RemoveMember(ctx context.Context, name string) (Member, error) {
	ms, err := s.Members(ctx)
	if err != nil {
		return Member{}, err
	}
	var names []string
	for _, m := range ms {
		if m.Name == name || strconv.FormatUint(m.ID, 16) == name {
			if len(ms) == 1 {
				return m, fmt.Errorf("member %s is the only one: a cluster cannot remove its last member", name)
			}
			if _, err := s.cli.MemberRemove(ctx, m.ID); err != nil {
				return m, fmt.Errorf("remove etcd member %s (%x): %w", name, m.ID, err)
			}
			return m, nil
		}
		names = append(names, fmt.Sprintf("%s (%x)", m.Name, m.ID))
	}
	return Member{}, fmt.Errorf("no etcd member is named %q: members are %s", name, strings.Join(names, ", "))
}

// JoinToken is a join token as stored: its secret only as a hash.
type JoinToken struct {
	ID         string    `json:"id"`
	SecretHash string    `json:"secretHash"` // hex sha256 of the secret
	Created    time.Time `json:"created"`
	Expires    time.Time `json:"expires"`
}

// ErrNoJoinToken says a token is unknown: never made, revoked or expired.
var ErrNoJoinToken = errors.New("join token unknown, revoked or expired")

// PutJoinToken stores t under a lease that ends at t.Expires.
func (s *Store) PutJoinToken(ctx context.Context, t JoinToken) error {
	ttl := int64(time.Until(t.Expires).Seconds())
	if ttl < 1 {
		return fmt.Errorf("join token %s: expiry %s is in the past", t.ID, t.Expires.Format(time.RFC3339))
	}
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode join token %s: %w", t.ID, err)
	}
	lease, err := s.cli.Grant(ctx, ttl)
	if err != nil {
		return fmt.Errorf("lease for join token %s: %w", t.ID, err)
	}
	if _, err := s.cli.Put(ctx, JoinTokenPrefix+t.ID, string(b), clientv3.WithLease(lease.ID)); err != nil {
		return fmt.Errorf("store join token %s: %w", t.ID, err)
	}
	return nil
}

// GetJoinToken reads token id; ErrNoJoinToken when it is not there or
// has expired.
func (s *Store) GetJoinToken(ctx context.Context, id string) (JoinToken, error) {
	resp, err := s.cli.Get(ctx, JoinTokenPrefix+id)
	if err != nil {
		return JoinToken{}, fmt.Errorf("read join token %s: %w", id, err)
	}
	if len(resp.Kvs) == 0 {
		return JoinToken{}, ErrNoJoinToken
	}
	var t JoinToken
	if err := json.Unmarshal(resp.Kvs[0].Value, &t); err != nil {
		return JoinToken{}, fmt.Errorf("join token %s is corrupt: %w", id, err)
	}
	if !time.Now().Before(t.Expires) {
		return JoinToken{}, ErrNoJoinToken
	}
	return t, nil
}

// ListJoinTokens lists the live join tokens.
func (s *Store) ListJoinTokens(ctx context.Context) ([]JoinToken, error) {
	resp, err := s.cli.Get(ctx, JoinTokenPrefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("list join tokens: %w", err)
	}
	var out []JoinToken
	for _, kv := range resp.Kvs {
		var t JoinToken
		if json.Unmarshal(kv.Value, &t) == nil && time.Now().Before(t.Expires) {
			out = append(out, t)
		}
	}
	return out, nil
}

// RevokeJoinToken deletes token id; ErrNoJoinToken when there is none.
func (s *Store) RevokeJoinToken(ctx context.Context, id string) error {
	resp, err := s.cli.Delete(ctx, JoinTokenPrefix+id)
	if err != nil {
		return fmt.Errorf("revoke join token %s: %w", id, err)
	}
	if resp.Deleted == 0 {
		return ErrNoJoinToken
	}
	return nil
}
