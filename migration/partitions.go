package migration

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/internal/changelog"
	"github.com/doppel-sql/doppel/internal/cutover"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// partitionHandovers run a DROP or TRUNCATE PARTITION (alter.Alter.AtSwap) on the ghost under the
// cut-over's lock. Until then the ghost is a copy of the table as it is; under the lock it holds
// exactly what the original holds, so the clause deletes the rows a native ALTER would delete, and
// the swap makes that visible at once. The deleted rows cannot be put back: an attempt that fails
// afterwards ends the migration, and the ghost is dropped, not kept for --resume.
func (r *run) partitionHandovers() []handover {
	if !r.p.alter.AtSwap {
		return nil
	}
	return []handover{{name: "partitions", prepare: r.alterGhostAtSwap, undo: r.spoilGhost}}
}

// alterGhostAtSwap marks the ghost as no longer resumable, then runs the clause on it.
func (r *run) alterGhostAtSwap(ctx context.Context) error {
	if err := r.changelog.Write(ctx, r.s.primary, changelog.HintNotResumable, "the cut-over ran "+r.p.alter.Clause+" on the ghost table"); err != nil {
		return err
	}
	r.spoiled.Store(true)
	conn, err := r.s.primary.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	start := time.Now()
	if err := execUnderMode(ctx, conn, r.p.ddlMode, "ALTER TABLE "+sqlbuild.QualifiedName(r.cfg.Database, r.p.names.ghost)+" "+r.p.alter.Clause); err != nil {
		return fmt.Errorf("running %s on the ghost table: %w", r.p.alter.Clause, err)
	}
	r.log().Info("ran the partition change on the ghost table under the lock", zap.String("clause", r.p.alter.Clause), zap.Duration("took", time.Since(start)))
	return nil
}

// spoilGhost is the handover's undo: the rows are gone from the ghost, so no attempt may follow.
func (r *run) spoilGhost(context.Context) error {
	if !r.spoiled.Load() {
		return nil // the ghost was not changed
	}
	return fmt.Errorf("%w: %s already ran on the ghost table, which no longer holds what the original holds; run doppel again", cutover.ErrAbort, r.p.alter.Clause)
}
