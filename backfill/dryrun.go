package backfill

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// dryRun counts the rows the statement would touch (an UPDATE's WHERE matches them, an INSERT …
// SELECT's SELECT reads them) and says what a run would continue from. It counts by chunks of the
// key, ChunkSize rows each, one SELECT COUNT(*) over the same ranges and condition as the run's
// chunks, read without locks; a table the server estimates past 10,000,000 rows is not counted
// (unless --exact-rowcount) but estimated with EXPLAIN. It writes nothing, not even the
// checkpoint table.
func (b *backfill) dryRun(ctx context.Context, res *Result) error {
	if err := b.reportCheckpoint(ctx); err != nil {
		return err
	}
	size, err := table.SizeOf(ctx, b.primary, b.stmt.Schema, b.stmt.Table)
	if err != nil {
		return err
	}
	if !b.cfg.ExactRowCount && size.Rows > exactCountLimit {
		n := size.Rows // no condition: every row
		if b.stmt.hasWhere {
			if n, err = b.explainRows(ctx); err != nil {
				return err
			}
		}
		res.Rows, res.Estimated = n, true
		fmt.Fprintf(b.out, "backfill: dry run: about %d rows would be touched (EXPLAIN's estimate: the table holds about %d rows, too many to count by default; --exact-rowcount counts them by chunks)\n", n, size.Rows)
		return nil
	}
	n, chunks, err := b.countByChunks(ctx)
	if err != nil {
		return err
	}
	res.Rows, res.Chunks = n, chunks
	fmt.Fprintf(b.out, "backfill: dry run: %d rows would be touched (counted in %d chunk(s) of up to %d rows of the key); nothing was changed. Add --execute to run it.\n", n, chunks, b.cfg.ChunkSize)
	return nil
}

// countByChunks counts the rows the statement's condition matches, a key range at a time.
func (b *backfill) countByChunks(ctx context.Context) (total, chunks int64, err error) {
	lower, err := b.edge(ctx, false)
	if err != nil || lower == nil {
		return 0, 0, err
	}
	last, err := b.edge(ctx, true)
	if err != nil {
		return 0, 0, err
	}
	for first := true; ; first = false {
		upper, _, final, err := b.nextUpper(ctx, lower, first, last, b.cfg.ChunkSize)
		if err != nil {
			return 0, 0, err
		}
		cond, bind := sqlbuild.And(sqlbuild.After(b.keyCols, first), sqlbuild.UpTo(b.keyCols, true))
		var n int64
		if err := b.primary.QueryRowContext(ctx, b.stmt.Count(cond.SQL), bind(lower, upper)...).Scan(&n); err != nil {
			return 0, 0, fmt.Errorf("counting the rows the backfill would touch in %s: %w", b.qtable, err)
		}
		total += n
		chunks++
		if final {
			return total, chunks, nil
		}
		lower = upper
	}
}

// explainRows is the optimizer's estimate of the rows the condition matches: EXPLAIN's rows times
// its filtered percentage, where the server shows one.
func (b *backfill) explainRows(ctx context.Context) (int64, error) {
	rows, err := b.primary.QueryContext(ctx, "EXPLAIN "+b.stmt.Count(""))
	if err != nil {
		return 0, fmt.Errorf("estimating the rows the backfill would touch with EXPLAIN: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	if !rows.Next() {
		return 0, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return 0, err
	}
	est, filtered := 0.0, 100.0
	for i, c := range cols {
		switch strings.ToLower(c) {
		case "rows":
			est, _ = strconv.ParseFloat(vals[i].String, 64)
		case "filtered":
			if f, err := strconv.ParseFloat(vals[i].String, 64); err == nil {
				filtered = f
			}
		}
	}
	return int64(est * filtered / 100), rows.Err()
}

// reportCheckpoint says, in a dry run, what the checkpoint table holds for the statement.
func (b *backfill) reportCheckpoint(ctx context.Context) error {
	ok, err := table.Exists(ctx, b.primary, b.cfg.Database, CheckpointTable)
	if err != nil || !ok {
		return err
	}
	r, err := b.readRecord(ctx)
	switch {
	case err != nil:
		return err
	case r == nil:
	case r.Done:
		fmt.Fprintf(b.out, "backfill: a run of this statement finished at %s (%d rows, %d affected); --execute runs it again\n", r.Written.Format("2006-01-02 15:04:05Z"), r.Scanned, r.Affected)
	default:
		fmt.Fprintf(b.out, "backfill: a stopped run of this statement has a checkpoint (%d chunks, %d rows done, written %s): --execute --resume continues it\n", r.Chunks, r.Scanned, r.Written.Format("2006-01-02 15:04:05Z"))
	}
	return nil
}
