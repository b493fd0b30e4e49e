package migration

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/hooks"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// countFirst says whether --exact-rowcount counts before anything else: without
// --concurrent-rowcount, and always in a dry run, which has no copy to count alongside.
func (c *Config) countFirst() bool {
	return c.ExactRowCount && (!c.ConcurrentRowCount || !c.Execute)
}

// countAlongside says whether --exact-rowcount counts while the copy runs.
func (c *Config) countAlongside() bool {
	return c.ExactRowCount && c.ConcurrentRowCount && c.Execute
}

// countRows counts the original's rows on the inspected server (a replica in the default mode, so
// the primary is spared the scan) and makes the count the progress's total.
func (r *run) countRows(ctx context.Context) error {
	start := time.Now()
	tbl := sqlbuild.QualifiedName(r.cfg.Database, r.cfg.Table)
	var n int64
	if err := r.s.inspect.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tbl).Scan(&n); err != nil {
		return fmt.Errorf("counting the rows of %s (--exact-rowcount): %w", tbl, err)
	}
	r.rows.Store(n)
	r.cfg.Metrics.SetRowsEstimated(n)
	r.log().Info("row count complete", zap.Int64("rows", n), zap.Int64("server_estimate", r.p.rows),
		zap.Duration("took", time.Since(start).Round(time.Millisecond)))
	return nil
}

// countAlongside is --exact-rowcount with --concurrent-rowcount: it counts while the copy runs, then
// runs the on-rowcount-complete hook. A count that fails costs only the progress's accuracy; a
// failing hook stops the migration, as every hook does.
func (r *run) countAlongside(ctx context.Context) error {
	if err := r.countRows(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.log().Warn("the exact row count failed; the progress goes on from the server's estimate", zap.Error(err))
		return nil
	}
	return r.hook(ctx, hooks.OnRowCountComplete)
}
