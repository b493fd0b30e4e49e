package backfill

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/changelog"
	"github.com/doppel-sql/doppel/internal/checkpoint"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// record is one statement's checkpoint: the row of hint "checkpoint:<hash>" in the checkpoint
// table, written in the same transaction as each chunk, so it says exactly which chunks are
// committed: a resumed run neither repeats nor skips one, whatever the statement does.
type record struct {
	Statement string             `json:"statement"`
	Table     string             `json:"table"`
	Key       []string           `json:"key"`
	After     []checkpoint.Value `json:"after,omitempty"` // the last key done; empty before the first chunk
	Scanned   int64              `json:"rows_scanned"`
	Affected  int64              `json:"rows_affected"`
	Chunks    int64              `json:"chunks"`
	Done      bool               `json:"done"`
	Started   time.Time          `json:"started"`
	Written   time.Time          `json:"written"`
}

// id identifies the statement's checkpoint: the statement's hash, or with a CheckpointKey the
// hash of both.
func (b *backfill) id() string {
	if b.cfg.CheckpointKey == "" {
		return b.stmt.Hash()
	}
	sum := sha256.Sum256([]byte(b.cfg.CheckpointKey + "\x00" + b.stmt.Hash()))
	return hex.EncodeToString(sum[:8])
}

// hint is the checkpoint row's name for the statement.
func (b *backfill) hint() string { return "checkpoint:" + b.id() }

// readRecord returns the statement's checkpoint, or nil when there is none.
func (b *backfill) readRecord(ctx context.Context) (*record, error) {
	value, err := b.ckpt.Read(ctx, b.primary, b.hint())
	if errors.Is(err, changelog.ErrNoRow) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal([]byte(value), &r); err != nil {
		return nil, fmt.Errorf("reading the checkpoint %s of %s: %w", b.hint(), b.ckpt.Qualified(), err)
	}
	return &r, nil
}

// startPoint decides where the chunks start from the checkpoint: the table's first key (nil) for a
// new run, after the last key done for --resume. A new run over an unfinished checkpoint is
// refused: it would redo what the stopped run committed.
func (b *backfill) startPoint(ctx context.Context) (after []any, resumed, done bool, err error) {
	r, err := b.readRecord(ctx)
	if err != nil {
		return nil, false, false, err
	}
	where := fmt.Sprintf("row %q of %s", b.hint(), b.ckpt.Qualified())
	if b.cfg.Continue {
		switch {
		case r == nil:
			return nil, false, false, nil
		case r.Done:
			return nil, true, true, nil
		}
		// A stopped run: resume it, with the checks below.
	}
	resume := b.cfg.Resume || b.cfg.Continue
	switch {
	case r == nil && resume:
		return nil, false, false, fmt.Errorf("--resume: there is no checkpoint of this statement (%s): run it without --resume to start", where)
	case r == nil:
		return nil, false, false, nil
	case !resume && !r.Done:
		return nil, false, false, fmt.Errorf("a stopped run of this statement has a checkpoint (%s: %d chunks, %d rows done, written %s): add --resume to continue it, or delete that row to start over", where, r.Chunks, r.Scanned, r.Written.Format(time.RFC3339))
	case !resume:
		return nil, false, false, nil // it ran to the end before; this is a new run
	case r.Done:
		return nil, true, true, nil
	case !slices.Equal(r.Key, b.key.Names()):
		return nil, false, false, fmt.Errorf("--resume: the checkpoint (%s) follows key %v, but the table's key is now %v: the ranges it recorded mean nothing now; delete that row and start over", where, r.Key, b.key.Names())
	}
	if after, err = checkpoint.DecodeKey(r.After); err != nil {
		return nil, false, false, err
	}
	b.scanned.Store(r.Scanned)
	b.affected.Store(r.Affected)
	b.chunks.Store(r.Chunks)
	b.scanned0 = r.Scanned
	b.started = r.Started
	b.log.Info("resuming the backfill from its checkpoint", zap.Int64("chunks", r.Chunks), zap.Int64("rows_scanned", r.Scanned))
	return after, true, false, nil
}

// chunkLoop runs the chunks from after (nil: the first key) to the table's last key, and then on
// to the rows inserted meanwhile past it, until none is left. When stop ends (the panic command)
// it returns stop's cause before the next chunk: waits use stop, chunks ctx.
func (b *backfill) chunkLoop(ctx, stop context.Context, after []any) error {
	if b.started.IsZero() {
		b.started = time.Now().UTC()
	}
	lower, first := after, false
	if lower == nil {
		var err error
		if lower, err = b.edge(ctx, false); err != nil {
			return err
		}
		first = true
	}
	for lower != nil {
		last, err := b.edge(ctx, true)
		if err != nil {
			return err
		}
		for {
			if stop.Err() != nil {
				return context.Cause(stop)
			}
			if err := b.throttle.Wait(stop); err != nil {
				if stop.Err() != nil {
					return context.Cause(stop)
				}
				return err
			}
			size := b.nextSize()
			upper, rows, final, err := b.nextUpper(ctx, lower, first, last, size)
			if err != nil {
				return err
			}
			took, err := b.runChunk(ctx, lower, upper, first, rows)
			if err != nil {
				return err
			}
			b.adapt(size, rows, took)
			if err := b.throttle.Nice(stop, took); err != nil {
				return context.Cause(stop)
			}
			lower, first = upper, false
			if final {
				break
			}
		}
		// Rows inserted past the last key since it was read: go on until there are none.
		next, err := b.readKey(ctx, sqlbuild.SelectBoundary(b.qtable, b.key.Orig.Name, b.keyCols, sqlbuild.After(b.keyCols, false), 0), sqlbuild.After(b.keyCols, false).Bind(lower)...)
		if err != nil {
			return fmt.Errorf("looking for rows past the last chunk of %s: %w", b.qtable, err)
		}
		if next == nil {
			break
		}
	}
	b.done.Store(true)
	return b.writeRecord(ctx, b.primary, lower, true, 0, 0)
}

// nextSize is the size of the next chunk.
func (b *backfill) nextSize() int64 {
	size := b.chunkMax.Load()
	if b.cfg.ChunkTarget > 0 {
		size = max(1, min(b.chunkSize.Load(), size))
	}
	b.cfg.Metrics.SetChunkSize(size)
	return size
}

// adapt moves the chunk size toward the target time, at most twofold per chunk, as the copy does.
func (b *backfill) adapt(size, rows int64, took time.Duration) {
	if b.cfg.ChunkTarget <= 0 || rows < size/2 {
		return // a short chunk (the table's end, gaps in the key) says little about speed
	}
	next := float64(size) * float64(b.cfg.ChunkTarget) / float64(max(took, time.Millisecond))
	next = max(float64(size)/2, min(next, float64(size)*2))
	b.chunkSize.Store(max(MinChunkSize, min(int64(next), b.chunkMax.Load())))
}

// edge reads the table's first or last key; nil when it is empty.
func (b *backfill) edge(ctx context.Context, last bool) ([]any, error) {
	key, err := b.readKey(ctx, sqlbuild.SelectEdge(b.qtable, b.key.Orig.Name, b.keyCols, last))
	if err != nil {
		return nil, fmt.Errorf("reading the range of key %s of %s: %w", b.key.Orig.Name, b.qtable, err)
	}
	return key, nil
}

// nextUpper finds the upper end of the chunk after lower: the key size rows on, or last when fewer
// rows remain (final); rows is how many rows the range holds.
func (b *backfill) nextUpper(ctx context.Context, lower []any, first bool, last []any, size int64) (upper []any, rows int64, final bool, err error) {
	where, bind := sqlbuild.And(sqlbuild.After(b.keyCols, first), sqlbuild.UpTo(b.keyCols, true))
	upper, err = b.readKey(ctx, sqlbuild.SelectBoundary(b.qtable, b.key.Orig.Name, b.keyCols, where, int(size-1)), bind(lower, last)...)
	if err != nil {
		return nil, 0, false, fmt.Errorf("finding the next chunk of %s: %w", b.qtable, err)
	}
	if upper != nil {
		return upper, size, reflect.DeepEqual(upper, last), nil
	}
	// Fewer than size rows are left: count them, for the progress.
	q := fmt.Sprintf("SELECT COUNT(*) FROM %s FORCE INDEX (%s) WHERE %s", b.qtable, sqlbuild.QuoteIdent(b.key.Orig.Name), where.SQL)
	if err := b.primary.QueryRowContext(ctx, q, bind(lower, last)...).Scan(&rows); err != nil {
		return nil, 0, false, fmt.Errorf("counting the last chunk of %s: %w", b.qtable, err)
	}
	return last, rows, true, nil
}

// readKey runs a query selecting one key and returns it, nil for no row.
func (b *backfill) readKey(ctx context.Context, query string, args ...any) ([]any, error) {
	var key []any
	err := dbconn.Retry(ctx, b.cfg.Retries, func(ctx context.Context) error {
		var err error
		key, err = table.ReadKey(ctx, b.primary, b.key, query, args...)
		return err
	})
	return key, err
}

// runChunk runs the statement over (lower, upper] ([lower, upper] for the first chunk) and writes
// the checkpoint, in one transaction, retried whole after a deadlock, a lock wait timeout or a lost
// connection.
func (b *backfill) runChunk(ctx context.Context, lower, upper []any, first bool, rows int64) (time.Duration, error) {
	cond, bind := sqlbuild.And(sqlbuild.After(b.keyCols, first), sqlbuild.UpTo(b.keyCols, true))
	query, args := b.stmt.Chunk(cond.SQL), bind(lower, upper)
	start := time.Now()
	var affected int64
	err := dbconn.Retry(ctx, b.cfg.Retries, func(ctx context.Context) error {
		tx, err := b.primary.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() // a no-op after Commit
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			if dbconn.IsRetryable(err) {
				b.log.Warn("a chunk failed; trying it again", zap.Int64("chunk", b.chunks.Load()+1), zap.Error(err))
			}
			return err
		}
		if affected, err = res.RowsAffected(); err != nil {
			return err
		}
		if err := b.writeRecord(ctx, tx, upper, false, rows, affected); err != nil {
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		return 0, fmt.Errorf("running chunk %d of the backfill of %s (up to key %s): %w", b.chunks.Load()+1, b.qtable, table.FormatKey(upper), err)
	}
	took := time.Since(start)
	b.scanned.Add(rows)
	b.affected.Add(affected)
	b.chunks.Add(1)
	b.cfg.Metrics.ObserveChunk(took, rows, affected)
	b.log.Debug("chunk done", zap.Int64("chunk", b.chunks.Load()), zap.Int64("rows", rows), zap.Int64("affected", affected), zap.Duration("took", took))
	return took, nil
}

// writeRecord writes the checkpoint: every chunk up to after is done, the one being committed
// with it included (its rows and affected rows; 0 and 0 when none is).
func (b *backfill) writeRecord(ctx context.Context, db dbconn.Execer, after []any, done bool, rows, affected int64) error {
	vals, err := checkpoint.EncodeKey(after)
	if err != nil {
		return err
	}
	r := record{
		Statement: b.stmt.Text, Table: b.qtable, Key: b.key.Names(), After: vals,
		Scanned: b.scanned.Load() + rows, Affected: b.affected.Load() + affected, Chunks: b.chunks.Load(),
		Done: done, Started: b.started, Written: time.Now().UTC(),
	}
	if !done {
		r.Chunks++ // the chunk committed with it
	}
	js, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.ckpt.Write(ctx, db, b.hint(), string(js))
}
