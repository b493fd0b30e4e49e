package migration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/hooks"
	"github.com/doppel-sql/doppel/internal/changelog"
	"github.com/doppel-sql/doppel/internal/cutover"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// A migration is a list of phases, run in order by runPhases:
//
//	validating      check        read the ALTER as the server does, check the servers, the table, the rows
//	validating      instant      --attempt-instant-ddl: run it natively when the server can
//	preparing       prepare      create the changelog and ghost tables (or, resuming, take them back)
//	                             ── the pipeline starts: binlog stream, apply loop, throttler, socket, … ──
//	copying         copy         copy the rows in chunks (resuming: from the checkpoint's key on)
//	adding-indexes  indexes      build the secondary indexes left out of the copy
//	catching-up     catch up     replay what is left; no row may be held back for colliding
//	verifying       verify       compare the ghost with the original at a consistent point
//	postponed       postpone     wait while the cut-over is postponed
//	waiting-for-replicas         wait until the replicas are within --max-lag-millis
//	cutting-over    swap         compare the rows replayed since, swap the tables, check no write slipped
//	                             ── the pipeline stops ──
//	cleaning-up     clean up     drop the changelog (and the old table with --ok-to-drop-table)
//
// A resumed run is the same list: the checkpoint decides where each phase starts (prepare takes the
// tables back, copy starts after the checkpoint's key or is done, indexes builds what is missing,
// the stream starts at the checkpoint's position).
type phase struct {
	state State
	name  string
	do    func(ctx context.Context) error
	// skip, when set and true when the phase's turn comes, passes it by: its state is not shown.
	skip func() bool
}

// PhaseTime is how long one phase of a run took.
type PhaseTime struct {
	Phase    string
	Duration time.Duration
}

// errFinished ends the phases early, the run's result set: a dry run, an instant ALTER.
var errFinished = errors.New("the run is finished")

// runPhases runs phases in order: each shows its state (logs, metrics, the socket), is timed and
// recorded in the result, and ends the list with its error.
func (r *run) runPhases(ctx context.Context, phases []phase) error {
	for _, p := range phases {
		if p.skip != nil && p.skip() {
			continue
		}
		r.setState(p.state)
		start := time.Now()
		err := p.do(ctx)
		took := time.Since(start)
		r.phaseTimes = append(r.phaseTimes, PhaseTime{Phase: p.name, Duration: took})
		r.log().Debug("phase done", zap.String("phase", p.name), zap.Duration("took", took), zap.Error(err))
		if err != nil {
			return err
		}
	}
	return nil
}

// setupPhases are the phases before the pipeline.
func (r *run) setupPhases() []phase {
	return []phase{
		{state: StateValidating, name: "check", do: r.check},
		{state: StateValidating, name: "instant", do: r.tryInstant, skip: func() bool { return !r.cfg.AttemptInstantDDL }},
		{state: StatePreparing, name: "prepare", do: r.prepare},
	}
}

// pipelinePhases run while the binlog is streamed and replayed.
func (r *run) pipelinePhases() []phase {
	if r.cfg.Revert {
		return r.revertPhases()
	}
	return []phase{
		{state: StateCopying, name: "copy", do: r.copyRows},
		{state: StateIndexing, name: "indexes", do: r.addDeferredIndexes, skip: func() bool { return r.deferred == nil }},
		{state: StateCatchingUp, name: "catch up", do: r.catchUp},
		{state: StateVerifying, name: "verify", do: r.verify, skip: r.skipVerify},
		{state: StatePostponed, name: "postpone", do: r.waitPostponed, skip: func() bool { return !r.postponed() }},
		{state: StateWaitingForReplicas, name: "replicas", do: r.waitLag, skip: r.throttle.LagOK},
		{state: StateCuttingOver, name: "swap", do: r.swap},
	}
}

// check is the validation: nothing is created. A dry run ends here.
func (r *run) check(ctx context.Context) error {
	if r.cfg.Revert {
		return r.checkRevert(ctx)
	}
	if err := r.hook(ctx, hooks.OnStartup); err != nil {
		return err
	}
	var err error
	if r.s, err = connect(ctx, r.cfg); err != nil {
		return err
	}
	// The ALTER is read as the primary, which runs it, reads it: its executable comments and its
	// character sets.
	if r.server, err = alter.ReadServer(ctx, r.s.primary); err != nil {
		return err
	}
	a, err := alter.Parse(r.cfg.Alter, r.cfg.Database, r.cfg.Table, r.server)
	if err != nil {
		return &refusal{msg: err.Error()}
	}
	if r.p, err = validate(ctx, r.cfg, r.s, a); err != nil {
		return err
	}
	if err := r.checkRehearsal(ctx); err != nil {
		return err
	}
	if err := r.checkWindowExtras(ctx); err != nil {
		return err
	}
	if err := r.checkWindowAtStart(r.p.probed); err != nil {
		return err
	}
	r.changelog = changelog.New(r.cfg.Database, r.p.changelog)
	for _, w := range r.p.warnings {
		r.log().Warn(w)
	}
	if r.throttle, r.closeThrottle, err = r.newThrottler(ctx); err != nil {
		return err
	}
	if r.cfg.Resume {
		if err := r.checkResume(ctx); err != nil {
			return err
		}
	}
	r.rows.Store(r.p.rows)
	if r.cfg.countFirst() {
		if err := r.countRows(ctx); err != nil {
			return err
		}
	}
	r.cfg.Metrics.SetRowsEstimated(r.rows.Load())
	if err := r.hook(ctx, hooks.OnValidated); err != nil {
		return err
	}
	if !r.cfg.countAlongside() {
		if err := r.hook(ctx, hooks.OnRowCountComplete); err != nil {
			return err
		}
	}
	r.planDeferral(ctx)
	writePlan(r.cfg.Out, r.cfg, r.s, r.p, r.rows.Load())
	fmt.Fprintf(r.cfg.Out, "  indexes    %s\n", r.indexPlan)
	if !r.cfg.Execute {
		writePreflight(ctx, r.cfg, r.s, r.p.alter)
		fmt.Fprintln(r.cfg.Out, "Nothing was changed. Run again with --execute to migrate.")
		r.result = &Result{DryRun: true}
		return errFinished
	}
	if err := r.createPostponeFlagFile(*r.postpone.Load()); err != nil {
		return &refusal{msg: err.Error()}
	}
	return nil
}

// tryInstant runs the ALTER natively with ALGORITHM=INSTANT when the server can (--attempt-instant-ddl).
func (r *run) tryInstant(ctx context.Context) error {
	if res, done := attemptInstant(ctx, r.cfg, r.s, r.p.alter); done {
		r.result = res
		return errFinished
	}
	return nil
}

// copyRows copies the rows (a resumed run from the checkpoint's key on, or not at all when its copy
// was done).
func (r *run) copyRows(ctx context.Context) error {
	if err := r.hook(ctx, hooks.OnBeforeRowCopy); err != nil {
		return err
	}
	r.copyStart.Store(time.Now().UnixNano())
	if err := r.checkNoNullKeys(ctx); err != nil {
		return err
	}
	if !r.copyDone() {
		r.log().Info("copying rows", zap.Int64("estimated_rows", r.rows.Load()), zap.Int64("largest_chunk", r.chunk.Load()),
			zap.Duration("chunk_target", r.cfg.ChunkTarget), zap.Int("workers", r.workers))
		if err := r.copier.Run(ctx); err != nil {
			if errors.Is(err, table.ErrCollision) {
				return fmt.Errorf("%w. A row of %s collides with another under the unique key(s) %s of the altered table even after the replay caught up: the table holds values that repeat under the new key (written during the migration: they were checked before it). A native ALTER would fail on these rows too. Remove the duplicates, or stop the application from writing them, and run the migration again",
					err, sqlbuild.QualifiedName(r.cfg.Database, r.cfg.Table), r.newUniqueKeys())
			}
			return err
		}
	}
	r.log().Info("row copy complete", zap.Int64("rows", r.copier.RowsCopied()), zap.Duration("elapsed", time.Since(r.start).Round(time.Millisecond)))
	r.cfg.Metrics.SetRowsEstimated(r.copier.RowsCopied())
	return r.hook(ctx, hooks.OnRowCopyComplete)
}

// catchUp replays what is left, and refuses to go on while rows are held back for colliding.
func (r *run) catchUp(ctx context.Context) error {
	if err := r.markers.CatchUp(ctx); err != nil {
		return err
	}
	return r.checkCollisions()
}

// swap compares the rows replayed since the checksum, swaps the tables and checks that no write
// reached the old table meanwhile.
func (r *run) swap(ctx context.Context) error {
	if err := r.hook(ctx, hooks.OnBeforeCutOver); err != nil {
		return fmt.Errorf("not cutting over: %w", err)
	}
	if err := r.verifyReplayed(ctx); err != nil {
		return err
	}
	if err := r.analyzeGhost(ctx); err != nil {
		return err
	}
	children, childLocks, parents, err := r.children(ctx)
	if err != nil {
		return err
	}
	var repoint, pointBack func(context.Context, *sql.Conn) error
	if len(children) > 0 {
		repoint, pointBack = r.repointChildren(children), r.pointChildrenBack(children)
	}
	if err := r.stopReplicationForRehearsal(ctx); err != nil {
		return err
	}
	res, err := r.cutOver(ctx, cutover.Config{
		DB: r.s.primary, Schema: r.cfg.Database, Table: r.cfg.Table, Ghost: r.p.names.ghost, Old: r.p.old,
		LockTimeout: r.cfg.CutOverLockTimeout, Attempts: r.cfg.DefaultRetries, Backoff: r.cutOverBackoff(), CatchUp: swapCatchUp{r},
		BeforeLock: r.prepareUnderLock, UnderLock: r.verifyUnderLock, Guard: r.guard,
		Prepare: r.prepareHandovers, Undo: r.undoHandovers,
		LockAlso: childLocks, LockRead: parents, PrepareLocked: repoint, UndoLocked: pointBack,
		Failpoint: func(step string) {
			if r.cfg.Failpoint != nil {
				r.cfg.Failpoint("cutover:" + step)
			}
		},
		OnAttempt: func(blocked time.Duration, err error) {
			if r.cfg.Revert {
				r.cfg.Metrics.AddRevertCutOverAttempt()
				if blocked > 0 {
					r.cfg.Metrics.ObserveRevertCutOverLock(blocked)
				}
				return
			}
			r.cfg.Metrics.AddCutOverAttempt()
			if blocked > 0 {
				r.cfg.Metrics.ObserveCutOverLock(blocked)
			}
		},
		Logger: r.log(),
	})
	if err != nil {
		r.restartReplication(ctx)
		return err
	}
	r.swapped.Store(true)
	r.cutover = res
	r.log().Info("cut-over complete", zap.Int("attempts", res.Attempts), zap.Duration("table_blocked", res.Blocked))
	r.afterSwap(ctx)
	if err := r.guard.CheckNoSlip(ctx, r.applierDone, time.Minute); err != nil {
		// Whatever reached the old table, or might have, is looked for there: it is kept.
		r.cfg.OkToDropTable = false
		r.log().Error("the swap is done, but writes may have reached the old table", zap.String("old_table", res.Old))
		return err
	}
	if r.cfg.TestOnReplica {
		return r.swapBack(ctx, res.Old)
	}
	return nil
}

// cutOverBackoff is the pause between failed cut-over attempts: with --cut-over-exponential-backoff
// 1, 2, 4, … seconds up to --exponential-backoff-max-interval; otherwise the cut-over's own.
func (r *run) cutOverBackoff() func(int) time.Duration {
	if !r.cfg.CutOverExponentialBackoff {
		return nil
	}
	return func(n int) time.Duration { return exponentialPause(n, r.cfg.ExponentialBackoffMaxInterval) }
}

// exponentialPause is 2^(n-1) seconds, at most limit.
func exponentialPause(n int, limit time.Duration) time.Duration {
	if n > 30 {
		return limit
	}
	return min(time.Duration(1)<<max(n-1, 0)*time.Second, limit)
}

// analyzeGhost runs ANALYZE TABLE on the ghost with --analyze-ghost-table-before-cutover, so the
// new table starts serving with fresh index statistics; a failure stops the migration (gh-ost's
// choice), before anything is swapped.
func (r *run) analyzeGhost(ctx context.Context) error {
	if !r.cfg.AnalyzeGhostTable {
		return nil
	}
	start := time.Now()
	if err := analyze(ctx, r.s.primary, sqlbuild.QualifiedName(r.cfg.Database, r.p.names.ghost)); err != nil {
		return fmt.Errorf("--analyze-ghost-table-before-cutover: analyzing the ghost table %s failed, so doppel does not swap it in: %w", sqlbuild.QualifiedName(r.cfg.Database, r.p.names.ghost), err)
	}
	r.log().Info("analyzed the ghost table before the cut-over", zap.String("ghost", r.p.names.ghost), zap.Duration("took", time.Since(start)))
	return nil
}

// analyze runs ANALYZE TABLE, which reports failures as rows of its result, not as errors.
func analyze(ctx context.Context, db *sql.DB, qualified string) error {
	rows, err := db.QueryContext(ctx, "ANALYZE TABLE "+qualified)
	if err != nil {
		return err
	}
	defer rows.Close()
	var failed []string
	for rows.Next() {
		var tbl, op, kind, text string
		if err := rows.Scan(&tbl, &op, &kind, &text); err != nil {
			return err
		}
		if strings.EqualFold(kind, "error") {
			failed = append(failed, text)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

// skipVerify passes the verification by with --checksum=false, saying so.
func (r *run) skipVerify() bool {
	if !r.cfg.Checksum {
		r.log().Warn("not verifying the ghost table before the swap (--checksum=false)")
	}
	return !r.cfg.Checksum
}

// cleanUp removes the changelog and, if asked, the old table, after a successful swap.
func (r *run) cleanUp(ctx context.Context) error {
	r.result = &Result{
		RowsCopied:     r.copier.RowsCopied(),
		ChangesApplied: r.applier.Applied(),
		PeakLag:        time.Duration(r.peakLag.Load()),
		RowsRecopied:   r.applier.Recopied(),
		CutOver:        r.cutover,
		Verified:       r.verified,
		Reverted:       r.cfg.Revert,
	}
	r.finish(ctx, r.result)
	if r.cfg.Revert {
		r.deleteRevertRecord(context.WithoutCancel(ctx), r.cfg.OldTable) // it is the table now
	}
	if old := r.result.OldTable; old != "" {
		r.writeRevertRecord(context.WithoutCancel(ctx), old)
	}
	return nil
}

// checkNoNullKeys counts NULLs in a nullable iteration key again, now that the binlog is read: a
// row given a NULL key between the check before anything was created and the stream's start would
// be neither copied nor replayed; one written from now on stops the replay (applier.ErrNullKey).
func (r *run) checkNoNullKeys(ctx context.Context) error {
	if len(r.p.key.Nullable) == 0 {
		return nil
	}
	n, err := countNullKeys(ctx, r.s.primary, r.p.orig, r.p.key)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: %d rows of %s were given NULL in the unique key %s since doppel checked it held none. doppel iterates that key (--allow-nullable-unique-key) and can neither copy nor replay such rows; keep the application from writing NULL into the key during the migration (or add a PRIMARY KEY) and run it again",
			table.ErrNullKey, n, sqlbuild.QualifiedName(r.cfg.Database, r.cfg.Table), sqlbuild.QuoteIdent(r.p.key.Orig.Name))
	}
	return nil
}
