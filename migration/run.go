package migration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/control"
	"github.com/doppel-sql/doppel/hooks"
	"github.com/doppel-sql/doppel/internal/applier"
	"github.com/doppel-sql/doppel/internal/binlog"
	"github.com/doppel-sql/doppel/internal/changelog"
	"github.com/doppel-sql/doppel/internal/copier"
	"github.com/doppel-sql/doppel/internal/cutover"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/internal/throttle"
	"github.com/doppel-sql/doppel/internal/verify"
	"github.com/doppel-sql/doppel/table"
)

// Result is what a run did.
type Result struct {
	DryRun bool
	// Instant is true when the ALTER ran natively with ALGORITHM=INSTANT (--attempt-instant-ddl).
	Instant        bool
	RowsCopied     int64
	ChangesApplied int64
	// PeakLag is the largest replica lag the throttler measured during the run (sampled every
	// second): what the run cost the replicas, or with --test-on-replica the rehearsed replica.
	PeakLag time.Duration
	// RowsRecopied are replayed rows re-copied from the original because their parent row was gone
	// (the ghost's foreign key refused the logged image: the parent's cascade had reached the row).
	RowsRecopied int64
	Duration     time.Duration
	CutOver      cutover.Result
	// OldTable is the original table's new name when it was kept after the swap.
	OldTable string
	// Verified is what the checksum before the swap found; nil with --checksum=false.
	Verified *verify.Result
	// Phases are the phases the run went through, in order, with how long each took.
	Phases []PhaseTime
	// Rehearsal is set by --test-on-replica: the tables were swapped and swapped back.
	Rehearsal *Rehearsal
	// Reverted: this run (--revert, or the revert command in a window) swapped the old table back
	// in; CutOver is that swap's.
	Reverted bool
	// WindowEnded: a revert window ended without a revert (end-revert-window, or its time).
	WindowEnded bool
	// Window is what the revert window that followed the swap did (--revert-window).
	Window *Result
}

// Rehearsal is what a --test-on-replica run leaves: the original in place, the migrated table
// beside it, and replication stopped (unless --test-on-replica-skip-replica-stop) so the two can be
// compared at one point in time.
type Rehearsal struct {
	Migrated           string // the migrated table's name: the ghost's
	ReplicationStopped bool
}

// swappedError is a failure that came after the tables were swapped: the migration itself is done.
type swappedError struct{ error }

func (e *swappedError) Unwrap() error { return e.error }

// Swapped reports whether err came after the tables were swapped, so the original table is no
// longer the table in place.
func Swapped(err error) bool {
	var s *swappedError
	return errors.As(err, &s)
}

// Run validates the request and, with cfg.Execute, migrates the table. It returns an error unless
// the table was swapped (or, without Execute, could be). After an error, Swapped and Untouched
// tell what became of the original table, and the error says what doppel kept for --resume or
// dropped, and why.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Check(); err != nil {
		return nil, &refusal{msg: err.Error()}
	}
	hk, err := hooks.New(hooks.Config{Dir: cfg.HooksPath, Timeout: cfg.HooksTimeout, Logger: cfg.Logger})
	if err != nil {
		return nil, &refusal{msg: err.Error()}
	}
	res, err := newRun(&cfg, hk).finishRun(ctx)
	if err != nil || res.DryRun || res.Instant || cfg.RevertWindow == 0 || res.OldTable == "" {
		return res, err
	}
	// The revert window: the same process reverts from the swap's recorded position on.
	window, err := runRevertWindow(ctx, cfg, hk, res.OldTable)
	if err != nil {
		return nil, &swappedError{fmt.Errorf("the migration is done, but its revert window failed: %w", err)}
	}
	res.Window = window
	res.OldTable = window.OldTable
	return res, nil
}

// finishRun runs r and its success or failure hook.
func (r *run) finishRun(ctx context.Context) (*Result, error) {
	res, err := r.run(ctx)
	if err != nil {
		r.setState(StateFailed)
		_ = r.hook(context.WithoutCancel(ctx), hooks.OnFailure) // a failing on-failure hook is only logged
		return nil, err
	}
	if !res.DryRun {
		r.setState(StateDone)
		v := r.hookVars()
		v.InstantDDL = res.Instant
		_ = r.hookWith(ctx, hooks.OnSuccess, v) // a failing on-success hook is only logged
	}
	return res, nil
}

// run is one migration, from validation to clean-up: its phases (phases.go) and what they share.
type run struct {
	cfg   *Config
	hooks *hooks.Hooks
	state stateBox
	start time.Time
	abort context.CancelCauseFunc // ends the run with a reason (a panic from the socket or the flag file)

	// Found by the check phase.
	s         *servers
	p         *validated
	server    *alter.Server // the primary, as the ALTER and the binlog's statements are read for it
	changelog changelog.Table
	from      startAt // where each phase starts: the beginning, or a --resume's checkpoint

	// Made by the prepare phase.
	ghost    *table.Table
	created  []string  // tables this run created, dropped again if it fails before the swap
	deferred *deferral // secondary indexes added after the copy
	// deferPlanned and indexPlan: whether the check decided to defer the secondary indexes, and
	// what the plan says about it (defer.go).
	deferPlanned bool
	twoPhase     bool // the build is logged in two phases (defer.go)
	indexPlan    string
	// replayHeld, while set, holds the replay until it is closed: during a two-phase build.
	replayHeld atomic.Pointer[chan struct{}]

	pipeline
	tunables
	progress

	// The outcome.
	verified     *verify.Result // the checksum before the swap; nil when skipped
	checkpointed atomic.Bool    // a checkpoint of this run has been written
	swapped      atomic.Bool
	// window is set on the revert run of a --revert-window; record is a revert's: where the swap
	// was (revert.go).
	window *revertWindow
	record *revertRecord
	// replicationStopped: a rehearsal (--test-on-replica) stopped the replica's replication.
	// waitingRetryAt: a waiting cut-over's comparison failed to make a consistent point; not before then.
	waitingRetryAt     time.Time
	replicationStopped bool
	// group is set on a run swapped together with others (RunGroup): its swap is the group's.
	group      *groupSwap
	member     int // r's place in its group
	cutover    cutover.Result
	prepared   int         // handovers begun in the current cut-over attempt (handover.go)
	spoiled    atomic.Bool // the cut-over changed the ghost for good: it cannot be continued
	twinsStuck atomic.Bool // triggers are left on the ghost: nothing more may be replayed into it (triggers.go)
	phaseTimes []PhaseTime
	result     *Result
}

// pipeline is what runs from the prepare phase to the swap: the binlog stream, the apply loop, the
// copy, the throttler, the socket.
type pipeline struct {
	ctl           *control.Server // nil without --serve-socket-file and --serve-tcp-port
	closeThrottle func()
	throttle      *throttle.Throttler
	reader        *binlog.Reader
	txns          chan binlog.Txn
	applier       *applier.Applier
	applierDone   chan struct{} // closed when the apply loop has stopped
	copier        *copier.Copier
	workers       int // copy workers
	markers       *changelog.Markers
	ddl           *ddlWatch
	guard         *cutover.Guard
}

// tunables are the settings an operator changes on the socket while the run goes on.
type tunables struct {
	chunk       atomic.Int64
	dmlBatch    atomic.Int64
	postpone    atomic.Pointer[string] // the postpone flag file
	unpostponed atomic.Bool
}

// progress is what the status line, the metrics and the ETA are computed from.
type progress struct {
	copyStart atomic.Int64 // UnixNano when the row copy started
	rate      rateMeter    // the recent copy rate
	rows      atomic.Int64 // the original's rows: the server's estimate, or counted (--exact-rowcount)
	binlogLag atomic.Int64 // the apply loop's lag behind the primary, in ns, from heartbeats
	peakLag   atomic.Int64 // the largest replica lag sampled, in ns (Result.PeakLag)
}

func newRun(cfg *Config, hk *hooks.Hooks) *run {
	r := &run{cfg: cfg, hooks: hk, start: time.Now()}
	r.state.set(StateValidating)
	r.chunk.Store(cfg.ChunkSize)
	r.dmlBatch.Store(cfg.DMLBatchSize)
	r.postpone.Store(&cfg.PostponeCutOverFlagFile)
	return r
}

func (r *run) log() *zap.Logger { return r.cfg.Logger }

// run runs the phases; ended decides what a failure leaves.
func (r *run) run(ctx context.Context) (*Result, error) {
	ctx, r.abort = context.WithCancelCause(ctx)
	defer r.abort(nil)
	defer r.close()
	err := r.runAll(ctx)
	if err != nil && !errors.Is(err, errFinished) {
		return nil, r.ended(ctx, err)
	}
	if !errors.Is(err, errFinished) {
		r.result.Duration = time.Since(r.start) // a dry run or an instant ALTER says its own
	}
	r.result.Phases = r.phaseTimes
	return r.result, nil
}

// runAll runs the setup phases, the pipeline and the clean-up.
func (r *run) runAll(ctx context.Context) error {
	if err := r.runPhases(ctx, r.setupPhases()); err != nil {
		return err
	}
	if err := r.migrate(ctx); err != nil {
		return err
	}
	return r.runPhases(ctx, []phase{{state: StateCleaningUp, name: "clean up", do: r.cleanUp}})
}

// ended turns the error that ended the run into the one to report: a panic is the reason the run
// ended, not the cancellation it caused; failed decides what to keep.
func (r *run) ended(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, errPanic) {
		err = cause
	}
	return r.failed(ctx, err)
}

// close releases what the run holds: the servers' connections, the throttler's, the socket.
func (r *run) close() {
	if r.ctl != nil {
		_ = r.ctl.Close()
	}
	if r.closeThrottle != nil {
		r.closeThrottle()
	}
	if r.s != nil {
		r.s.close()
	}
}

// prepare binds the socket, drops allowed leftovers, creates the changelog and ghost tables, alters
// the ghost and checks it; a resumed run takes them back instead.
func (r *run) prepare(ctx context.Context) error {
	var err error
	// Before anything is created, so that a socket in use stops the run early.
	if r.ctl, err = r.listenControl(); err != nil {
		return err
	}
	if err := r.dropLeftovers(ctx); err != nil {
		return err
	}
	if r.cfg.Revert {
		return r.prepareRevert(ctx)
	}
	if r.from.resumed {
		return r.prepareResume(ctx)
	}
	if err := r.changelog.Create(ctx, r.s.primary); err != nil {
		return err
	}
	r.created = append(r.created, r.p.changelog)
	r.created = append(r.created, r.p.names.ghost)
	if err := r.createGhost(ctx); err != nil {
		return err
	}
	// The probe predicted the result; the real ghost decides.
	if err := checkGhost(ctx, r.cfg, r.s, r.p, r.ghost); err != nil {
		return err
	}
	if err := r.checkWindowAtStart(r.ghost); err != nil {
		return err
	}
	if err := r.tryTriggers(ctx); err != nil {
		return err
	}
	if err := r.deferIndexes(ctx); err != nil {
		return err
	}
	r.log().Info("ghost table ready", zap.String("ghost", r.p.names.ghost), zap.String("key", r.p.key.Orig.Name),
		zap.Int("columns_copied", len(r.p.mapping.Copied)))
	return nil
}

// dropLeftovers drops what an earlier run left and validation allowed dropping: tables named by an
// --initially-drop-* flag, and a cut-over sentry.
func (r *run) dropLeftovers(ctx context.Context) error {
	for _, name := range r.p.dropFirst {
		r.log().Info("dropping a table left by an earlier run", zap.String("table", name))
		if _, err := r.s.primary.ExecContext(ctx, "DROP TABLE IF EXISTS "+sqlbuild.QualifiedName(r.cfg.Database, name)); err != nil {
			return fmt.Errorf("dropping leftover table %s: %w", name, err)
		}
	}
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
	next, err := table.AutoIncrement(ctx, conn, r.cfg.Database, r.cfg.Table)
	if err != nil {
		return fmt.Errorf("reading the AUTO_INCREMENT counter of %s: %w", r.cfg.Table, err)
	}
	if next <= 1 {
		return nil
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s AUTO_INCREMENT = %d", ghost, next)); err != nil {
		return fmt.Errorf("carrying the AUTO_INCREMENT counter over to the ghost table: %w", err)
	}
	return nil
}

// migrate runs, in one errgroup, the binlog stream, the apply loop, the throttler, the control
// socket, the watchers and the pipeline's phases (copy … swap).
func (r *run) migrate(ctx context.Context) error {
	if err := r.build(ctx); err != nil {
		return err
	}
	pos, err := r.startPosition(ctx)
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	// The helpers run until the swap is done; then they are stopped on purpose and their
	// cancellation is not an error.
	helperCtx, stopHelpers := context.WithCancel(gctx)
	defer stopHelpers()
	var stopping atomic.Bool
	helper := func(f func(context.Context) error) {
		g.Go(func() error {
			if err := f(helperCtx); err != nil && !(stopping.Load() && errors.Is(err, context.Canceled)) {
				return err
			}
			return nil
		})
	}
	helper(func(ctx context.Context) error { return r.reader.Run(ctx, pos, r.txns) })
	helper(func(ctx context.Context) error { return r.checkpointLoop(ctx, pos) })
	r.applierDone = make(chan struct{})
	helper(func(ctx context.Context) error {
		defer close(r.applierDone)
		return r.applier.Run(ctx, r.txns)
	})
	helper(r.throttle.Run)
	helper(r.observe)
	if r.cfg.countAlongside() {
		helper(r.countAlongside)
	}
	helper(r.watchPanicFlag)
	if r.ctl != nil {
		helper(r.ctl.Serve)
	}
	g.Go(func() error {
		err := r.runPhases(gctx, r.pipelinePhases())
		stopping.Store(true)
		stopHelpers()
		return err
	})
	err = g.Wait()
	if r.ctl != nil {
		_ = r.ctl.Close()
	}
	if r.swapped.Load() && err != nil && !errors.Is(err, cutover.ErrSlipped) && !errors.Is(err, cutover.ErrNotConfirmed) {
		// The swap is done and complete; what failed afterwards was only bookkeeping.
		r.log().Warn("after the swap", zap.Error(err))
		return nil
	}
	return err
}

// copyWorkers is --copy-workers, or with 0 one worker per four CPUs of the server, between 1 and 8.
// MariaDB's thread_pool_size defaults to the server's CPU count; MySQL does not tell it: one worker.
func (r *run) copyWorkers(ctx context.Context) int {
	if r.cfg.CopyWorkers > 0 {
		return r.cfg.CopyWorkers
	}
	var cpus int
	if r.s.flavor.Name() == "mariadb" {
		if err := r.s.primary.QueryRowContext(ctx, "SELECT @@thread_pool_size").Scan(&cpus); err != nil {
			cpus = 0
		}
	}
	return max(1, min(8, cpus/4))
}

// build creates the workers of the run.
func (r *run) build(ctx context.Context) error {
	r.workers = r.copyWorkers(ctx)
	tlsCfg, err := r.s.inspectCfg.TLSClientConfig()
	if err != nil {
		return err
	}
	r.reader, err = binlog.NewReader(binlog.Config{
		Flavor: r.s.flavor.Name(), ServerID: r.cfg.ServerID,
		Host: r.s.inspectCfg.Host, Port: r.s.inspectCfg.Port, User: r.s.inspectCfg.User, Password: r.s.inspectCfg.Password, TLS: tlsCfg,
		Database: r.cfg.Database, Tables: []string{r.cfg.Table, r.p.changelog}, GTID: r.cfg.GTID,
		Logger: r.log(),
	})
	if err != nil {
		return err
	}
	// From here on /healthz reads the throttler and the reader: attached after both are set, and
	// neither is replaced, so its goroutine sees them whole.
	r.cfg.Health.attach(r.health)
	// A bounded channel between the reader and the apply loop: a slow or throttled replay makes the
	// reader wait at its position instead of holding an ever-growing backlog in memory.
	r.txns = make(chan binlog.Txn, 256)
	if r.markers == nil { // a revert's were made for its scan of the binlog: one sequence of tokens
		r.markers = changelog.NewMarkers(r.changelog, r.s.primary)
	}
	r.guard = cutover.NewGuard(r.cfg.Database, r.cfg.Table, r.p.names.ghost, r.p.old)
	r.ddl = &ddlWatch{schema: r.cfg.Database, table: r.cfg.Table, server: r.server, guard: r.guard, warn: func(msg string, err error) { r.log().Warn(msg, zap.Error(err)) }, ownTrigger: r.ownTrigger}
	r.applier, err = applier.New(applier.Config{
		DB: r.s.primary, Orig: r.p.orig, Ghost: r.ghost, Key: r.p.key, Mapping: r.p.mapping,
		BatchSize: &r.dmlBatch, Retries: r.cfg.DefaultRetries, PanicOnWarnings: r.cfg.PanicOnWarnings,
		OnOther: r.onChangelog, OnDDL: r.ddl.onDDL, Gate: applyGate{r}, OnFlush: r.cfg.Metrics.ObserveApplyBatch,
		Divert: r.divert,

		Logger: r.log(),
	})
	if err != nil {
		return err
	}
	parents, err := r.copyParents(ctx)
	if err != nil {
		return err
	}
	r.copier, err = copier.New(copier.Config{
		Parents: parents, After: r.from.after, PanicOnWarnings: r.cfg.PanicOnWarnings,
		DB: r.s.primary, Orig: r.p.orig, Ghost: r.ghost, Key: r.p.key, Mapping: r.p.mapping,
		ChunkSize: &r.chunk, TargetChunkTime: r.cfg.ChunkTarget, TargetScale: r.throttle.Pace, Workers: r.workers, Retries: r.cfg.DefaultRetries,
		Gate: r.throttle, AfterChunk: r.afterChunk, CatchUp: r.markers.CatchUp, Logger: r.log(),
		OnRetry: func(ctx context.Context, err error) {
			v := r.hookVars()
			v.LastCopyError = err.Error()
			_ = r.hookWith(ctx, hooks.OnBatchCopyRetry, v)
		},
	})
	return err
}

var _ copier.Gate = (*throttle.Throttler)(nil)

// afterChunk rests as --nice-ratio asks and records the chunk.
func (r *run) afterChunk(ctx context.Context, took time.Duration, rows int64) error {
	if r.cfg.Failpoint != nil {
		r.cfg.Failpoint("copy:chunk")
	}
	r.cfg.Metrics.ObserveChunk(took, rows)
	return r.throttle.Nice(ctx, took)
}

// checkCollisions refuses to go on while replayed rows are held back for colliding with other rows
// under a unique key the ALTER adds: the ghost lacks them, and swapping would lose them.
func (r *run) checkCollisions() error {
	c := r.applier.Collisions()
	if c == nil {
		return nil
	}
	return fmt.Errorf("%w: %d row(s) of %s written during the migration repeat values that another row holds under the unique key(s) %s of the altered table (one of them has the key %s = %s). A native ALTER would fail on these rows too. doppel does not swap: remove the duplicates, or stop the application from writing them, and run the migration again",
		table.ErrCollision, c.Rows, sqlbuild.QualifiedName(r.cfg.Database, r.cfg.Table), r.newUniqueKeys(), sqlbuild.QuoteIdents(r.p.key.Names()), table.FormatKey(c.Example))
}

// newUniqueKeys names the unique keys of the altered table that the original does not enforce.
func (r *run) newUniqueKeys() string {
	var keys []string
	for _, u := range r.p.unique {
		keys = append(keys, sqlbuild.QuoteIdent(u.Ghost.Name))
	}
	if len(keys) == 0 {
		return "(none new: the ALTER changes how an existing key compares)"
	}
	return strings.Join(keys, ", ")
}

// swapCatchUp is the cut-over's catch-up: the markers, then no row may be held back.
type swapCatchUp struct{ r *run }

func (s swapCatchUp) CatchUp(ctx context.Context) error {
	if err := s.r.markers.CatchUp(ctx); err != nil {
		return err
	}
	if err := s.r.checkCollisions(); err != nil {
		return fmt.Errorf("%w: %w", cutover.ErrAbort, err)
	}
	return nil
}

// verify compares the ghost with the original before the swap (--checksum): a chunk that differs is
// re-copied and compared again; one that still differs stops the migration before the cut-over.
func (r *run) verify(ctx context.Context) error {
	cfg := r.verifyConfig()
	cfg.OnProgress = r.cfg.Metrics.SetChecksumProgress
	// The comparison reads every row of both tables: it rests between chunks by the nice ratio and
	// the latency target's pace, as the copy does (not by replica lag: it writes nothing), and
	// under a latency target it reads with one session, not two, so that it takes the
	// application's commits no more room than the copy did.
	cfg.Rest = r.throttle.NiceRead
	if r.cfg.Throttle.MaxCommitLatency > 0 {
		cfg.Workers = 1
	}
	// The rows the replay changes from the checksum's point on are compared again before the swap.
	cfg.AtPoint = func() { r.applier.TakeTouched() }
	res, err := verify.Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("verifying the ghost table before the swap: %w", err)
	}
	r.verified = res
	return nil
}

func (r *run) verifyConfig() verify.Config {
	return verify.Config{
		DB: r.s.primary, Orig: r.p.orig, Ghost: r.ghost, Key: r.p.key, Mapping: r.p.mapping,
		// Reads only: two sessions keep two server threads busy even where the copy uses one.
		CatchUp: r.markers.CatchUp, Workers: max(2, r.workers), LockTimeout: r.cfg.CutOverLockTimeout,
		Retries: min(r.cfg.DefaultRetries, 5), Logger: r.log(),
	}
}

// underLockKeys is how many rows changed since the checksum the cut-over compares while it holds the
// original locked: a few milliseconds of queries. When more changed (a long postponed cut-over, a
// busy table), they are compared first at a consistent point of their own.
const underLockKeys = 2000

// waitingKeys is how many rows changed since the last comparison a waiting cut-over (postponed, for
// hours maybe) lets pile up before it compares them: their keys stay in memory until compared, and
// a cut-over that comes after a day would otherwise find a day's worth to compare first.
var waitingKeys = 20000

// verifyReplayedIfMany compares the rows the replay changed since the last comparison, at a
// consistent point of their own, once more than n are noted: memory stays flat while doppel waits.
// It is an optimisation, not a gate: while doppel is throttled (the replay is held, so no
// consistent point can be made) it waits, and when no consistent point can be made in time it
// tries again a minute later; the keys stay noted for the swap's own comparison. Only rows that
// differ stop the migration.
func (r *run) verifyReplayedIfMany(ctx context.Context, n int) error {
	if !r.cfg.Checksum || time.Now().Before(r.waitingRetryAt) {
		return nil
	}
	if count, overflow := r.applier.TouchedCount(); overflow || count <= n {
		return nil // an overflow is met at the swap by a whole verification
	}
	if throttled, _ := r.throttle.Check(); throttled {
		return nil
	}
	start := time.Now()
	var compared int
	take := func() [][]any {
		keys, _ := r.applier.TakeTouched()
		compared = len(keys)
		return keys
	}
	err := verify.RunKeys(ctx, r.verifyConfig(), take)
	var mismatch *verify.MismatchError
	switch {
	case errors.As(err, &mismatch):
		return fmt.Errorf("verifying the rows replayed while the cut-over waits: %w", err)
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		r.waitingRetryAt = time.Now().Add(time.Minute)
		r.log().Warn("could not compare the rows replayed while the cut-over waits; trying again in a minute (they are compared at the swap in any case)", zap.Error(err))
		return nil
	}
	r.log().Info("compared the rows replayed while the cut-over waits", zap.Int("rows", compared), zap.Duration("took", time.Since(start)))
	return nil
}

// verifyReplayed compares the rows the replay changed after the checksum's consistent point, at a
// new consistent point, until few enough are left for the cut-over to compare under its lock.
func (r *run) verifyReplayed(ctx context.Context) error {
	if !r.cfg.Checksum {
		return nil
	}
	for range 10 {
		n, overflow := r.applier.TouchedCount()
		if overflow {
			r.log().Info("too many rows changed since the checksum to keep track of them: verifying the whole table again")
			return r.verify(ctx)
		}
		if n <= underLockKeys {
			return nil
		}
		take := func() [][]any {
			keys, _ := r.applier.TakeTouched()
			return keys
		}
		if err := verify.RunKeys(ctx, r.verifyConfig(), take); err != nil {
			return fmt.Errorf("verifying the rows replayed since the checksum: %w", err)
		}
	}
	return nil
}

// prepareUnderLock readies the cut-over's locking session for verifyUnderLock.
func (r *run) prepareUnderLock(ctx context.Context, locker *sql.Conn) error {
	if !r.cfg.Checksum {
		return nil
	}
	return verify.Prepare(ctx, r.verifyConfig(), locker)
}

// verifyUnderLock is the cut-over's last check, while the original is locked and every change is in
// the ghost: the rows the replay changed since the last comparison are compared once more, the
// original's through the session that holds the lock.
func (r *run) verifyUnderLock(ctx context.Context, locked *sql.Conn) error {
	if !r.cfg.Checksum {
		return nil
	}
	keys, overflow := r.applier.Touched()
	if overflow {
		return errors.New("too many rows changed since the checksum to compare them under the lock")
	}
	err := verify.Keys(ctx, r.verifyConfig(), locked, r.s.primary, keys)
	var mismatch *verify.MismatchError
	if errors.As(err, &mismatch) {
		return fmt.Errorf("%w: %w", cutover.ErrAbort, err)
	}
	return err
}

// finish removes the changelog and, if asked, the old table, after the swap. Failures here
// no longer endanger data: they are reported, not returned.
func (r *run) finish(ctx context.Context, res *Result) {
	ctx = context.WithoutCancel(ctx)
	db, schema := r.s.primary, r.cfg.Database
	if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+sqlbuild.QualifiedName(schema, r.p.changelog)); err != nil {
		r.log().Warn("could not drop the changelog table; drop it by hand", zap.String("table", r.p.changelog), zap.Error(err))
	}
	if r.cfg.TestOnReplica {
		res.Rehearsal = &Rehearsal{Migrated: r.p.names.ghost, ReplicationStopped: r.replicationStopped}
		return
	}
	old := r.p.old
	if r.cutover.Old != "" {
		old = r.cutover.Old // the swap could not give it its old name
	}
	if r.cfg.OkToDropTable && r.cfg.RevertWindow == 0 {
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+sqlbuild.QualifiedName(schema, old)); err != nil {
			r.log().Warn("could not drop the old table; drop it by hand", zap.String("table", old), zap.Error(err))
		} else {
			return
		}
	}
	res.OldTable = old
}

// dropCreated removes the tables this run created, after a failure before the swap, and returns
// those it could not drop. The original table was never written to.
func (r *run) dropCreated() (left []string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range r.created {
		if _, err := r.s.primary.ExecContext(ctx, "DROP TABLE IF EXISTS "+sqlbuild.QualifiedName(r.cfg.Database, name)); err != nil {
			r.log().Error("could not drop a table doppel created; drop it by hand", zap.String("table", name), zap.Error(err))
			left = append(left, sqlbuild.QualifiedName(r.cfg.Database, name))
			continue
		}
		r.log().Info("dropped a table doppel created", zap.String("table", name))
	}
	return left
}

// setState moves to the next phase, for the logs, the metrics and the control socket.
func (r *run) setState(s State) {
	r.state.set(s)
	r.cfg.Metrics.SetState(s.String())
}
