package binlog

import (
	"context"
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
)

// goMySQLLogger routes go-mysql's *slog.Logger into zap under the name "binlog.go-mysql".
//
// go-mysql logs its connection life cycle at Info and Error: "rotate to next binlog" on every binlog
// file, the syncer's creation and closing, and the bare text of the I/O error of every dropped
// connection. Run already says what matters at the right level (the start at Info, every
// reconnection at Warn with the error that caused it), so go-mysql's Info becomes Debug, and so do
// the Warn/Error messages that only describe a reconnection Run is about to make. Other warnings and
// errors keep their level.
func goMySQLLogger(log *zap.Logger) *slog.Logger {
	// A stack trace of go-mysql's stream goroutine says nothing about the cause: leave it out.
	name := "go-mysql"
	if log.Name() != "" {
		name = log.Name() + "." + name
	}
	h := zapslog.NewHandler(log.Core(), zapslog.WithName(name), zapslog.AddStacktraceAt(slog.LevelError+1))
	return slog.New(demoteHandler{h})
}

// routine reports whether a go-mysql message logged above Info is part of a normal reconnection.
func routine(msg string) bool {
	switch msg {
	case "retry sync is disabled": // Warn on every dropped connection: Run reconnects itself
		return true
	case "kill connection": // Error when Close kills a dump thread that the server already ended
		return true
	}
	return false
}

// demoteHandler lowers the level of go-mysql's routine messages to Debug.
type demoteHandler struct{ inner slog.Handler }

// Enabled can ask about the original level: demotion only ever lowers it.
func (h demoteHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h demoteHandler) Handle(ctx context.Context, r slog.Record) error {
	switch {
	case r.Message == "create BinlogSyncer":
		// Its one attribute is the whole go-mysql configuration, TLS settings and client key
		// included: log the event without it.
		r = slog.NewRecord(r.Time, slog.LevelDebug, r.Message, r.PC)
	case r.Level <= slog.LevelInfo, routine(r.Message):
		r.Level = slog.LevelDebug
	case r.Level >= slog.LevelError && r.NumAttrs() == 0:
		// go-mysql logs a dropped connection as the bare error text, with no attributes. The same
		// error reaches Run through GetEvent, which logs it with the reconnection.
		r.Level = slog.LevelDebug
	}
	if !h.inner.Enabled(ctx, r.Level) {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h demoteHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return demoteHandler{h.inner.WithAttrs(attrs)}
}

func (h demoteHandler) WithGroup(name string) slog.Handler {
	return demoteHandler{h.inner.WithGroup(name)}
}
