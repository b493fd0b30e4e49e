package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/backfill"
	"github.com/doppel-sql/doppel/internal/throttle"
	"github.com/doppel-sql/doppel/metrics"
	"github.com/doppel-sql/doppel/migration"
)

// runBackfill is `doppel backfill`: a data migration run in key-range chunks, throttled and
// resumable (docs/backfill.md). Without --execute it prints the plan and counts the rows the
// statement would touch. Exit codes: 0 done (or counted), 1 refused or failed, 2 a bad command line.
func runBackfill(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o := &options{}
	d := backfill.DefaultConfig()
	fs := flag.NewFlagSet("doppel backfill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addConnFlags(fs, o)
	fs.StringVar(&o.database, "database", "", "the statement's default database; the checkpoint table _doppel_backfill is kept there (required)")
	sqlText := fs.String("sql", "", `the statement: "UPDATE t SET … WHERE …" or "INSERT INTO other … SELECT … FROM t WHERE …" (required)`)
	fs.BoolVar(&o.execute, "execute", false, "run it; without it doppel prints the plan and counts the rows it would touch")
	fs.BoolVar(&o.resume, "resume", false, "continue a stopped run of the same statement after the last chunk it committed")
	fs.Int64Var(&o.chunkSize, "chunk-size", d.ChunkSize, "the largest chunk, in rows of the key (10-100000); chunks are sized to --chunk-target-ms up to it")
	fs.IntVar(&o.chunkTargetMillis, "chunk-target-ms", int(d.ChunkTarget/time.Millisecond), "size chunks to take about this long (0-10000; 0: always --chunk-size rows)")
	fs.IntVar(&o.defaultRetries, "default-retries", d.Retries, "attempts for a chunk that deadlocks, times out on a lock or loses its connection (1-10000)")
	fs.BoolVar(&o.exactRowCount, "exact-rowcount", false, "count the table's rows for the progress, and in a dry run always count the rows by chunks, however large the table")
	th := d.Throttle
	fs.IntVar(&o.maxLagMillis, "max-lag-millis", int(th.MaxLag/time.Millisecond), "replica lag above which doppel throttles (100-31536000000)")
	fs.IntVar(&o.heartbeatMillis, "heartbeat-interval-millis", int(th.HeartbeatInterval/time.Millisecond), "how often doppel writes and reads its heartbeat (10-1000)")
	fs.StringVar(&o.throttleControlReplicas, "throttle-control-replicas", "", "replicas whose lag throttles, besides a replica --host names and those the primary lists: host[:port],host[:port]")
	fs.StringVar(&o.maxLoad, "max-load", "", "throttle while a status variable on the primary is above its limit, e.g. Threads_running=25")
	fs.StringVar(&o.criticalLoad, "critical-load", "", "stop (or hibernate) when a status variable on the primary reaches its limit, e.g. Threads_running=100")
	fs.IntVar(&o.criticalLoadIntervalMillis, "critical-load-interval-millis", 0, "when > 0, check critical load again after this long before acting on it (0-3600000)")
	fs.IntVar(&o.criticalLoadHibernateSeconds, "critical-load-hibernate-seconds", 0, "when > 0, critical load pauses everything for this long instead of stopping (0-86400)")
	fs.StringVar(&o.throttleQuery, "throttle-query", "", "one SELECT run every second on the primary, in a read-only transaction; a result > 0 throttles")
	fs.StringVar(&o.throttleHTTP, "throttle-http", "", "URL checked with HEAD; any answer but 200 throttles")
	fs.IntVar(&o.throttleHTTPIntervalMillis, "throttle-http-interval-millis", int(th.HTTPInterval/time.Millisecond), "how often --throttle-http is checked (10-3600000)")
	fs.IntVar(&o.throttleHTTPTimeoutMillis, "throttle-http-timeout-millis", int(th.HTTPTimeout/time.Millisecond), "how long --throttle-http may take to answer (1-60000)")
	fs.BoolVar(&o.ignoreHTTPErrors, "ignore-http-errors", false, "a --throttle-http endpoint that cannot be reached does not throttle")
	fs.StringVar(&o.throttleFlagFile, "throttle-flag-file", "", "throttle while this file exists")
	fs.StringVar(&o.throttleAdditional, "throttle-additional-flag-file", th.AdditionalFlagFile, "throttle while this file exists too (shared with gh-ost and migrations)")
	fs.Float64Var(&o.niceRatio, "nice-ratio", 0, "rest after each chunk, as a multiple of its time (0-100)")
	fs.StringVar(&o.socketFile, "serve-socket-file", "", "Unix socket for interactive commands (default /tmp/doppel-<uid>/doppel.<database>.<table>.backfill.sock)")
	fs.IntVar(&o.tcpPort, "serve-tcp-port", 0, "also serve interactive commands on this port of 127.0.0.1 (1-65535; 0: no)")
	fs.StringVar(&o.panicFlagFile, "panic-flag-file", "", "when this file appears, stop after the chunk in flight (--resume continues)")
	fs.StringVar(&o.metricsAddress, "metrics-address", "", "serve Prometheus /metrics and /healthz on HOST:PORT while the backfill runs")
	fs.DurationVar(&o.statusInterval, "status-interval", d.StatusInterval, "how often progress is logged (1s-24h)")
	fs.StringVar(&o.logFormat, "log-format", "console", "console or json")
	fs.BoolVar(&o.debug, "debug", false, "log debug detail")
	fs.BoolVar(&o.quiet, "quiet", false, "log warnings and errors only")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "doppel backfill runs a data migration in key-range chunks, throttled and resumable.\n\n")
		fmt.Fprintf(fs.Output(), "Usage:\n  doppel backfill --host=H --user=U --database=D --sql=\"UPDATE t SET … WHERE …\" [--execute] [--resume]\n\nExit codes: 0 done (or counted), 1 refused or failed, 2 bad command line.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "doppel backfill: unexpected argument %q (flags take the form --name=value)\n", fs.Arg(0))
		return 2
	}
	cfg, err := o.backfillConfig(fs, d, *sqlText)
	if err != nil {
		fmt.Fprintln(stderr, "doppel backfill:", err)
		return 2
	}
	logger, err := newLogger(stderr, o.logFormat, o.debug, o.quiet)
	if err != nil {
		fmt.Fprintln(stderr, "doppel backfill:", err)
		return 2
	}
	defer func() { _ = logger.Sync() }()
	cfg.Logger, cfg.Out = logger, stdout
	if o.metricsAddress != "" {
		stop, err := serveBackfillMetrics(ctx, o.metricsAddress, &cfg)
		if err != nil {
			fmt.Fprintln(stderr, "doppel backfill:", err)
			return 1
		}
		defer stop()
	}
	res, err := backfill.Run(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w; every chunk committed stays, and --resume continues after it", err)
		}
		logger.Error("backfill failed", zap.Error(err))
		fmt.Fprintf(stderr, "doppel backfill: %v\n", err)
		return 1
	}
	if cfg.Execute && !res.AlreadyDone {
		fmt.Fprintf(stdout, "doppel backfill: done in %s: %d rows in %d chunks, %d affected.\n", res.Duration.Round(time.Millisecond), res.Rows, res.Chunks, res.Affected)
	}
	return 0
}

// backfillConfig turns the flags into a backfill.Config, every range checked at once, as the
// migration's flags are.
func (o *options) backfillConfig(fs *flag.FlagSet, c backfill.Config, sqlText string) (backfill.Config, error) {
	conn, err := o.connConfig(fs)
	if err != nil {
		return c, err
	}
	var rc rangeCheck
	ms := func(name string, n int, lo, hi, def time.Duration, note string) time.Duration {
		return rc.duration(name, int64(n), time.Millisecond, lo, hi, def, note)
	}
	c.Conn, c.Database, c.SQL = conn, o.database, sqlText
	c.Conn.Port = int(rc.whole("port", int64(conn.Port), 1, migration.MaxPort, 3306, ""))
	c.Execute, c.Resume, c.ExactRowCount = o.execute, o.resume, o.exactRowCount
	c.ChunkSize = rc.whole("chunk-size", o.chunkSize, backfill.MinChunkSize, backfill.MaxChunkSize, c.ChunkSize, "")
	c.ChunkTarget = ms("chunk-target-ms", o.chunkTargetMillis, 0, backfill.MaxChunkTarget, c.ChunkTarget, "0: always --chunk-size rows")
	c.Retries = int(rc.whole("default-retries", int64(o.defaultRetries), 1, migration.MaxDefaultRetries, int64(c.Retries), ""))
	if o.statusInterval < migration.MinStatusInterval || o.statusInterval > migration.MaxStatusInterval {
		rc.errs = append(rc.errs, fmt.Errorf("--status-interval %s is out of range: use %s to %s", o.statusInterval, migration.MinStatusInterval, migration.MaxStatusInterval))
	} else {
		c.StatusInterval = o.statusInterval
	}
	th := &c.Throttle
	th.MaxLag = ms("max-lag-millis", o.maxLagMillis, throttle.MinMaxLag, throttle.MaxMaxLag, th.MaxLag, "")
	th.HeartbeatInterval = ms("heartbeat-interval-millis", o.heartbeatMillis, throttle.MinHeartbeatInterval, throttle.MaxHeartbeatInterval, th.HeartbeatInterval, "")
	th.ControlReplicas = o.throttleControlReplicas
	th.MaxLoad, th.CriticalLoad = o.maxLoad, o.criticalLoad
	th.CriticalLoadInterval = ms("critical-load-interval-millis", o.criticalLoadIntervalMillis, 0, throttle.MaxCriticalLoadInterval, 0, "0: act at once")
	th.CriticalLoadHibernate = rc.duration("critical-load-hibernate-seconds", int64(o.criticalLoadHibernateSeconds), time.Second, 0, throttle.MaxCriticalLoadHibernate, 0, "0: stop instead")
	th.ThrottleQuery, th.ThrottleHTTP, th.IgnoreHTTPErrors = o.throttleQuery, o.throttleHTTP, o.ignoreHTTPErrors
	th.HTTPInterval = ms("throttle-http-interval-millis", o.throttleHTTPIntervalMillis, throttle.MinHTTPInterval, throttle.MaxHTTPInterval, th.HTTPInterval, "")
	th.HTTPTimeout = ms("throttle-http-timeout-millis", o.throttleHTTPTimeoutMillis, throttle.MinHTTPTimeout, throttle.MaxHTTPTimeout, th.HTTPTimeout, "")
	th.FlagFile, th.AdditionalFlagFile = o.throttleFlagFile, o.throttleAdditional
	if o.niceRatio >= 0 && o.niceRatio <= throttle.MaxNiceRatio { // NaN fails both
		th.NiceRatio = o.niceRatio
	} else {
		rc.errs = append(rc.errs, fmt.Errorf("--nice-ratio %v is out of range: use 0 to %v", o.niceRatio, throttle.MaxNiceRatio))
	}
	c.SocketPath, c.PanicFlagFile = o.socketFile, o.panicFlagFile
	if port := rc.whole("serve-tcp-port", int64(o.tcpPort), 0, migration.MaxPort, 0, "0: none"); port > 0 {
		c.TCPAddr = fmt.Sprintf("127.0.0.1:%d", port)
	}
	if c.Database == "" || c.SQL == "" {
		rc.errs = append(rc.errs, errors.New("--database and --sql are required"))
	}
	if err := th.Check(); err != nil {
		rc.errs = append(rc.errs, err)
	}
	return c, errors.Join(rc.errs...)
}

// serveBackfillMetrics serves /metrics with the backfill's collectors while it runs, labelled with
// the table the statement names (read without the server: only the name is needed here).
func serveBackfillMetrics(ctx context.Context, addr string, cfg *backfill.Config) (stop func(), err error) {
	schema, name := cfg.Database, "unknown"
	if st, err := backfill.Parse(cfg.SQL, cfg.Database, &alter.Server{}); err == nil {
		schema, name = st.Schema, st.Table
	}
	reg := metrics.NewRegistry()
	m, err := metrics.NewBackfill(reg, schema, name)
	if err != nil {
		return nil, err
	}
	srv, err := metrics.Listen(addr, reg, func() error { return nil })
	if err != nil {
		return nil, fmt.Errorf("--metrics-address: %w", err)
	}
	cfg.Metrics = m
	return serveUntilStopped(ctx, srv, cfg.Logger), nil
}
