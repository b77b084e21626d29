package bgp

import (
	"io"
	"log/slog"
	"testing"

	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
)

func TestLogAdapterLevel(t *testing.T) {
	tests := []struct {
		slog slog.Level
		want gobgplog.LogLevel
	}{
		{slog.LevelDebug - 4, gobgplog.DebugLevel},
		{slog.LevelDebug, gobgplog.InfoLevel},
		{slog.LevelInfo, gobgplog.WarnLevel},
		{slog.LevelWarn, gobgplog.WarnLevel},
		{slog.LevelError, gobgplog.ErrorLevel},
		{slog.LevelError + 4, gobgplog.FatalLevel},
	}
	for _, tt := range tests {
		l := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: tt.slog}))
		if got := newLogAdapter(l).GetLevel(); got != tt.want {
			t.Errorf("slog level %v: GoBGP level %v, want %v", tt.slog, got, tt.want)
		}
	}
}
