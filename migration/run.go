package migration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/applier"
	"github.com/doppel-sql/doppel/binlog"
	"github.com/doppel-sql/doppel/copier"
	"github.com/doppel-sql/doppel/cutover"
	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/plan"
	"github.com/doppel-sql/doppel/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// Result is what a run did.
type Result struct {
	DryRun bool
	// Instant is true when the ALTER ran natively with ALGORITHM=INSTANT (--attempt-instant-ddl).
	Instant        bool
	RowsCopied     int64
	ChangesApplied int64
	Duration       time.Duration
	CutOver        cutover.Result
	// OldTable is the original table's new name when it was kept after the swap.
	OldTable string
}

// Run validates the request and, with cfg.Execute, migrates the table. It returns an error unless
// the table was swapped (or, without Execute, could be). On every error before the swap the
// original table is untouched and serving, and doppel has removed what it created.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, &refusal{msg: err.Error()}
	}
	a, err := alter.Parse(cfg.Alter, cfg.Table)
	if err != nil {
		return nil, &refusal{msg: err.Error()}
	}
	s, err := connect(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer s.close()
	p, err := validate(ctx, &cfg, s, a)
	if err != nil {
		return nil, err
	}
	for _, w := range p.warnings {
		cfg.Logger.Warn(w)
	}
	writePlan(cfg.Out, &cfg, s, p)
	if !cfg.Execute {
		writePreflight(ctx, &cfg, s, a)
		fmt.Fprintln(cfg.Out, "Nothing was changed. Run again with --execute to migrate.")
		return &Result{DryRun: true}, nil
	}
	if cfg.AttemptInstantDDL {
		if res, done := attemptInstant(ctx, &cfg, s, a); done {
			return res, nil
		}
	}
	r := &run{cfg: &cfg, s: s, p: p}
	return r.execute(ctx)
}

// writePreflight prints the pre-flight report (package plan) after the migration plan: what the
// server could do natively, the risks, the figures and the deployment order. Data loss is what the
// user asked for by giving the ALTER to doppel, so it makes the verdict "needs care", not "refused".
func writePreflight(ctx context.Context, cfg *Config, s *servers, a *alter.Alter) {
	report, err := plan.Build(ctx, s.inspect, s.flavor, cfg.Database, cfg.Table, a.Clause, plan.Options{AllowDataLoss: true})
	if err != nil {
		cfg.Logger.Warn("no pre-flight report", zap.Error(err))
		return
	}
	fmt.Fprintln(cfg.Out)
	if err := report.WriteText(cfg.Out); err != nil {
		cfg.Logger.Warn("writing the pre-flight report", zap.Error(err))
	}
	fmt.Fprintln(cfg.Out)
}

// attemptInstant runs the ALTER natively with ALGORITHM=INSTANT when the pre-flight rules say the
// server can (--attempt-instant-ddl). Naming the algorithm makes the server refuse rather than copy
// should a rule be wrong; then, or on any error, the migration goes on the usual way.
func attemptInstant(ctx context.Context, cfg *Config, s *servers, a *alter.Alter) (*Result, bool) {
	start := time.Now()
	report, err := plan.Build(ctx, s.inspect, s.flavor, cfg.Database, cfg.Table, a.Clause,
		plan.Options{AllowDataLoss: true, SkipDataChecks: true, SampleChunks: -1})
	if err != nil || !report.Instant() || report.Verdict == plan.VerdictRefused {
		cfg.Logger.Info("the ALTER cannot run instantly on this server; copying instead", zap.Error(err))
		return nil, false
	}
	stmt := "ALTER TABLE " + sqlbuild.QualifiedName(cfg.Database, cfg.Table) + " " + a.Clause + ", ALGORITHM=INSTANT"
	if _, err := s.primary.ExecContext(ctx, stmt); err != nil {
		cfg.Logger.Warn("the server refused the instant ALTER; copying instead", zap.Error(err))
		return nil, false
	}
	cfg.Logger.Info("altered natively with ALGORITHM=INSTANT", zap.Duration("took", time.Since(start)))
	return &Result{Instant: true, Duration: time.Since(start)}, true
}

// run is one executing migration.
type run struct {
	cfg   *Config
	s     *servers
	p     *validated
	state stateBox
	start time.Time

	ghost    *table.Table
	created  []string // tables this run created, dropped again if it fails before the swap
	swapped  atomic.Bool
	copier   *copier.Copier
	applier  *applier.Applier
	markers  *markers
	ddl      *ddlWatch
	cutover  cutover.Result
	chunk    atomic.Int64
	dmlBatch atomic.Int64
}

func (r *run) log() *zap.Logger { return r.cfg.Logger }

func (r *run) execute(ctx context.Context) (res *Result, err error) {
	r.start = time.Now()
	r.chunk.Store(r.cfg.ChunkSize)
	r.dmlBatch.Store(r.cfg.DMLBatchSize)
	defer func() {
		if err != nil {
			r.state.set(StateFailed)
			if !r.swapped.Load() {
				r.dropCreated()
			}
		}
	}()
	r.state.set(StatePreparing)
	if err := r.prepare(ctx); err != nil {
		return nil, err
	}
	if err := r.migrate(ctx); err != nil {
		return nil, err
	}
	r.state.set(StateCleaningUp)
	res = &Result{
		RowsCopied:     r.copier.RowsCopied(),
		ChangesApplied: r.applier.Applied(),
		Duration:       time.Since(r.start),
		CutOver:        r.cutover,
	}
	r.finish(ctx, res)
	r.state.set(StateDone)
	return res, nil
}

// prepare drops allowed leftovers, creates the changelog and ghost tables, alters the ghost and
// checks it.
func (r *run) prepare(ctx context.Context) error {
	db, schema := r.s.primary, r.cfg.Database
	for _, name := range r.p.dropFirst {
		r.log().Info("dropping a leftover table, as asked", zap.String("table", name))
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+sqlbuild.QualifiedName(schema, name)); err != nil {
			return fmt.Errorf("dropping leftover table %s: %w", name, err)
		}
	}
	changelog := sqlbuild.QualifiedName(schema, r.p.changelog)
	if _, err := db.ExecContext(ctx, fmt.Sprintf(changelogDDL, changelog)); err != nil {
		return fmt.Errorf("creating the changelog table %s: %w", changelog, err)
	}
	r.created = append(r.created, r.p.changelog)
	ghost := sqlbuild.QualifiedName(schema, r.p.names.ghost)
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+ghost+" LIKE "+sqlbuild.QualifiedName(schema, r.cfg.Table)); err != nil {
		return fmt.Errorf("creating the ghost table %s: %w", ghost, err)
	}
	r.created = append(r.created, r.p.names.ghost)
	if _, err := db.ExecContext(ctx, "ALTER TABLE "+ghost+" "+r.p.alter.Clause); err != nil {
		return refuse("the ALTER fails on the ghost table: %v. Nothing else was changed; fix --alter", err)
	}
	if err := r.carryAutoIncrement(ctx, ghost); err != nil {
		return err
	}
	var err error
	if r.ghost, err = table.Inspect(ctx, db, schema, r.p.names.ghost); err != nil {
		return err
	}
	// The probe predicted the result; the real ghost decides.
	if err := checkGhost(ctx, r.cfg, r.s, r.p, r.ghost); err != nil {
		return err
	}
	r.log().Info("ghost table ready", zap.String("ghost", r.p.names.ghost), zap.String("key", r.p.key.Orig.Name),
		zap.Int("columns copied", len(r.p.mapping.Copied)))
	return nil
}

// carryAutoIncrement gives the ghost the original's AUTO_INCREMENT counter, unless the ALTER sets
// one. Otherwise ids freed by deleting the last rows would be handed out again after the swap.
func (r *run) carryAutoIncrement(ctx context.Context, ghost string) error {
	if r.p.alter.SetsAutoIncrement {
		return nil
	}
	conn, err := r.s.primary.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if r.s.flavor.Name() == "mysql" && r.s.flavor.Version().AtLeast(8, 0, 0) {
		// MySQL 8 caches table statistics in information_schema; this session wants them fresh.
		if _, err := conn.ExecContext(ctx, "SET SESSION information_schema_stats_expiry = 0"); err != nil {
			return err
		}
	}
	var next sql.NullInt64
	err = conn.QueryRowContext(ctx, "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		r.cfg.Database, r.cfg.Table).Scan(&next)
	if err != nil {
		return fmt.Errorf("reading the AUTO_INCREMENT counter of %s: %w", r.cfg.Table, err)
	}
	if !next.Valid || next.Int64 <= 1 {
		return nil
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s AUTO_INCREMENT = %d", ghost, next.Int64)); err != nil {
		return fmt.Errorf("carrying the AUTO_INCREMENT counter over to the ghost table: %w", err)
	}
	return nil
}

// migrate runs the binlog stream, the apply loop and the copy, then the cut-over.
func (r *run) migrate(ctx context.Context) error {
	pos, err := dbconn.ReadBinlogStatus(ctx, r.s.inspect, r.s.flavor)
	if err != nil {
		return err
	}
	tlsCfg, err := r.s.inspectCfg.TLSClientConfig()
	if err != nil {
		return err
	}
	reader, err := binlog.NewReader(binlog.Config{
		Flavor: r.s.flavor.Name(), ServerID: r.cfg.ServerID,
		Host: r.s.inspectCfg.Host, Port: r.s.inspectCfg.Port, User: r.s.inspectCfg.User, Password: r.s.inspectCfg.Password, TLS: tlsCfg,
		Database: r.cfg.Database, Tables: []string{r.cfg.Table, r.p.changelog},
		Logger: r.log(),
	})
	if err != nil {
		return err
	}
	r.markers = newMarkers(r.s.primary, r.cfg.Database, r.p.changelog)
	r.ddl = &ddlWatch{schema: r.cfg.Database, table: r.cfg.Table, warn: func(msg string, err error) { r.log().Warn(msg, zap.Error(err)) }}
	r.applier, err = applier.New(applier.Config{
		DB: r.s.primary, Orig: r.p.orig, Ghost: r.ghost, Key: r.p.key, Mapping: r.p.mapping,
		BatchSize: &r.dmlBatch, Retries: r.cfg.DefaultRetries,
		OnOther: r.markers.onChange, OnDDL: r.ddl.onDDL, Logger: r.log(),
	})
	if err != nil {
		return err
	}
	r.copier, err = copier.New(copier.Config{
		DB: r.s.primary, Orig: r.p.orig, Ghost: r.ghost, Key: r.p.key, Mapping: r.p.mapping,
		ChunkSize: &r.chunk, Workers: r.cfg.CopyWorkers, Retries: r.cfg.DefaultRetries, Logger: r.log(),
	})
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	// The stream and the apply loop run until the swap is done; then they are stopped on purpose and
	// their cancellation is not an error.
	streamCtx, stopStream := context.WithCancel(gctx)
	defer stopStream()
	var stopping atomic.Bool
	stream := func(f func(context.Context) error) func() error {
		return func() error {
			if err := f(streamCtx); err != nil && !(stopping.Load() && errors.Is(err, context.Canceled)) {
				return err
			}
			return nil
		}
	}
	txns := make(chan binlog.Txn, 256)
	g.Go(stream(func(ctx context.Context) error {
		return reader.Run(ctx, binlog.Position{File: pos.File, Pos: uint32(pos.Pos)}, txns)
	}))
	g.Go(stream(func(ctx context.Context) error { return r.applier.Run(ctx, txns) }))
	g.Go(stream(r.reportProgress))
	g.Go(func() error {
		err := r.copyAndSwap(gctx)
		stopping.Store(true)
		stopStream()
		return err
	})
	return g.Wait()
}

func (r *run) copyAndSwap(ctx context.Context) error {
	r.state.set(StateCopying)
	r.log().Info("copying rows", zap.Int64("estimated rows", r.p.rows), zap.Int64("chunk size", r.chunk.Load()))
	if err := r.copier.Run(ctx); err != nil {
		return err
	}
	r.log().Info("row copy complete", zap.Int64("rows", r.copier.RowsCopied()), zap.Duration("elapsed", time.Since(r.start).Round(time.Millisecond)))
	r.state.set(StateCatchingUp)
	if err := r.markers.CatchUp(ctx); err != nil {
		return err
	}
	r.state.set(StateCuttingOver)
	res, err := cutover.Run(ctx, cutover.Config{
		DB: r.s.primary, Schema: r.cfg.Database, Table: r.cfg.Table, Ghost: r.p.names.ghost, Old: r.p.old,
		LockTimeout: r.cfg.CutOverLockTimeout, Attempts: r.cfg.DefaultRetries, CatchUp: r.markers,
		BeforeRename: func() { r.ddl.swapping.Store(true) }, Logger: r.log(),
	})
	if err != nil {
		return err
	}
	r.swapped.Store(true)
	r.cutover = res
	r.log().Info("cut-over complete", zap.Int("attempts", res.Attempts), zap.Duration("table blocked", res.Blocked))
	return nil
}

// finish removes the changelog and, if asked, the old table, after a successful swap. Failures here
// no longer endanger data: they are reported, not returned.
func (r *run) finish(ctx context.Context, res *Result) {
	ctx = context.WithoutCancel(ctx)
	db, schema := r.s.primary, r.cfg.Database
	if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+sqlbuild.QualifiedName(schema, r.p.changelog)); err != nil {
		r.log().Warn("could not drop the changelog table; drop it by hand", zap.String("table", r.p.changelog), zap.Error(err))
	}
	if r.cfg.OkToDropTable {
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+sqlbuild.QualifiedName(schema, r.p.old)); err != nil {
			r.log().Warn("could not drop the old table; drop it by hand", zap.String("table", r.p.old), zap.Error(err))
		} else {
			return
		}
	}
	res.OldTable = r.p.old
}

// dropCreated removes the tables this run created, after a failure before the swap. The original
// table was never written to.
func (r *run) dropCreated() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range r.created {
		if _, err := r.s.primary.ExecContext(ctx, "DROP TABLE IF EXISTS "+sqlbuild.QualifiedName(r.cfg.Database, name)); err != nil {
			r.log().Error("could not drop a table doppel created; drop it by hand", zap.String("table", name), zap.Error(err))
			continue
		}
		r.log().Info("dropped a table doppel created; the original table is untouched", zap.String("table", name))
	}
}
