package backfill

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/control"
	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/changelog"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/internal/throttle"
	"github.com/doppel-sql/doppel/metrics"
	"github.com/doppel-sql/doppel/table"
)

// Config configures one backfill. Start from DefaultConfig.
type Config struct {
	// Conn reaches the primary, where the statement runs, or a replica of it: then the primary is
	// the one the replica replicates from, and the replica's lag throttles the backfill.
	Conn dbconn.Config
	// Database is the default database of the statement's session: its unqualified names are
	// there, and so is the checkpoint table.
	Database string
	// SQL is the statement: an UPDATE of one table or an INSERT … SELECT from one (Parse).
	SQL string
	// Execute runs the statement. Without it, Run checks everything, prints the plan and counts
	// the rows the statement would touch, and changes nothing.
	Execute bool
	// Resume continues the run of the same statement that stopped, after the last chunk it
	// committed; without a checkpoint it is refused.
	Resume bool
	// Continue is what a migration tool wants on its way up: resume a stopped run's checkpoint if
	// there is one, start when there is none, and do nothing when the checkpoint says the statement
	// ran to the end.
	Continue bool
	// CheckpointKey, when set, is part of the checkpoint's identity with the statement: the same
	// statement in two migrations (their versions as keys) has two checkpoints.
	CheckpointKey string
	// ChunkSize is the largest chunk, in rows of the key; it can be changed on the control socket.
	ChunkSize int64
	// ChunkTarget, when > 0, sizes chunks to take about this long each (starting at
	// min(ChunkSize, 1000) rows), as the copy's chunks are sized; 0: always ChunkSize rows.
	ChunkTarget time.Duration
	// Retries is how often a chunk is tried again after a deadlock, lock wait timeout or lost
	// connection.
	Retries int
	// ExactRowCount counts the table's rows (for progress) and, in a dry run, always counts the
	// rows the statement matches by chunks, however large the table.
	ExactRowCount bool
	// Throttle holds the throttle settings (--max-lag-millis, --max-load, …); Run fills in the
	// connections, the heartbeat table and the replicas.
	Throttle throttle.Config
	// SocketPath and TCPAddr serve gh-ost's interactive commands. An empty SocketPath is
	// SocketPathFor's, unless NoSocket.
	SocketPath, TCPAddr string
	NoSocket            bool
	// PanicFlagFile is gh-ost's --panic-flag-file: when it appears, the backfill stops as the panic
	// command stops it.
	PanicFlagFile string
	// StatusInterval is how often a status line is logged.
	StatusInterval time.Duration
	Metrics        *metrics.Backfill // nil: none
	Logger         *zap.Logger       // nil: no logs
	Out            io.Writer         // the plan and the dry run's count; nil: discarded

	checkOnly bool // Check: stop once everything is read and checked
}

// The bounds of the settings, as the migration's (gh-ost's for --chunk-size).
const (
	MinChunkSize, MaxChunkSize = 10, 100000
	MaxChunkTarget             = 10 * time.Second
	// startChunk is where adaptive sizing starts: small enough to be quick on wide rows.
	startChunk = 1000
	// exactCountLimit is the largest table (the server's estimate of its rows) a dry run counts by
	// chunks without --exact-rowcount; past it, it asks EXPLAIN.
	exactCountLimit = 10_000_000
)

// DefaultConfig returns the migration's defaults.
func DefaultConfig() Config {
	return Config{
		ChunkSize:      20000,
		ChunkTarget:    100 * time.Millisecond,
		Retries:        60,
		Throttle:       throttle.DefaultConfig(),
		StatusInterval: 30 * time.Second,
	}
}

// CheckpointTable is the table, in Config.Database, that holds the backfills' checkpoints and the
// heartbeat their lag is measured with (the changelog table's layout: one row per hint).
const CheckpointTable = "_doppel_backfill"

// Result is what a backfill did.
type Result struct {
	Statement *Statement
	// Key is the key the chunks follow (its index name).
	Key string
	// Rows is, after a dry run, the rows the statement would touch (Estimated says whether it is
	// EXPLAIN's estimate rather than a count); after a run, the rows its chunks' ranges held.
	Rows      int64
	Estimated bool
	// Affected is the rows the statement changed or inserted, as the server counts them.
	Affected int64
	Chunks   int64
	Resumed  bool
	// AlreadyDone: the checkpoint says a run of the statement finished; nothing ran.
	AlreadyDone bool
	Duration    time.Duration
}

// ErrPanic ends a backfill the operator stopped (the panic command): its checkpoint keeps every
// chunk committed, for --resume.
var ErrPanic = errors.New("stopped by the operator (panic)")

// backfill is one run.
type backfill struct {
	cfg     Config
	log     *zap.Logger
	out     io.Writer
	stmt    *Statement
	tbl     *table.Table
	key     *table.Key
	keyCols []sqlbuild.KeyCol
	qtable  string // the chunked table, qualified

	primary    *sql.DB
	primaryCfg dbconn.Config
	inspected  *dbconn.Config // the replica --host named, if it is one
	flavor     dbconn.Flavor
	ckpt       changelog.Table // the checkpoint table
	throttle   *throttle.Throttler

	chunkMax  atomic.Int64 // ChunkSize, changed by the socket
	chunkSize atomic.Int64 // the adaptive size
	start     time.Time
	estimated atomic.Int64
	scanned   atomic.Int64 // rows in the ranges done, the earlier runs' included
	affected  atomic.Int64
	chunks    atomic.Int64
	scanned0  int64     // scanned when this run started (resumed)
	started   time.Time // when the first run of the statement started
	done      atomic.Bool

	stop context.CancelCauseFunc // abort's
}

// Check reads the statement, the table and its key as Run does and refuses what Run would refuse,
// without counting or running anything: for a plan of several statements.
func Check(ctx context.Context, cfg Config) (*Result, error) {
	cfg.checkOnly = true
	return Run(ctx, cfg)
}

// Run runs the backfill, or with cfg.Execute false, checks it and counts the rows it would touch.
// Everything that can be refused (the statement, the table's key, the throttle settings, a
// checkpoint that does not fit) is refused before the first chunk runs.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	b := &backfill{cfg: cfg, log: cfg.Logger, out: cfg.Out, start: time.Now()}
	if b.log == nil {
		b.log = zap.NewNop()
	}
	if b.out == nil {
		b.out = io.Discard
	}
	b.chunkMax.Store(cfg.ChunkSize)
	b.chunkSize.Store(min(cfg.ChunkSize, startChunk))
	if cfg.ChunkTarget <= 0 {
		b.chunkSize.Store(cfg.ChunkSize)
	}
	if err := b.connect(ctx); err != nil {
		return nil, err
	}
	defer b.primary.Close()
	if err := b.prepare(ctx); err != nil {
		return nil, err
	}
	res := &Result{Statement: b.stmt, Key: b.key.Orig.Name}
	if cfg.checkOnly {
		return res, nil
	}
	b.printPlan()
	if !cfg.Execute {
		err := b.dryRun(ctx, res)
		res.Duration = time.Since(b.start)
		return res, err
	}
	err := b.execute(ctx, res)
	res.Duration = time.Since(b.start)
	res.Rows, res.Affected, res.Chunks = b.scanned.Load(), b.affected.Load(), b.chunks.Load()
	return res, err
}

func (c *Config) check() error {
	var errs []error
	if c.Database == "" {
		errs = append(errs, errors.New("--database is required: the statement's default database, where the checkpoint table is kept"))
	}
	if strings.TrimSpace(c.SQL) == "" {
		errs = append(errs, errors.New("--sql is required: the UPDATE or INSERT … SELECT to run in chunks"))
	}
	if c.ChunkSize < MinChunkSize || c.ChunkSize > MaxChunkSize {
		errs = append(errs, fmt.Errorf("--chunk-size %d is out of range: use %d to %d", c.ChunkSize, MinChunkSize, MaxChunkSize))
	}
	if c.ChunkTarget < 0 || c.ChunkTarget > MaxChunkTarget {
		errs = append(errs, fmt.Errorf("--chunk-target-ms %d is out of range: use 0 to %d", c.ChunkTarget.Milliseconds(), MaxChunkTarget.Milliseconds()))
	}
	if c.StatusInterval < time.Second {
		errs = append(errs, fmt.Errorf("--status-interval %s is too short: use at least 1s", c.StatusInterval))
	}
	if c.Retries < 1 {
		c.Retries = 1
	}
	return errors.Join(errs...)
}

// connect opens the primary: the server Conn names, or the primary of the replica it names.
func (b *backfill) connect(ctx context.Context) error {
	conn := b.cfg.Conn
	probe, err := dbconn.Open(conn, "")
	if err != nil {
		return err
	}
	defer probe.Close()
	if err := dbconn.Ping(ctx, probe, conn); err != nil {
		return err
	}
	if b.flavor, err = dbconn.DetectFlavor(ctx, probe); err != nil {
		return err
	}
	st, isReplica, err := dbconn.ReadReplicaStatus(ctx, probe, b.flavor)
	if err != nil {
		return fmt.Errorf("asking %s whether it is a replica (doppel needs REPLICATION CLIENT, or SLAVE MONITOR on MariaDB): %w", conn.Addr(), err)
	}
	b.primaryCfg = conn
	if isReplica {
		if st.SourceHost == "" {
			return fmt.Errorf("%s is a replica but does not say of which primary: point --host at the primary", conn.Addr())
		}
		b.primaryCfg, b.inspected = conn.WithHost(st.SourceHost, st.SourcePort), &conn
	}
	if b.primary, err = dbconn.Open(b.primaryCfg, b.cfg.Database); err != nil {
		return err
	}
	if err := dbconn.Ping(ctx, b.primary, b.primaryCfg); err != nil {
		b.primary.Close()
		if isReplica {
			return fmt.Errorf("connecting to the primary of %s: %w (point --host at the primary if it differs from what the replica reports)", conn.Addr(), err)
		}
		return err
	}
	return nil
}

// prepare reads the statement, the table and its key, and refuses what cannot be chunked.
func (b *backfill) prepare(ctx context.Context) error {
	srv, err := alter.ReadServer(ctx, b.primary)
	if err != nil {
		return err
	}
	if b.stmt, err = Parse(b.cfg.SQL, b.cfg.Database, srv); err != nil {
		return err
	}
	s := b.stmt
	b.qtable = sqlbuild.QualifiedName(s.Schema, s.Table)
	if b.tbl, err = table.Inspect(ctx, b.primary, s.Schema, s.Table); err != nil {
		return fmt.Errorf("reading the table the backfill is chunked along: %w", err)
	}
	if s.Kind == InsertSelect {
		ok, err := table.Exists(ctx, b.primary, s.TargetSchema, s.Target)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("the INSERT writes %s, which does not exist: create it first", sqlbuild.QualifiedName(s.TargetSchema, s.Target))
		}
	}
	if b.key, err = chooseKey(b.tbl); err != nil {
		return err
	}
	if err := s.CheckKey(b.key.Names()); err != nil {
		return err
	}
	b.keyCols = b.key.OrigCols()
	b.ckpt = changelog.New(b.cfg.Database, CheckpointTable)
	return nil
}

// chooseKey picks the key the chunks follow the way the copy picks its iteration key
// (table.ChooseKey, the table against itself), explained for a backfill when there is none.
func chooseKey(t *table.Table) (*table.Key, error) {
	key, err := table.ChooseKey(t, t, table.MapColumns(t, t, nil))
	var none *table.ErrNoSharedKey
	if errors.As(err, &none) {
		why := "it has no PRIMARY KEY or UNIQUE key"
		if len(none.Reasons) > 0 {
			why = "none of its unique keys qualifies: " + strings.Join(none.Reasons, "; ")
		}
		return nil, fmt.Errorf("doppel backfill needs a unique key on NOT NULL columns to chunk %s along, and %s. Add a PRIMARY KEY (or a UNIQUE key on NOT NULL columns) first, or run the statement natively", none.Table, why)
	}
	return key, err
}

// printPlan says what will run, before anything does.
func (b *backfill) printPlan() {
	s := b.stmt
	fmt.Fprintf(b.out, "backfill: %s %s in chunks along %s (%s)\n", s.Kind, b.qtable, keyLabel(b.key), sqlbuild.QuoteIdents(b.key.Names()))
	if s.Kind == InsertSelect {
		fmt.Fprintf(b.out, "backfill: inserting into %s\n", sqlbuild.QualifiedName(s.TargetSchema, s.Target))
	}
	size := fmt.Sprintf("%d rows", b.cfg.ChunkSize)
	if b.cfg.ChunkTarget > 0 {
		size = fmt.Sprintf("sized to take %s, at most %d rows", b.cfg.ChunkTarget, b.cfg.ChunkSize)
	}
	fmt.Fprintf(b.out, "backfill: each chunk is one transaction (%s), committed with its checkpoint in %s\n", size, b.ckpt.Qualified())
	fmt.Fprintf(b.out, "backfill: a chunk runs: %s\n", s.Chunk(b.rangeCond(false).SQL))
}

func keyLabel(k *table.Key) string {
	if k.Orig.IsPrimary() {
		return "the PRIMARY KEY"
	}
	return "unique key " + sqlbuild.QuoteIdent(k.Orig.Name)
}

// rangeCond is the chunk's key range: after lower (from it, for the first chunk) up to upper.
func (b *backfill) rangeCond(first bool) sqlbuild.Cond {
	c, _ := sqlbuild.And(sqlbuild.After(b.keyCols, first), sqlbuild.UpTo(b.keyCols, true))
	return c
}

// execute runs the chunks, with the throttler, the socket and the status line around them.
func (b *backfill) execute(ctx context.Context, res *Result) error {
	if err := b.ensureTable(ctx); err != nil {
		return err
	}
	unlock, err := b.lockStatement(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	after, resumed, done, err := b.startPoint(ctx)
	if err != nil {
		return err
	}
	res.Resumed = resumed
	if done {
		res.AlreadyDone = true
		fmt.Fprintf(b.out, "backfill: the checkpoint in %s says this statement was already run to the end: nothing to do\n", b.ckpt.Qualified())
		return nil
	}
	th, release, err := b.newThrottler(ctx)
	if err != nil {
		return err
	}
	defer release()
	b.throttle = th
	b.estimateRows(ctx)
	var srv *control.Server
	socket := b.cfg.SocketPath
	if socket == "" && !b.cfg.NoSocket {
		socket = SocketPathFor(b.stmt.Schema, b.stmt.Table)
	}
	if socket != "" || b.cfg.TCPAddr != "" {
		if srv, err = control.Listen(control.Config{
			SocketPath: socket, TCPAddr: b.cfg.TCPAddr, Table: b.stmt.Table,
			Handlers: b.handlers(), Logger: b.log,
		}); err != nil {
			return fmt.Errorf("cannot serve the control socket: %w", err)
		}
		defer func() { _ = srv.Close() }()
	}
	g, gctx := errgroup.WithContext(ctx)
	helpers, stopHelpers := context.WithCancel(gctx)
	defer stopHelpers()
	// The panic command stops the chunks between two of them: the one in flight commits.
	stopCtx, stop := context.WithCancelCause(gctx)
	defer stop(nil)
	b.stop = stop
	g.Go(func() error { return th.Run(helpers) })
	if srv != nil {
		g.Go(func() error { return srv.Serve(helpers) })
	}
	g.Go(func() error { b.observe(helpers); return nil })
	if b.cfg.PanicFlagFile != "" {
		g.Go(func() error { b.watchPanicFlag(helpers); return nil })
	}
	g.Go(func() error {
		defer stopHelpers()
		return b.chunkLoop(gctx, stopCtx, after)
	})
	err = g.Wait()
	if cause := context.Cause(stopCtx); errors.Is(cause, ErrPanic) {
		err = fmt.Errorf("%w (the checkpoint keeps every chunk committed: --resume continues)", cause)
	}
	if err != nil {
		return err
	}
	b.logStatus()
	return nil
}

// SocketPathFor is the default socket of a backfill of schema.table: the migration's default
// path with ".backfill" after the table's name, so a backfill and a migration of one table each
// have their own.
func SocketPathFor(schema, table string) string {
	return control.DefaultSocketPath(schema, table+".backfill")
}

// watchPanicFlag stops the backfill once --panic-flag-file exists.
func (b *backfill) watchPanicFlag(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(b.cfg.PanicFlagFile); err == nil {
			b.log.Warn("the panic flag file exists: stopping the backfill after the chunk in flight", zap.String("flag_file", b.cfg.PanicFlagFile))
			b.abort(fmt.Errorf("the panic flag file %s exists: %w", b.cfg.PanicFlagFile, ErrPanic))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// abort stops the chunks with err (the panic command) once the one in flight is committed.
func (b *backfill) abort(err error) { b.stop(err) }

// lockStatement takes a named lock (GET_LOCK) for the statement on the primary, held by a session
// of its own until unlock: two runs of one statement would write one checkpoint.
func (b *backfill) lockStatement(ctx context.Context) (unlock func(), err error) {
	conn, err := b.primary.Conn(ctx)
	if err != nil {
		return nil, err
	}
	name := "doppel_backfill." + b.id()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", name).Scan(&got); err != nil {
		conn.Close()
		return nil, fmt.Errorf("taking the lock %q of the backfill: %w", name, err)
	}
	if got.Int64 != 1 {
		conn.Close()
		return nil, fmt.Errorf("another doppel backfill of this statement is running (it holds the lock %q on %s): wait for it, or stop it with its socket's panic command", name, b.primaryCfg.Addr())
	}
	// Closing the session releases the lock, whatever state it is in.
	return func() { dbconn.Discard(conn) }, nil
}

// ensureTable creates the checkpoint table unless it exists.
func (b *backfill) ensureTable(ctx context.Context) error {
	ok, err := table.Exists(ctx, b.primary, b.cfg.Database, CheckpointTable)
	if err != nil || ok {
		return err
	}
	err = b.ckpt.Create(ctx, b.primary)
	if dbconn.ErrorNumber(err) == dbconn.ErrTableExists {
		return nil // another backfill created it meanwhile
	}
	return err
}

// newThrottler builds the throttler from the migration's settings: its heartbeat is written to the
// checkpoint table, and read back on the replica --host names, the --throttle-control-replicas
// and the replicas the primary lists (SHOW SLAVE HOSTS, for those that report their address).
func (b *backfill) newThrottler(ctx context.Context) (*throttle.Throttler, func(), error) {
	cfg := b.cfg.Throttle
	cfg.Primary, cfg.Changelog, cfg.Flavor = b.primary, b.ckpt, b.flavor
	cfg.Inspected, cfg.ReplicaConn = b.inspected, b.cfg.Conn
	found := b.foundReplicas(ctx)
	if len(found) > 0 {
		cfg.ControlReplicas = strings.Trim(cfg.ControlReplicas+","+strings.Join(found, ","), ",")
	}
	if b.inspected == nil && cfg.ControlReplicas == "" {
		b.log.Warn("no replica's lag is watched: --host is the primary, which lists no replica that reports its address; name them with --throttle-control-replicas")
	}
	queryDB, err := dbconn.Open(b.primaryCfg, b.cfg.Database)
	if err != nil {
		return nil, nil, err
	}
	queryDB.SetMaxOpenConns(1)
	cfg.QueryDB = queryDB
	cfg.Logger = b.log
	cfg.OnChange = func(throttled bool, kind, _ string) {
		if throttled {
			b.cfg.Metrics.SetThrottled(kind)
		} else {
			b.cfg.Metrics.SetNotThrottled()
		}
	}
	th, err := throttle.New(cfg)
	if err == nil {
		err = th.Preflight(ctx)
	}
	if err != nil {
		queryDB.Close()
		return nil, nil, err
	}
	return th, func() { queryDB.Close() }, nil
}

// foundReplicas lists the replicas the primary knows that report their address (report_host), as
// host:port. A primary that cannot say (a missing privilege) lists none: the others still count.
func (b *backfill) foundReplicas(ctx context.Context) []string {
	q := "SHOW SLAVE HOSTS"
	if b.flavor.Name() == "mysql" && b.flavor.Version().AtLeast(8, 0, 22) {
		q = "SHOW REPLICAS"
	}
	rows, err := b.primary.QueryContext(ctx, q)
	if err != nil {
		b.log.Info("cannot list the primary's replicas", zap.Error(err))
		return nil
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil
	}
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if rows.Scan(ptrs...) != nil {
			return nil
		}
		var host, port string
		for i, c := range cols {
			switch c {
			case "Host":
				host = vals[i].String
			case "Port":
				port = vals[i].String
			}
		}
		if host != "" && port != "" && port != "0" {
			out = append(out, host+":"+port)
		}
	}
	if rows.Err() != nil {
		return nil
	}
	if len(out) > 0 {
		b.log.Info("watching the lag of the replicas the primary lists", zap.Strings("replicas", out))
	}
	return out
}

// estimateRows records how many rows the chunks will go through: the server's estimate, or with
// ExactRowCount a count.
func (b *backfill) estimateRows(ctx context.Context) {
	var n int64
	if b.cfg.ExactRowCount {
		if err := b.primary.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+b.qtable).Scan(&n); err != nil {
			b.log.Warn("cannot count the table's rows; progress uses the server's estimate", zap.Error(err))
			n = 0
		}
	}
	if n == 0 {
		if size, err := table.SizeOf(ctx, b.primary, b.stmt.Schema, b.stmt.Table); err == nil {
			n = size.Rows
		}
	}
	b.estimated.Store(n)
	b.cfg.Metrics.SetRowsEstimated(n)
}
