package bgp

import (
	"context"
	"log/slog"
	"sort"

	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
)

// logAdapter sends GoBGP's logs to slog. GoBGP's info messages are chatty
// (every FSM step), so they are logged at debug level; warnings and
// errors keep their level; its debug messages go below slog's debug level.
// GoBGP's level is derived from what the slog handler enables, so a
// handler whose level changes at run time changes GoBGP's too.
type logAdapter struct {
	log *slog.Logger
}

func newLogAdapter(l *slog.Logger) *logAdapter {
	return &logAdapter{log: l.With("gobgp", true)}
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

// SetLevel is ignored: the slog handler decides (see GetLevel).
func (l *logAdapter) SetLevel(gobgplog.LogLevel) {}

// GetLevel is the most verbose GoBGP level the slog handler lets through.
func (l *logAdapter) GetLevel() gobgplog.LogLevel {
	ctx := context.Background()
	switch {
	case l.log.Enabled(ctx, slog.LevelDebug-4):
		return gobgplog.DebugLevel
	case l.log.Enabled(ctx, slog.LevelDebug):
		return gobgplog.InfoLevel
	case l.log.Enabled(ctx, slog.LevelWarn):
		return gobgplog.WarnLevel
	case l.log.Enabled(ctx, slog.LevelError):
		return gobgplog.ErrorLevel
	}
	return gobgplog.FatalLevel
}
