// Package verify proves, before the cut-over, that the ghost table holds the same data as the
// original: it compares both tables chunk by chunk along the migration's key, at a consistent point
// of both, by row counts and a hash of the copied columns computed on the server. A chunk that
// differs is re-copied and checked again at a new consistent point; if it still differs, Run
// returns a *MismatchError naming the key ranges, and the caller must not cut over.
//
// The consistent point costs the application a short lock of the original (the replay's catch-up
// and the start of a few snapshot transactions, bounded by the lock timeout); the comparison itself
// runs in those snapshots while the application and the replay go on writing.
package verify

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// Config configures a verification.
type Config struct {
	DB      *sql.DB // the primary, with doppel's session settings (dbconn.Open)
	Orig    *table.Table
	Ghost   *table.Table
	Key     *table.Key
	Mapping table.Mapping
	// CatchUp returns once every change committed to the original before the call has been applied
	// to the ghost (the migration's markers). It is called while the original is locked for reads.
	CatchUp func(context.Context) error
	// ChunkSize is the number of rows of the original compared, and if need be re-copied, at a
	// time; default 5000.
	ChunkSize int64
	// Workers is how many chunks are compared at once, each in its own snapshot session; at least 1.
	Workers int
	// LockTimeout bounds both the wait for the read lock on the original and how long it is held;
	// default 3s. Writes to the original queue for at most about twice this per attempt.
	LockTimeout time.Duration
	// Retries is how many times the consistent point, and each re-copy, are tried; at least 1.
	Retries int
	Logger  *zap.Logger // nil: no logs
	// OnProgress, when set, receives the rows of the original compared so far and an estimate of
	// the total (never below the former). Calls do not overlap.
	OnProgress func(doneRows, totalRows int64)
	// Rest, when set, is called after each chunk Run compares, with how long the comparison took;
	// it may wait, so that the comparison's reads leave the application room (the migration's
	// nice ratio and latency target: throttle.Throttler.Nice). An error stops the verification.
	Rest func(ctx context.Context, took time.Duration) error
	// AtPoint, when set, is called at the consistent point Run compares the tables at, once the
	// ghost holds every change of the original and before anything can change again: the caller
	// notes which rows the replay changes after it (they are compared again before the swap).
	AtPoint func()
}

// Result describes a verification that passed.
type Result struct {
	Chunks int64 // chunks compared
	Rows   int64 // rows of the original compared
	// Repaired is how many chunks differed, were re-copied and then matched.
	Repaired int
	// Converted lists the ghost columns, with the type change, for which no SQL expression is known
	// to give the ghost's value: the original's rows were compared after the server's own
	// conversion, through temporary tables (slower).
	Converted []string
	Duration  time.Duration
	// Locked is the longest time the original was held for a consistent point.
	Locked time.Duration
}

// maxRepairs bounds how many differing chunks are re-copied. More than that is no race the re-copy
// can mend but a broken copy, and it bounds the memory the list of differing chunks takes.
const maxRepairs = 100

const defaultChunkSize = 5000

// verifier holds what one Run needs.
type verifier struct {
	cfg         Config
	hash        rowHash
	orig, ghost side
	keys        keyReader
	// unordered says why key ranges of the original do not select the same rows in the ghost; then
	// the tables are compared whole, and a difference cannot be narrowed down or re-copied.
	unordered string

	progressMu sync.Mutex
	done       int64
	estimate   int64
}

// Run verifies that the ghost table holds the same rows as the original. It returns a
// *MismatchError when they differ even after re-copying the differing chunks.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	v, err := newVerifier(cfg)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res := &Result{Converted: v.hash.staged}
	v.cfg.Logger.Info("verifying the ghost table against the original", zap.String("table", v.orig.name),
		zap.Int64("chunk_size", v.cfg.ChunkSize), zap.Int("workers", v.cfg.Workers))
	if len(res.Converted) > 0 {
		v.cfg.Logger.Info("comparing the original's rows after the server's own conversion: no expression is known to give the ghost's values of these columns",
			zap.Strings("columns", res.Converted))
	}
	if v.unordered != "" {
		v.cfg.Logger.Warn("the key sorts differently in the ghost table: comparing the tables whole", zap.String("why", v.unordered))
	}
	v.estimate = v.estimateRows(ctx)

	first, err := v.pass(ctx, nil, v.cfg.AtPoint)
	if err != nil {
		return nil, err
	}
	res.Chunks, res.Rows, res.Locked = first.chunks, first.rows, first.held
	v.report(true)
	if len(first.differ) > 0 {
		switch {
		case v.unordered != "":
			return nil, v.mismatch(first.differ, false, "the key sorts differently in the ghost table ("+v.unordered+"), so the difference can be neither narrowed to a key range nor re-copied")
		case first.tooMany:
			return nil, v.mismatch(first.differ, false, fmt.Sprintf("more than %d chunks differ: the copy is broken, not raced", maxRepairs))
		}
		again := make([]chunk, len(first.differ))
		for i, d := range first.differ {
			if err := v.repair(ctx, d.chunk); err != nil {
				return nil, err
			}
			again[i] = d.chunk
		}
		res.Repaired = len(again)
		v.cfg.Logger.Warn("chunks differed and were copied again; checking them once more", zap.Int("chunks", len(again)))
		second, err := v.pass(ctx, again, nil)
		if err != nil {
			return nil, err
		}
		res.Locked = max(res.Locked, second.held)
		if len(second.differ) > 0 {
			return nil, v.mismatch(second.differ, true, "")
		}
	}
	res.Duration = time.Since(start)
	v.cfg.Logger.Info("the ghost table matches the original", zap.Int64("chunks", res.Chunks), zap.Int64("rows", res.Rows),
		zap.Int("repaired_chunks", res.Repaired), zap.Duration("took", res.Duration), zap.Duration("table_held", res.Locked))
	return res, nil
}

func newVerifier(cfg Config) (*verifier, error) {
	if cfg.DB == nil || cfg.Orig == nil || cfg.Ghost == nil || cfg.Key == nil || cfg.Key.Ghost == nil || cfg.CatchUp == nil {
		return nil, errors.New("verify: DB, Orig, Ghost, Key (with its ghost index) and CatchUp are required")
	}
	if len(cfg.Mapping.Copied) == 0 {
		return nil, errors.New("verify: the mapping copies no column")
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = defaultChunkSize
	}
	cfg.Workers = max(cfg.Workers, 1)
	cfg.Retries = max(cfg.Retries, 1)
	if cfg.LockTimeout <= 0 {
		cfg.LockTimeout = 3 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	v := &verifier{cfg: cfg, hash: newRowHash(cfg.Mapping.Copied), unordered: sortsAlike(cfg.Key)}
	v.orig, v.ghost = sidesOf(&v.cfg, v.hash)
	if len(v.hash.staged) > 0 {
		v.orig.stager = newStager(&v.cfg, v.hash.ghost)
	}
	v.keys = keyReader{orig: v.orig, cols: cfg.Key.Columns}
	return v, nil
}

// outcome is one chunk's sums in both tables.
type outcome struct {
	chunk       chunk
	orig, ghost sum
}

type passResult struct {
	chunks, rows int64
	differ       []outcome // in key order
	tooMany      bool      // more than maxRepairs chunks differ; the pass stopped early
	held         time.Duration
}

var errTooMany = errors.New("too many chunks differ")

// pass compares the chunks in only, or every chunk of the key when only is nil, at one new
// consistent point.
func (v *verifier) pass(ctx context.Context, only []chunk, atPoint func()) (passResult, error) {
	// One session per worker, and when the chunks are still to be found, one more that finds them
	// in the same snapshot.
	workers, sessions := v.cfg.Workers, v.cfg.Workers+1
	if only != nil {
		workers = min(workers, len(only))
		sessions = workers
	}
	snap, err := v.openSnapshot(ctx, sessions, atPoint)
	if err != nil {
		return passResult{}, err
	}
	defer snap.close()
	res := passResult{held: snap.held}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	todo := make(chan chunk, workers)
	g.Go(func() error {
		defer close(todo)
		if only == nil {
			return v.chunks(gctx, snap.conns[workers], todo)
		}
		for _, c := range only {
			select {
			case todo <- c:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for _, conn := range snap.conns[:workers] {
		g.Go(func() error {
			for c := range todo {
				start := time.Now()
				o, err := v.orig.checksum(gctx, conn, c)
				if err != nil {
					return err
				}
				gs, err := v.ghost.checksum(gctx, conn, c)
				if err != nil {
					return err
				}
				mu.Lock()
				res.chunks++
				res.rows += o.rows
				if o != gs {
					if len(res.differ) == maxRepairs {
						res.tooMany = true
						mu.Unlock()
						return errTooMany
					}
					res.differ = append(res.differ, outcome{chunk: c, orig: o, ghost: gs})
					v.cfg.Logger.Warn("a chunk differs between the original and the ghost table", zap.Int64("chunk", c.seq),
						zap.Int64("original_rows", o.rows), zap.Int64("ghost_rows", gs.rows))
				}
				mu.Unlock()
				if only == nil {
					v.progress(o.rows)
				}
				if v.cfg.Rest != nil {
					if err := v.cfg.Rest(gctx, time.Since(start)); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil && !errors.Is(err, errTooMany) {
		return passResult{}, err
	}
	slices.SortFunc(res.differ, func(a, b outcome) int { return cmp.Compare(a.chunk.seq, b.chunk.seq) })
	return res, nil
}

// chunks sends every chunk of the key on out, in key order, finding them in conn's snapshot.
func (v *verifier) chunks(ctx context.Context, conn *sql.Conn, out chan<- chunk) error {
	var lower []any
	for seq := int64(0); ; seq++ {
		var upper []any
		if v.unordered == "" {
			var err error
			if upper, err = v.keys.boundary(ctx, conn, lower, v.cfg.ChunkSize); err != nil {
				return err
			}
		}
		select {
		case out <- chunk{seq: seq, lower: lower, upper: upper}:
		case <-ctx.Done():
			return ctx.Err()
		}
		if upper == nil {
			return nil
		}
		lower = upper
	}
}

// repair copies chunk c again, in one transaction: the ghost's rows of the range are deleted, then
// the original's are copied with the copier's own statement. Its locking read makes a concurrent
// change of those rows commit after the re-copy, so the replay applies it after, as during the
// copy; a change the replay has not applied yet is applied later and is idempotent.
func (v *verifier) repair(ctx context.Context, c chunk) error {
	gWhere, gArgs := v.ghost.where(c)
	oWhere, oArgs := v.orig.where(c)
	del := "DELETE FROM " + v.ghost.name + " WHERE " + gWhere
	cp := sqlbuild.Copy{From: v.orig.name, Index: v.orig.index, Into: v.ghost.name, Where: oWhere, Lock: true, Key: v.cfg.Key.KeyColumns(), Trip: v.cfg.Key.Trip, TripBySubquery: v.cfg.Key.TripBySubquery}
	for _, p := range v.cfg.Mapping.Copied {
		cp.Cols, cp.Exprs = append(cp.Cols, p.Ghost.Name), append(cp.Exprs, v.cfg.Mapping.Expr(p))
	}
	ins := cp.SQL()
	err := dbconn.Retry(ctx, v.cfg.Retries, func(ctx context.Context) error {
		tx, err := v.cfg.DB.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }() // a no-op after Commit
		if _, err := tx.ExecContext(ctx, del, gArgs...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, ins, oArgs...); err != nil {
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		return fmt.Errorf("copying chunk %d of %s again: %w", c.seq, v.orig.name, err)
	}
	v.cfg.Logger.Info("chunk copied again", zap.Int64("chunk", c.seq))
	return nil
}

// estimateRows reads the server's estimate of the original's rows, for progress only.
func (v *verifier) estimateRows(ctx context.Context) int64 {
	if v.cfg.OnProgress == nil {
		return 0
	}
	size, err := table.SizeOf(ctx, v.cfg.DB, v.cfg.Orig.Schema, v.cfg.Orig.Name)
	if err != nil {
		v.cfg.Logger.Debug("no row estimate for the checksum progress", zap.Error(err))
	}
	return size.Rows
}

func (v *verifier) progress(rows int64) {
	v.progressMu.Lock()
	defer v.progressMu.Unlock()
	v.done += rows
	v.report(false)
}

// report calls OnProgress; final reports the total as done. The caller holds progressMu, unless
// no worker runs.
func (v *verifier) report(final bool) {
	if v.cfg.OnProgress == nil {
		return
	}
	total := max(v.estimate, v.done)
	if final {
		total = v.done
	}
	v.cfg.OnProgress(v.done, total)
}

// mismatch builds the error for chunks that differ. Key values are user data: they are printed in
// this error, which the operator needs to look at the rows, and nowhere else (never in logs).
func (v *verifier) mismatch(differ []outcome, repaired bool, reason string) *MismatchError {
	e := &MismatchError{Table: v.orig.name, Key: v.cfg.Key.Names(), Repaired: repaired, Reason: reason}
	for _, d := range differ {
		e.Ranges = append(e.Ranges, Range{Lower: d.chunk.lower, Upper: d.chunk.upper, OrigRows: d.orig.rows, GhostRows: d.ghost.rows})
	}
	return e
}

// MismatchError says that the ghost table does not hold the original's data: the cut-over must
// not happen.
type MismatchError struct {
	Table    string   // the original table, qualified
	Key      []string // the key's columns in the original
	Ranges   []Range  // the key ranges that differ
	Keys     [][]any  // the rows that differ among those the replay changed after the checksum
	Repaired bool     // whether they were copied again before the last comparison
	Reason   string   // why they were not copied again, when they were not
}

// maxPrinted bounds the ranges Error prints; Ranges holds them all.
const maxPrinted = 10

// Range is a range of the key in which the tables differ, with the rows each holds there.
type Range struct {
	Lower, Upper        []any // exclusive lower and inclusive upper key; nil is open
	OrigRows, GhostRows int64
}

// Describe prints the range with the key's column names, key values included.
func (r Range) Describe(key []string) string {
	names := sqlbuild.QuoteIdents(key)
	if len(key) > 1 {
		names = "(" + names + ")"
	}
	var bounds []string
	if r.Lower != nil {
		bounds = append(bounds, "> "+table.FormatKey(r.Lower))
	}
	if r.Upper != nil {
		bounds = append(bounds, "<= "+table.FormatKey(r.Upper))
	}
	where := "the whole key"
	if len(bounds) > 0 {
		where = names + " " + strings.Join(bounds, " and ")
	}
	return fmt.Sprintf("%s (%d rows in the original, %d in the ghost)", where, r.OrigRows, r.GhostRows)
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	if len(e.Keys) > 0 {
		names := sqlbuild.QuoteIdents(e.Key)
		if len(e.Key) > 1 {
			names = "(" + names + ")"
		}
		fmt.Fprintf(&b, "the ghost table does not hold the same data as %s for %d row(s) the replay changed after the checksum: %s = ", e.Table, len(e.Keys), names)
		writeFirst(&b, len(e.Keys), func(i int) string { return table.FormatKey(e.Keys[i]) })
		b.WriteString(". doppel does not cut over; the original table is untouched")
		return b.String()
	}
	fmt.Fprintf(&b, "the ghost table does not hold the same data as %s in %d key range(s)", e.Table, len(e.Ranges))
	if e.Repaired {
		b.WriteString(", even after copying them again")
	}
	b.WriteString(": ")
	writeFirst(&b, len(e.Ranges), func(i int) string { return e.Ranges[i].Describe(e.Key) })
	if e.Reason != "" {
		b.WriteString(". Not copied again: " + e.Reason)
	}
	b.WriteString(". doppel does not cut over; the original table is untouched")
	return b.String()
}

// writeFirst writes the first maxPrinted of n items, separated by "; ", and how many more there are.
func writeFirst(b *strings.Builder, n int, item func(int) string) {
	for i := range min(n, maxPrinted) {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(item(i))
	}
	if n > maxPrinted {
		fmt.Fprintf(b, "; and %d more", n-maxPrinted)
	}
}
