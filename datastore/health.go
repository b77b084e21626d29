package datastore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/calico-docker/calico-libnetwork/datastore/memberurl"
)

// ErrNoSpace says etcd's database reached its quota: it takes no writes
// until it is compacted, defragmented and the alarm disarmed.
var ErrNoSpace = errors.New("etcd's database reached its quota (NOSPACE alarm) and refuses writes: " +
	"the embedded etcd recovers by itself within its check interval; for an external etcd run " +
	"`etcdctl compact`, `etcdctl defrag` and `etcdctl alarm disarm`, or raise --quota-backend-bytes")

// Health is nil when etcd answers a linearizable read and raises no alarm.
func Health(ctx context.Context, cli *clientv3.Client) error {
	if _, err := cli.Get(ctx, Prefix+"/ping"); err != nil {
		return fmt.Errorf("etcd %v does not answer: %w", cli.Endpoints(), err)
	}
	alarms, err := cli.AlarmList(ctx)
	if err != nil {
		return fmt.Errorf("etcd %v alarms: %w", cli.Endpoints(), err)
	}
	return alarmError(alarms.Alarms)
}

func alarmError(alarms []*pb.AlarmMember) error {
	var other []string
	for _, a := range alarms {
		switch a.Alarm {
		case pb.AlarmType_NOSPACE:
			return ErrNoSpace
		case pb.AlarmType_NONE:
		default:
			other = append(other, fmt.Sprintf("%s on member %x", a.Alarm, a.MemberID))
		}
	}
	if len(other) > 0 {
		return fmt.Errorf("etcd raises alarm(s) %s: see etcd's log", strings.Join(other, ", "))
	}
	return nil
}

// MemberStatus is one etcd member as the cluster and the member see it.
type MemberStatus struct {
	Name        string   `json:"name"`
	ID          string   `json:"id"`
	PeerURLs    []string `json:"peerURLs"`
	ClientURLs  []string `json:"clientURLs"`
	Learner     bool     `json:"learner,omitempty"`
	Healthy     bool     `json:"healthy"`
	Leader      bool     `json:"leader"`
	RaftIndex   uint64   `json:"raftIndex"`
	DBSize      int64    `json:"dbSize"`
	DBSizeInUse int64    `json:"dbSizeInUse"`
	Error       string   `json:"error,omitempty"`
}

// ClusterStatus is the etcd cluster: its members, each asked directly,
// and the alarms raised.
type ClusterStatus struct {
	Members []MemberStatus `json:"members"`
	Alarms  []string       `json:"alarms"`
	Error   string         `json:"error,omitempty"` // the NOSPACE or other alarm, as Health says it
}

// Cluster lists the members and asks each for its status.
func Cluster(ctx context.Context, cli *clientv3.Client) (ClusterStatus, error) {
	ml, err := cli.MemberList(ctx)
	if err != nil {
		return ClusterStatus{}, fmt.Errorf("list etcd members: %w", err)
	}
	st := ClusterStatus{Alarms: []string{}}
	for _, m := range ml.Members {
		ms := MemberStatus{Name: m.Name, ID: fmt.Sprintf("%x", m.ID), PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs, Learner: m.IsLearner}
		ms.Error = "not started"
		for _, u := range memberurl.Reachable(m.ClientURLs, m.PeerURLs) {
			s, err := cli.Status(ctx, u)
			if err != nil {
				ms.Error = err.Error()
				continue
			}
			ms.Healthy, ms.Error = len(s.Errors) == 0, strings.Join(s.Errors, "; ")
			ms.Leader, ms.RaftIndex = s.Leader == m.ID, s.RaftIndex
			ms.DBSize, ms.DBSizeInUse = s.DbSize, s.DbSizeInUse
			break
		}
		st.Members = append(st.Members, ms)
	}
	if alarms, err := cli.AlarmList(ctx); err == nil {
		for _, a := range alarms.Alarms {
			st.Alarms = append(st.Alarms, fmt.Sprintf("%s on member %x", a.Alarm, a.MemberID))
		}
		if err := alarmError(alarms.Alarms); err != nil {
			st.Error = err.Error()
		}
	}
	return st, nil
}
