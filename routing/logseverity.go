package routing

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// Log levels of BGPConfiguration logSeverityScreen. "Debug" goes one step
// below slog's debug level so GoBGP's own debug messages (which the bgp
// package logs at slog.LevelDebug-4) show too; "Fatal" keeps only what is
// above errors.
var severityLevels = map[string]slog.Level{
	"Debug":   slog.LevelDebug - 4,
	"Info":    slog.LevelInfo,
	"Warning": slog.LevelWarn,
	"Error":   slog.LevelError,
	"Fatal":   slog.LevelError + 4,
}

// severityLevel maps a logSeverityScreen value to a slog level; false for
// "" (not set) and for values the datastore would have refused.
func severityLevel(s string) (slog.Level, bool) {
	l, ok := severityLevels[s]
	return l, ok
}

// levelFilter is a slog.Handler whose level can be changed while it runs:
// with a level set it decides alone what is logged (so "Debug" works even
// when the process logs at info); without one the wrapped handler decides.
// Handlers derived with WithAttrs/WithGroup share the level.
type levelFilter struct {
	inner slog.Handler
	level *atomic.Pointer[slog.Level] // nil pointee: not set
}

func newLevelFilter(inner slog.Handler) *levelFilter {
	return &levelFilter{inner: inner, level: &atomic.Pointer[slog.Level]{}}
}

// set overrides the level; nil gives the decision back to the wrapped
// handler.
func (f *levelFilter) set(l *slog.Level) { f.level.Store(l) }

func (f *levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	if lv := f.level.Load(); lv != nil {
		return l >= *lv
	}
	return f.inner.Enabled(ctx, l)
}

func (f *levelFilter) Handle(ctx context.Context, r slog.Record) error { return f.inner.Handle(ctx, r) }

func (f *levelFilter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &levelFilter{inner: f.inner.WithAttrs(attrs), level: f.level}
}

func (f *levelFilter) WithGroup(name string) slog.Handler {
	return &levelFilter{inner: f.inner.WithGroup(name), level: f.level}
}

// applyLogSeverity makes the BGPConfiguration logSeverityScreen that
// applies to this node (node.<name> over default) the level of routing's
// and GoBGP's logs; r.mu is held.
func (r *Router) applyLogSeverity() {
	sev := r.c.settingsFor(r.cfg.NodeName).logSeverity
	if sev == r.logSeverity {
		return
	}
	r.logSeverity = sev
	l, ok := severityLevel(sev)
	if !ok {
		r.logLevel.set(nil)
		r.log.Info("Routing log level follows the process's again", "logSeverityScreen", sev)
		return
	}
	r.logLevel.set(&l)
	r.log.Log(context.Background(), max(l, slog.LevelInfo), "Routing log level set from BGPConfiguration", "logSeverityScreen", sev)
}
