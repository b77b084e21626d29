package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/storage/mvcc"
)

// Maintenance keeps the database small for years: etcd compacts history
// older than CompactionRetention by itself (periodic auto-compaction); a
// loop every CheckInterval defragments when at least DefragMinFree bytes
// and half the file are free, and recovers from the NOSPACE alarm (the
// quota reached: every write fails) by compacting all history,
// defragmenting and disarming the alarm when the data then fits.
type Maintenance struct {
	CompactionRetention time.Duration // default 10m
	QuotaBytes          int64         // default 2 GiB (etcd's)
	CheckInterval       time.Duration // default 5m
	DefragMinFree       int64         // default 64 MiB
	Logger              *slog.Logger  // default slog.Default()
}

const defaultQuota = 2 << 30

func (m *Maintenance) defaults() {
	if m.CompactionRetention == 0 {
		m.CompactionRetention = 10 * time.Minute
	}
	if m.QuotaBytes == 0 {
		m.QuotaBytes = defaultQuota
	}
	if m.CheckInterval == 0 {
		m.CheckInterval = 5 * time.Minute
	}
	if m.DefragMinFree == 0 {
		m.DefragMinFree = 64 << 20
	}
	if m.Logger == nil {
		m.Logger = slog.Default()
	}
}

func (m *Maintenance) apply(ec *embed.Config) {
	ec.AutoCompactionMode = "periodic"
	ec.AutoCompactionRetention = m.CompactionRetention.String()
	ec.QuotaBackendBytes = m.QuotaBytes
}

// maintain runs the maintenance loop until Close.
func (s *Server) maintain(m Maintenance) {
	defer close(s.done)
	t := time.NewTicker(m.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if err := s.Maintain(m); err != nil {
			m.Logger.Warn("etcd maintenance", "err", err)
		}
	}
}

// Health is what the member knows of its own database.
type Health struct {
	Revision    int64
	DBSize      int64 // bytes of the file
	DBSizeInUse int64 // bytes holding data; the rest is free pages a defrag returns
	NoSpace     bool  // the NOSPACE alarm is raised: writes fail
}

// Health reports the member's database size and alarm.
func (s *Server) Health() Health {
	be := s.etcd.Server.Backend()
	h := Health{Revision: s.etcd.Server.KV().Rev(), DBSize: be.Size(), DBSizeInUse: be.SizeInUse()}
	for _, a := range s.etcd.Server.Alarms() {
		h.NoSpace = h.NoSpace || a.Alarm == pb.AlarmType_NOSPACE
	}
	return h
}

// Maintain runs one maintenance round now: recover from NOSPACE, or
// defragment when it pays.
func (s *Server) Maintain(m Maintenance) error {
	m.defaults()
	h := s.Health()
	if h.NoSpace {
		return s.recoverNoSpace(m, h)
	}
	free := h.DBSize - h.DBSizeInUse
	if free < m.DefragMinFree || free < h.DBSize/2 {
		return nil
	}
	if err := s.etcd.Server.Backend().Defrag(); err != nil {
		return fmt.Errorf("defragment etcd (%d of %d bytes free): %w", free, h.DBSize, err)
	}
	m.Logger.Info("Defragmented etcd", "before", h.DBSize, "after", s.etcd.Server.Backend().Size())
	return nil
}

// recoverNoSpace compacts all history, defragments and disarms the alarm
// when the data then takes less than 80% of the quota.
func (s *Server) recoverNoSpace(m Maintenance, h Health) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := s.etcd.Server.Compact(ctx, &pb.CompactionRequest{Revision: h.Revision, Physical: true})
	if err != nil && !isCompacted(err) {
		return fmt.Errorf("NOSPACE recovery: compact etcd to revision %d: %w", h.Revision, err)
	}
	if err := s.etcd.Server.Backend().Defrag(); err != nil {
		return fmt.Errorf("NOSPACE recovery: defragment etcd: %w", err)
	}
	size := s.etcd.Server.Backend().Size()
	if size >= m.QuotaBytes/5*4 {
		m.Logger.Error("etcd is full of live data: the NOSPACE alarm stays; delete data or raise etcd_quota_bytes",
			"dbSize", size, "quota", m.QuotaBytes)
		return nil
	}
	_, err = s.etcd.Server.Alarm(ctx, &pb.AlarmRequest{
		Action: pb.AlarmRequest_DEACTIVATE, MemberID: uint64(s.etcd.Server.MemberID()), Alarm: pb.AlarmType_NOSPACE,
	})
	if err != nil {
		return fmt.Errorf("NOSPACE recovery: disarm the alarm: %w", err)
	}
	m.Logger.Warn("Recovered etcd from NOSPACE: compacted all history and defragmented", "before", h.DBSize, "after", size)
	return nil
}

func isCompacted(err error) bool { return errors.Is(err, mvcc.ErrCompacted) }
