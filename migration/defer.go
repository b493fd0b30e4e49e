package migration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/plan"
	"github.com/doppel-sql/doppel/table"
)

// IndexDeferral is --defer-secondary-indexes: when the ghost's plain secondary indexes are left out
// of the copy and built once after it.
type IndexDeferral int

const (
	// DeferWithoutReplicas, the default, defers only when no replica replays what doppel writes:
	// a replica replays the deferred build as one statement after the primary, and lags by its
	// whole duration whatever --max-lag-millis says.
	DeferWithoutReplicas IndexDeferral = iota
	// DeferAlways is --defer-secondary-indexes: the operator accepts the replicas' lag, which
	// doppel estimates before it runs.
	DeferAlways
	// DeferNever is --defer-secondary-indexes=false: every index is kept during the copy.
	DeferNever
)

// buildEstimate is about how long building indexes indexes over rows rows takes (plan's estimate,
// measured by make bench).
func buildEstimate(rows int64, indexes int) time.Duration {
	return plan.IndexBuildEstimate(rows, indexes)
}

// findReplicas names the replicas that replay what doppel writes on the primary: the replica doppel
// inspects, the --throttle-control-replicas, and the binlog dump threads the primary serves (all of
// them seen with the PROCESS privilege, doppel's own otherwise). Empty when there are none.
func (r *run) findReplicas(ctx context.Context) string {
	var found []string
	if r.s.replicaMode {
		found = append(found, r.s.inspectCfg.Addr())
	}
	if list := r.throttle.ControlReplicas(); list != "" {
		found = append(found, list)
	}
	// A binlog reader that is not a replica (another migration tool's) counts too: better to keep
	// the indexes than to guess wrong.
	if dumps := r.binlogDumps(ctx); dumps > 0 && len(found) == 0 {
		found = append(found, fmt.Sprintf("%d binlog dump thread(s) on the primary", dumps))
	}
	return strings.Join(found, ", ")
}

// binlogDumps counts the binlog dump threads the primary serves (0 when it cannot tell).
func (r *run) binlogDumps(ctx context.Context) int {
	var dumps int
	if err := r.s.primary.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'").Scan(&dumps); err != nil {
		return 0
	}
	return dumps
}

// twoPhaseReplicas reports whether a deferred build can start on the replicas when it starts on
// the primary: MariaDB 10.8 and later log an ALTER in two phases with binlog_alter_two_phase, and a
// replica that applies in parallel (slave_parallel_threads > 0) runs the START ALTER beside the
// events after it instead of replaying the whole ALTER after the primary's COMMIT ALTER. doppel
// relies on it only when it can see every replica: the one it inspects is the primary's only
// binlog dump thread, and no --throttle-control-replicas.
func (r *run) twoPhaseReplicas(ctx context.Context) bool {
	if r.s.flavor.Name() != "mariadb" || !r.s.flavor.Version().AtLeast(10, 8, 0) || !r.s.replicaMode ||
		r.throttle.ControlReplicas() != "" || r.binlogDumps(ctx) != 1 {
		return false
	}
	var threads int
	if err := r.s.inspect.QueryRowContext(ctx, "SELECT @@slave_parallel_threads").Scan(&threads); err != nil {
		return false
	}
	return threads > 0
}

// planDeferral decides, before anything is created, whether the ghost's plain secondary indexes are
// deferred, and says so in the plan, with the replicas' lag a deferred build will cause.
func (r *run) planDeferral(ctx context.Context) {
	replicas := r.findReplicas(ctx)
	entries := deferrableIndexes(r.p.probed, r.p.orig)
	estimate := buildEstimate(r.p.rows, entries).Round(100 * time.Millisecond)
	mode := r.cfg.DeferIndexes
	r.twoPhase = replicas != "" && mode != DeferNever && r.twoPhaseReplicas(ctx)
	r.deferPlanned = mode == DeferAlways || mode == DeferWithoutReplicas && (replicas == "" || r.twoPhase)
	var line string
	switch {
	// Counted on the probe, the altered table has none. Without a probe the original's were
	// counted: the other cases decide, and deferIndexes finds what there is.
	case entries == 0 && r.p.probed != nil:
		r.deferPlanned, r.twoPhase = false, false
		line = "no plain secondary index to defer: every index is maintained during the copy"
	case mode == DeferNever:
		line = "kept during the copy (--defer-secondary-indexes=false)"
	case r.twoPhase:
		line = fmt.Sprintf("%d deferred: built once after the copy, about %s, logged in two phases (binlog_alter_two_phase) so that the replica %s, which applies in parallel, builds them alongside the primary",
			entries, estimate, replicas)
	case !r.deferPlanned:
		line = fmt.Sprintf("kept during the copy: replicas replay what doppel writes (%s), and a deferred build is one statement each replays after the primary, which no throttle can bound. --defer-secondary-indexes defers them anyway: about %s of replica lag (%d index(es) over about %d rows)",
			replicas, estimate, entries, r.p.rows)
	case replicas == "":
		line = fmt.Sprintf("%d deferred: built once after the copy, about %s; no replica found to replay the build", entries, estimate)
	default:
		line = fmt.Sprintf("%d deferred (--defer-secondary-indexes): each replica (%s) replays the build as one statement after the primary and lags about %s then, beyond --max-lag-millis; the cut-over waits for it",
			entries, replicas, estimate)
		r.log().Warn("deferred index build: replicas will lag", zap.String("replicas", replicas), zap.Duration("estimated_lag", estimate))
	}
	if r.twoPhase {
		r.log().Info("secondary indexes deferred, their build logged in two phases: the replica builds them alongside the primary",
			zap.String("replicas", replicas), zap.Duration("estimated_build", estimate))
	}
	if !r.deferPlanned && mode == DeferWithoutReplicas && entries > 0 {
		r.log().Info("secondary indexes kept during the copy: replicas would replay a deferred build in one statement",
			zap.String("replicas", replicas), zap.Duration("estimated_lag_if_deferred", estimate))
	}
	r.indexPlan = line
}

// deferrableIndexes counts the plain secondary indexes of the altered table (the probe's, else the
// original's): non-unique BTREE indexes on columns.
func deferrableIndexes(probed, orig *table.Table) int {
	t := probed
	if t == nil {
		t = orig
	}
	n := 0
	for _, ix := range t.Indexes {
		if !ix.IsPrimary() && !ix.Unique && !ix.Expression && strings.EqualFold(ix.Kind, "BTREE") && len(ix.Columns) > 0 {
			n++
		}
	}
	return n
}

// deferral is the ghost's plain secondary indexes, dropped for the copy and added back after it.
// Maintaining every index for every copied row is most of a copy's cost; building an index once,
// over the finished table, is far cheaper. Unique keys stay: they decide which rows the copy and
// the replay keep.
type deferral struct {
	names  []string
	adds   []string // the ADD INDEX clause of each
	create string   // SHOW CREATE TABLE of the complete ghost: what must come back
}

// deferIndexes drops the ghost's plain secondary indexes before the copy, when doing so and adding
// them back gives exactly the same table. That is checked on the empty ghost, where it costs
// nothing: indexes are dropped, added back, and the table definitions compared. An index doppel
// cannot rebuild exactly (an attribute it does not know) keeps the ghost as it was.
func (r *run) deferIndexes(ctx context.Context) error {
	if !r.deferPlanned {
		return nil
	}
	// Indexes are added back in the order the server keeps them, so the table comes back the same.
	order, err := table.IndexOrder(ctx, r.s.primary, r.cfg.Database, r.p.names.ghost)
	if err != nil {
		return err
	}
	fkCols, err := r.ghostForeignKeyColumns(ctx)
	if err != nil {
		return err
	}
	var names, adds, drops []string
	for _, name := range order {
		ix := r.ghost.Index(name)
		if ix == nil || servesForeignKey(ix, fkCols) || ix.Unique || ix.Expression || !strings.EqualFold(ix.Kind, "BTREE") || len(ix.Columns) == 0 {
			continue
		}
		parts := make([]sqlbuild.IndexPart, len(ix.Columns))
		for j, c := range ix.Columns {
			parts[j] = sqlbuild.IndexPart{Column: c.Name, SubPart: c.SubPart, Desc: c.Desc}
		}
		names = append(names, ix.Name)
		adds = append(adds, sqlbuild.AddIndex(ix.Name, parts, ix.Comment))
		drops = append(drops, "DROP INDEX "+sqlbuild.QuoteIdent(ix.Name))
	}
	if len(names) == 0 {
		return nil
	}
	ghost := sqlbuild.QualifiedName(r.cfg.Database, r.p.names.ghost)
	d := &deferral{names: names, adds: adds}
	if d.create, err = r.showCreateGhost(ctx); err != nil {
		return err
	}
	drop := "ALTER TABLE " + ghost + " " + strings.Join(drops, ", ")
	for _, q := range []string{drop, "ALTER TABLE " + ghost + " " + strings.Join(d.adds, ", ")} {
		if _, err := r.s.primary.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("trying to defer the ghost table's indexes: %w", err)
		}
	}
	again, err := r.showCreateGhost(ctx)
	if err != nil {
		return err
	}
	if again != d.create {
		r.log().Info("copying with every index: doppel cannot rebuild them exactly",
			zap.Strings("indexes", names))
		return r.recreateGhost(ctx)
	}
	if _, err := r.s.primary.ExecContext(ctx, drop); err != nil {
		return fmt.Errorf("dropping the ghost table's indexes for the copy: %w", err)
	}
	r.deferred = d
	r.log().Info("secondary indexes deferred: built once after the copy", zap.Strings("indexes", names))
	return nil
}

// addDeferredIndexes builds the deferred indexes in one online ALTER (the replay goes on meanwhile)
// and checks the ghost is the table it was meant to be.
func (r *run) addDeferredIndexes(ctx context.Context) error {
	d := r.deferred
	start := time.Now()
	// A resumed run may find some of them built already.
	present, err := table.IndexOrder(ctx, r.s.primary, r.cfg.Database, r.p.names.ghost)
	if err != nil {
		return err
	}
	var missing, adds []string
	for i, name := range d.names {
		if !slices.Contains(present, name) {
			missing, adds = append(missing, name), append(adds, d.adds[i])
		}
	}
	r.log().Info("adding the deferred indexes", zap.Strings("indexes", missing),
		zap.Duration("estimated", buildEstimate(r.copier.RowsCopied(), len(missing)).Round(100*time.Millisecond)))
	ghost := sqlbuild.QualifiedName(r.cfg.Database, r.p.names.ghost)
	if len(adds) > 0 {
		if err := r.buildIndexes(ctx, "ALTER TABLE "+ghost+" "+strings.Join(adds, ", ")+", ALGORITHM=INPLACE, LOCK=NONE"); err != nil {
			return fmt.Errorf("adding the deferred indexes to the ghost table (if the server ran out of its online ALTER log, raise innodb_online_alter_log_max_size or run with --defer-secondary-indexes=false): %w", err)
		}
	}
	got, err := r.showCreateGhost(ctx)
	if err != nil {
		return err
	}
	if got != d.create {
		return fmt.Errorf("after adding the deferred indexes the ghost table is not the table the ALTER makes: doppel stops before the swap")
	}
	r.log().Info("deferred indexes added", zap.Duration("took", time.Since(start).Round(time.Millisecond)))
	return nil
}

// showCreateGhost returns the ghost's definition without its AUTO_INCREMENT counter, which the
// rows copied move on.
func (r *run) showCreateGhost(ctx context.Context) (string, error) {
	var name, create string
	err := r.s.primary.QueryRowContext(ctx, "SHOW CREATE TABLE "+sqlbuild.QualifiedName(r.cfg.Database, r.p.names.ghost)).Scan(&name, &create)
	if err != nil {
		return "", fmt.Errorf("reading the ghost table's definition: %w", err)
	}
	var kept []string
	for _, opt := range strings.Fields(create) {
		if !strings.HasPrefix(opt, "AUTO_INCREMENT=") {
			kept = append(kept, opt)
		}
	}
	return strings.Join(kept, " "), nil
}

// recreateGhost builds the ghost table again from the original and the ALTER.
func (r *run) recreateGhost(ctx context.Context) error {
	ghost := sqlbuild.QualifiedName(r.cfg.Database, r.p.names.ghost)
	if _, err := r.s.primary.ExecContext(ctx, "DROP TABLE "+ghost); err != nil {
		return fmt.Errorf("dropping the ghost table to create it again: %w", err)
	}
	return r.createGhost(ctx)
}

// createGhost creates the ghost table: a copy of the original's definition, altered under the
// server's sql_mode (as the probe was, sqlmode.go), with the original's AUTO_INCREMENT counter, then
// read back.
func (r *run) createGhost(ctx context.Context) error {
	db, schema := r.s.primary, r.cfg.Database
	ghost := sqlbuild.QualifiedName(schema, r.p.names.ghost)
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := execUnderMode(ctx, conn, r.p.ddlMode, "CREATE TABLE "+ghost+" LIKE "+sqlbuild.QualifiedName(schema, r.cfg.Table)); err != nil {
		return fmt.Errorf("creating the ghost table %s: %w", ghost, err)
	}
	if clause := r.p.alter.GhostClause(); clause != "" {
		if err := execUnderMode(ctx, conn, r.p.ddlMode, "ALTER TABLE "+ghost+" "+clause); err != nil {
			return refuse("the ALTER fails on the ghost table: %v.%s Nothing else was changed; fix --alter", err, zeroDateHint(r.p.ddlMode, err))
		}
	}
	if err := r.addGhostForeignKeys(ctx, conn); err != nil {
		return err
	}
	if err := r.carryAutoIncrement(ctx, ghost); err != nil {
		return err
	}
	r.ghost, err = table.Inspect(ctx, db, schema, r.p.names.ghost)
	return err
}

// buildIndexes runs the deferred build, in its own session, logged in two phases when the replicas
// can start it alongside the primary (twoPhaseReplicas).
func (r *run) buildIndexes(ctx context.Context, ddl string) error {
	conn, err := r.s.primary.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if r.twoPhase {
		if _, err := conn.ExecContext(ctx, "SET SESSION binlog_alter_two_phase = ON"); err != nil {
			return err
		}
		// A replica applies the replay's writes to the ghost only after its own build: replayed
		// during the build, they would wait there the build's whole time. Held, they follow the
		// COMMIT ALTER and replicate as usual (the stream waits at its position meanwhile).
		held := make(chan struct{})
		r.replayHeld.Store(&held)
		defer func() {
			r.replayHeld.Store(nil)
			close(held)
		}()
	}
	_, err = conn.ExecContext(ctx, ddl)
	return err
}

// waitReplayHeld returns once the replay may go on: at once, unless a two-phase build holds it.
func (r *run) waitReplayHeld(ctx context.Context) error {
	held := r.replayHeld.Load()
	if held == nil {
		return nil
	}
	select {
	case <-*held:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
