package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/go-sql-driver/mysql"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// flagHelp is what flag.Parse returns for -h/-help.
var flagHelp = flag.ErrHelp

// newLogger builds doppel's logger: readable console lines by default, JSON lines with
// --log-format=json; --quiet keeps warnings and errors only. The MySQL driver's own messages are routed through it at debug level.
func newLogger(w io.Writer, format string, debug, quiet bool) (*zap.Logger, error) {
	level := zapcore.InfoLevel
	switch {
	case debug:
		level = zapcore.DebugLevel
	case quiet:
		level = zapcore.WarnLevel
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	encCfg.EncodeDuration = zapcore.StringDurationEncoder
	var enc zapcore.Encoder
	switch format {
	case "console", "":
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	case "json":
		enc = zapcore.NewJSONEncoder(encCfg)
	default:
		return nil, fmt.Errorf("--log-format %q: use console or json", format)
	}
	logger := zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level))
	driverLog := logger.Named("mysql-driver").Sugar()
	_ = mysql.SetLogger(driverLogger{driverLog})
	return logger, nil
}

type driverLogger struct{ l *zap.SugaredLogger }

func (d driverLogger) Print(v ...any) { d.l.Debug(v...) }
