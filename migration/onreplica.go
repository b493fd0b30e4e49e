package migration

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/hooks"
	"github.com/doppel-sql/doppel/internal/fkeys"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// --migrate-on-replica and --test-on-replica work on a replica's own table: the replica is both the
// server read (its binlog holds what it replicates, log_slave_updates) and the one written
// (connect). A migration on a replica is the real one for that replica; a rehearsal
// (--test-on-replica) swaps the tables under the same cut-over as the primary's would, with
// replication stopped, then swaps them back at once and leaves replication stopped, so the
// original and the migrated table can be compared as of one point in time.

// checkRehearsal refuses a rehearsal whose swap does more than rename: what the handovers do at
// the swap (triggers, foreign keys, partitions dropped) would have to be undone too.
func (r *run) checkRehearsal(ctx context.Context) error {
	if !r.cfg.TestOnReplica {
		return nil
	}
	declared, referencing, err := fkeys.Read(ctx, r.s.inspect, r.cfg.Database, r.cfg.Table)
	if err != nil {
		return fmt.Errorf("reading the foreign keys of %s: %w", r.cfg.Table, err)
	}
	if len(r.p.triggers) > 0 || r.p.alter.AtSwap || len(declared)+len(referencing) > 0 {
		return refuse("--test-on-replica swaps the tables back right after the swap; with triggers, foreign keys or partitions dropped at the swap that is not supported yet. Rehearse with --migrate-on-replica on a replica you can rebuild, or on a copy of the table without them")
	}
	return nil
}

// stopReplicationForRehearsal stops the replica's replication before a rehearsal's swap (unless
// --test-on-replica-skip-replica-stop): from then on nothing writes to the table, and what the swap
// catches up to is the whole of it.
func (r *run) stopReplicationForRehearsal(ctx context.Context) error {
	if !r.cfg.TestOnReplica {
		return nil
	}
	if err := r.hook(ctx, hooks.OnStopReplication); err != nil {
		return fmt.Errorf("not stopping replication for the rehearsal's swap: %w", err)
	}
	if r.cfg.TestOnReplicaSkipReplicaStop {
		r.log().Warn("--test-on-replica-skip-replica-stop: replication keeps running through the rehearsal's swap; changes it applies between the swap and the swap back go to the migrated table only")
		return nil
	}
	if _, err := r.s.primary.ExecContext(ctx, r.s.flavor.StopReplicaSQL()); err != nil {
		return fmt.Errorf("stopping replication on %s for the rehearsal's swap: %w", r.s.primaryCfg.Addr(), err)
	}
	r.replicationStopped = true
	r.log().Info("replication stopped for the rehearsal's swap", zap.String("replica", r.s.primaryCfg.Addr()))
	return nil
}

// restartReplication starts the replication a rehearsal stopped, after its swap failed: the
// rehearsal is over, and the replica must not stay behind for nothing.
func (r *run) restartReplication(ctx context.Context) {
	if !r.replicationStopped {
		return
	}
	ctx = context.WithoutCancel(ctx)
	_ = r.hook(ctx, hooks.OnStartReplication)
	if _, err := r.s.primary.ExecContext(ctx, r.s.flavor.StartReplicaSQL()); err != nil {
		r.log().Error("could not start replication again after the rehearsal's failed swap; start it by hand", zap.String("replica", r.s.primaryCfg.Addr()), zap.Error(err))
		return
	}
	r.replicationStopped = false
}

// swapBack undoes a rehearsal's swap in one RENAME: the original takes its name back, and the
// migrated table the ghost's. Replication is stopped, so nothing writes to either meanwhile.
func (r *run) swapBack(ctx context.Context, old string) error {
	t := func(name string) string { return sqlbuild.QualifiedName(r.cfg.Database, name) }
	stmt := fmt.Sprintf("RENAME TABLE %s TO %s, %s TO %s", t(r.cfg.Table), t(r.p.names.ghost), t(old), t(r.cfg.Table))
	if _, err := r.s.primary.ExecContext(context.WithoutCancel(ctx), stmt); err != nil {
		return fmt.Errorf("swapping the rehearsal's tables back (%s) failed: the migrated table is %s and the original %s on the replica; rename them back by hand: %w",
			stmt, t(r.cfg.Table), t(old), err)
	}
	r.log().Info("rehearsal: the tables are swapped back", zap.String("original", r.cfg.Table), zap.String("migrated", r.p.names.ghost),
		zap.Bool("replication_stopped", r.replicationStopped))
	return nil
}
