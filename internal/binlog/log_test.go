package binlog

import (
	"errors"
	"log/slog"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestGoMySQLLogger(t *testing.T) {
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want zapcore.Level
	}{
		{"rotation is routine", func(l *slog.Logger) {
			l.Info("rotate to next binlog", slog.String("file", "binlog.000002"), slog.Uint64("position", 4))
		}, zap.DebugLevel},
		{"disabled retry is how Run wants it", func(l *slog.Logger) { l.Warn("retry sync is disabled") }, zap.DebugLevel},
		{"killing a dump thread that is gone", func(l *slog.Logger) {
			l.Error("kill connection", slog.Any("error", errors.New("ERROR 1094")), slog.Int64("id", 7))
		}, zap.DebugLevel},
		{"a dropped connection's bare error text", func(l *slog.Logger) { l.Error("connection was bad") }, zap.DebugLevel},
		{"a misconfigured flavor stays an error", func(l *slog.Logger) {
			l.Error("misconfigured flavor for server", slog.String("flavor", "mysql"))
		}, zap.ErrorLevel},
		{"other warnings stay warnings", func(l *slog.Logger) { l.Warn("could not set read deadline") }, zap.WarnLevel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zap.DebugLevel)
			tt.log(goMySQLLogger(zap.New(core).Named("binlog")))
			all := logs.All()
			if len(all) != 1 {
				t.Fatalf("want one entry, got %v", all)
			}
			if all[0].Level != tt.want {
				t.Errorf("level %s, want %s", all[0].Level, tt.want)
			}
			if all[0].LoggerName != "binlog.go-mysql" {
				t.Errorf("logger name %q, want binlog.go-mysql", all[0].LoggerName)
			}
		})
	}
}

// go-mysql logs its whole configuration when a syncer is created; the TLS client key must not reach
// a log.
func TestGoMySQLLoggerDropsTheConfiguration(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	type config struct{ Password, Key string }
	goMySQLLogger(zap.New(core)).Info("create BinlogSyncer", slog.Any("config", config{Key: "PRIVATE KEY"}))
	all := logs.All()
	if len(all) != 1 || all[0].Level != zap.DebugLevel || len(all[0].Context) != 0 {
		t.Fatalf("got %+v, want the message alone at debug", all)
	}
}

// At Info, go-mysql's demoted messages are dropped and its errors kept.
func TestGoMySQLLoggerAtInfo(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	l := goMySQLLogger(zap.New(core)).With(slog.String("conn", "x"))
	l.Info("rotate to next binlog")
	l.Debug("MariaDB dynamic LogPos calculation")
	l.Error("misconfigured flavor for server", slog.String("flavor", "mysql"))
	all := logs.All()
	if len(all) != 1 || all[0].Message != "misconfigured flavor for server" || all[0].ContextMap()["conn"] != "x" {
		t.Fatalf("got %v", all)
	}
}
