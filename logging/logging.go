// Package logging builds the daemon's structured logger (log/slog): text or
// JSON records at a minimum level, written to stderr and/or to a file that
// is rotated by size, keeping a bounded number of files (by default 10
// files of 1 MB: the current one and 9 rotated ones, as Calico's
// distribution docs promise for /var/log/calico).
//
// Rotation is done by gopkg.in/natefinch/lumberjack.v2: when a write would
// take the file past the size limit, the file is renamed to
// <name>-<timestamp>.<ext> and a new one is started; rotated files beyond
// the limit are deleted, oldest first (in the background, so for a moment
// after a rotation one file more may exist). A record is never split
// across two files.
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Formats of log records.
const (
	FormatText = "text" // key=value pairs, as slog.TextHandler writes them
	FormatJSON = "json" // one JSON object per line
)

// Defaults of the rotation.
const (
	DefaultMaxSizeMB = 1
	DefaultMaxFiles  = 10
)

// Config says where and how to log. The zero value logs text at info
// level to nothing: set Stderr or File.
type Config struct {
	Level  slog.Level
	Format string // FormatText (default) or FormatJSON
	// Stderr also writes every record to standard error.
	Stderr bool
	// File is the path of the log file; empty means no file. Its directory
	// is created (mode 0755) when missing.
	File string
	// MaxSizeMB is the size at which the file is rotated (default 1).
	MaxSizeMB int
	// MaxFiles is the number of files kept, the current one included
	// (default 10; at least 2).
	MaxFiles int
}

// Logger is a configured logger and what it writes to.
type Logger struct {
	*slog.Logger
	// Level can be changed while the logger is in use.
	Level *slog.LevelVar
	file  *lumberjack.Logger
}

// New returns a logger for cfg. The log file, if any, is opened (and its
// directory created) now, so a path that cannot be written is an error
// here rather than lost records later. Close the Logger when done.
func New(cfg Config) (*Logger, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	var outs []io.Writer
	if cfg.Stderr {
		outs = append(outs, os.Stderr)
	}
	l := &Logger{Level: new(slog.LevelVar)}
	l.Level.Set(cfg.Level)
	if cfg.File != "" {
		l.file = newRotator(cfg)
		// A write of nothing opens (or creates) the file.
		if _, err := l.file.Write(nil); err != nil {
			return nil, fmt.Errorf("log file %s: %w (set log_file to a writable path, or to none)", cfg.File, err)
		}
		outs = append(outs, l.file)
	}
	l.Logger = slog.New(NewHandler(io.MultiWriter(outs...), cfg.Format, l.Level))
	return l, nil
}

// NewHandler returns a slog handler writing records in format to w.
func NewHandler(w io.Writer, format string, level slog.Leveler) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	if format == FormatJSON {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// Close closes the log file. Records logged afterwards reopen it.
func (l *Logger) Close() error {
	if l.file == nil {
		return nil
	}
	return l.file.Close()
}

func (c *Config) check() error {
	if c.Format == "" {
		c.Format = FormatText
	}
	if c.MaxSizeMB == 0 {
		c.MaxSizeMB = DefaultMaxSizeMB
	}
	if c.MaxFiles == 0 {
		c.MaxFiles = DefaultMaxFiles
	}
	var errs []error
	if c.Format != FormatText && c.Format != FormatJSON {
		errs = append(errs, fmt.Errorf("log format %q: use %s or %s", c.Format, FormatText, FormatJSON))
	}
	if c.MaxSizeMB < 1 {
		errs = append(errs, fmt.Errorf("log file size %d MB: use at least 1", c.MaxSizeMB))
	}
	// lumberjack reads MaxBackups 0 as "keep every file": one file alone
	// cannot be expressed, so at least the current one and one rotated.
	if c.MaxFiles < 2 {
		errs = append(errs, fmt.Errorf("log files %d: keep at least 2 (the current file and one rotated)", c.MaxFiles))
	}
	if c.File != "" && !filepath.IsAbs(c.File) {
		errs = append(errs, fmt.Errorf("log file %q: use an absolute path", c.File))
	}
	if c.File != "" && strings.HasSuffix(c.File, "/") {
		errs = append(errs, fmt.Errorf("log file %q is a directory: name a file in it", c.File))
	}
	return errors.Join(errs...)
}

func newRotator(cfg Config) *lumberjack.Logger {
	return &lumberjack.Logger{
		Filename:   cfg.File,
		MaxSize:    cfg.MaxSizeMB,
		MaxBackups: cfg.MaxFiles - 1,
		LocalTime:  false, // rotated names carry UTC timestamps
	}
}
