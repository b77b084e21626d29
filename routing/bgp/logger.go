package bgp

import (
	"context"
	"log/slog"
	"sort"

	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
)

// logAdapter sends GoBGP's logs to slog. GoBGP's info messages are chatty
// (every FSM step), so they are logged at debug level; warnings and
// errors keep their level.
type logAdapter struct {
	log   *slog.Logger
	level gobgplog.LogLevel
}

func newLogAdapter(l *slog.Logger) *logAdapter {
	return &logAdapter{log: l.With("gobgp", true), level: gobgplog.InfoLevel}
}

func (l *logAdapter) emit(level slog.Level, msg string, fields gobgplog.Fields) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, k, fields[k])
	}
	l.log.Log(context.Background(), level, msg, args...)
}

func (l *logAdapter) Panic(msg string, f gobgplog.Fields) {
	l.emit(slog.LevelError, msg, f)
	panic(msg)
}
func (l *logAdapter) Fatal(msg string, f gobgplog.Fields) { l.emit(slog.LevelError, msg, f) }
func (l *logAdapter) Error(msg string, f gobgplog.Fields) { l.emit(slog.LevelError, msg, f) }
func (l *logAdapter) Warn(msg string, f gobgplog.Fields)  { l.emit(slog.LevelWarn, msg, f) }
func (l *logAdapter) Info(msg string, f gobgplog.Fields)  { l.emit(slog.LevelDebug, msg, f) }
func (l *logAdapter) Debug(msg string, f gobgplog.Fields) { l.emit(slog.LevelDebug-4, msg, f) }

func (l *logAdapter) SetLevel(level gobgplog.LogLevel) { l.level = level }
func (l *logAdapter) GetLevel() gobgplog.LogLevel      { return l.level }
