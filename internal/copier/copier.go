// Package copier copies the rows of the original table into the ghost table in chunks along the
// iteration key. Each chunk is one INSERT … SELECT … LOCK IN SHARE MODE over a key range found by an
// index read, so no chunk scans more than its own rows, whatever the key's type or width.
package copier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// Gate says whether the copier may write now. Wait returns when it may, or with ctx's error.
type Gate interface {
	Wait(ctx context.Context) error
}

// Config configures a Copier.
type Config struct {
	DB      *sql.DB // the primary
	Orig    *table.Table
	Ghost   *table.Table
	Key     *table.Key
	Mapping table.Mapping
	// ChunkSize is the largest chunk, in rows; it is read before every chunk, so it can be changed
	// while the copy runs.
	ChunkSize *atomic.Int64
	// TargetChunkTime, when > 0, sizes chunks adaptively: they start at min(ChunkSize, 1000) rows
	// and grow or shrink, at most twofold per chunk, so that one takes about this long, never above
	// ChunkSize. A chunk holds its rows' shared locks for its whole duration, so this bounds how long
	// the application can wait on the copy. 0 copies ChunkSize rows per chunk.
	TargetChunkTime time.Duration
	// TargetScale, when set, shortens the target before each chunk to TargetChunkTime / (1 +
	// TargetScale()): the latency target's pace (throttle.Throttler.Pace). A chunk's commit writes
	// all its rows to the binlog at once, and the application's commits wait behind that write and
	// its flush; a smaller chunk makes a shorter wait.
	TargetScale func() float64
	// Workers is how many chunks are copied at once; at least 1.
	Workers int
	// Retries is how often a chunk is tried again after a deadlock, lock wait timeout or lost connection.
	Retries int
	// PanicOnWarnings makes a chunk that leaves a warning (a value truncated or rounded) an error.
	PanicOnWarnings bool
	// After, when set, resumes a copy: only rows with a key after it are copied (the watermark of
	// an earlier run).
	After []any
	Gate  Gate // nil: never wait
	// AfterChunk, when set, runs after every chunk with how long it took and how many rows it
	// inserted: the nice-ratio rest and the metrics. An error stops the copy.
	AfterChunk func(ctx context.Context, took time.Duration, rows int64) error
	// OnRetry, when set, runs before a failed chunk is tried again, with the error (gh-ost's
	// on-batch-copy-retry hook); it must not block for long.
	OnRetry func(ctx context.Context, err error)
	// CatchUp, when set, returns once the replay has applied every change committed before the
	// call. A chunk whose row collides with a ghost row under a unique key of the ghost calls it and
	// is tried again: the ghost row may be an old version the replay has not updated yet.
	CatchUp func(ctx context.Context) error
	// Parents are the tables the ghost's foreign keys reference. Each chunk then first locks, in
	// share mode, the parent rows its rows reference, read without locking the original, and
	// copies in the same transaction. The copy's check of the ghost's foreign key takes the
	// parent's lock after the original's rows' (the chunk's locking read), while a parent's
	// cascading delete takes them the other way round: without this the two deadlock.
	Parents []Parent
	Logger  *zap.Logger // nil: no logs
}

// Parent is a table the ghost's rows reference: Columns of the original reference RefColumns of
// Table (a qualified name).
type Parent struct {
	Table      string
	Columns    []string
	RefColumns []string
}

// Copier copies rows. Its counters may be read while it runs.
type Copier struct {
	cfg     Config
	keyCols []sqlbuild.KeyCol
	origTbl string
	// copyFirst and copyNext are the chunk INSERT … SELECTs: the first chunk's range includes its
	// lower key, the others' start after it.
	copyFirst, copyNext string
	bindRange           func(keys ...[]any) []any
	// lockFirst and lockNext lock the parent rows a chunk's rows reference (Config.Parents).
	lockFirst, lockNext []string
	// nullCheck selects a row of a chunk's range (its lower key included) that holds NULL in a
	// column the ghost declares NOT NULL; it takes bindRange's arguments. Empty when no such column
	// exists.
	nullCheck string

	rowsCopied atomic.Int64
	chunks     atomic.Int64
	done       atomic.Bool
	size       atomic.Int64 // the adaptive chunk size, with TargetChunkTime

	mu        sync.Mutex
	watermark []any // every key up to here is copied
}

// New checks cfg and returns a Copier.
func New(cfg Config) (*Copier, error) {
	if cfg.DB == nil || cfg.Orig == nil || cfg.Ghost == nil || cfg.Key == nil || cfg.ChunkSize == nil {
		return nil, errors.New("copier: DB, Orig, Ghost, Key and ChunkSize are required")
	}
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	c := &Copier{cfg: cfg, origTbl: sqlbuild.QualifiedName(cfg.Orig.Schema, cfg.Orig.Name)}
	c.size.Store(min(cfg.ChunkSize.Load(), startChunk))
	c.watermark = cfg.After
	c.keyCols = cfg.Key.OrigCols()
	tmpl := sqlbuild.Copy{
		From: c.origTbl, Index: cfg.Key.Orig.Name, Into: sqlbuild.QualifiedName(cfg.Ghost.Schema, cfg.Ghost.Name),
		Lock: true, Key: cfg.Key.KeyColumns(), Trip: cfg.Key.Trip, TripBySubquery: cfg.Key.TripBySubquery,
	}
	var nullable []string
	for _, p := range cfg.Mapping.Copied {
		tmpl.Cols = append(tmpl.Cols, p.Ghost.Name)
		tmpl.Exprs = append(tmpl.Exprs, cfg.Mapping.Expr(p))
		if p.Orig.Nullable && !p.Ghost.Nullable {
			nullable = append(nullable, sqlbuild.QuoteIdent(p.Orig.Name)+" IS NULL")
		}
	}
	for _, first := range []bool{true, false} {
		where, bind := sqlbuild.And(sqlbuild.After(c.keyCols, first), sqlbuild.UpTo(c.keyCols, true))
		tmpl.Where = where.SQL
		locks := parentLocks(c.origTbl, cfg.Key.Orig.Name, where.SQL, cfg.Parents)
		if first {
			c.lockFirst = locks
			c.copyFirst = tmpl.SQL()
			// Including the lower key is harmless here: that row was copied by the chunk before.
			if len(nullable) > 0 {
				c.nullCheck = fmt.Sprintf("SELECT 1 FROM %s FORCE INDEX (%s) WHERE %s AND (%s) LIMIT 1",
					c.origTbl, sqlbuild.QuoteIdent(cfg.Key.Orig.Name), where.SQL, strings.Join(nullable, " OR "))
			}
		} else {
			c.lockNext = locks
			c.copyNext = tmpl.SQL()
		}
		c.bindRange = bind // the same arguments whether the lower key is included or not
	}
	return c, nil
}

// RowsCopied is the number of rows the copy has inserted so far.
func (c *Copier) RowsCopied() int64 { return c.rowsCopied.Load() }

// startChunk is where adaptive sizing starts: small enough to be quick on wide rows.
const startChunk = 1000

// ChunkSize is the size the next chunk will have.
func (c *Copier) ChunkSize() int64 {
	limit := max(1, c.cfg.ChunkSize.Load())
	if c.cfg.TargetChunkTime <= 0 {
		return limit
	}
	return max(1, min(c.size.Load(), limit))
}

// adapt moves the chunk size toward the target duration after a chunk of rows that took took.
func (c *Copier) adapt(rows int64, took time.Duration) {
	if c.cfg.TargetChunkTime <= 0 || rows <= 0 {
		return
	}
	size := c.ChunkSize()
	// A chunk shorter than its size (the table's end, or gaps in the key) says little about speed.
	if rows < size/2 {
		return
	}
	target := float64(c.cfg.TargetChunkTime)
	if c.cfg.TargetScale != nil {
		target /= 1 + max(c.cfg.TargetScale(), 0)
	}
	next := float64(size) * target / float64(max(took, time.Millisecond))
	next = max(float64(size)/2, min(next, float64(size)*2))
	c.size.Store(max(10, min(int64(next), c.cfg.ChunkSize.Load())))
}

// Chunks is the number of chunks copied so far.
func (c *Copier) Chunks() int64 { return c.chunks.Load() }

// Done reports whether the copy has finished.
func (c *Copier) Done() bool { return c.done.Load() }

// collisionAttempts bounds how often a colliding chunk is tried again after catching up the replay.
const collisionAttempts = 5

// quickCatchUp is a catch-up short enough for the original to have moved on little meanwhile, and
// closeCatchUps bounds how many catch-ups in a row look for one (catchUpClose).
const (
	quickCatchUp  = 100 * time.Millisecond
	closeCatchUps = 5
)

// catchUpClose catches the replay up again and again until one catch-up is quick. A colliding
// chunk is read again right after: the ghost must then be close to the original, not as far behind
// as the catch-up took. One catch-up can take seconds (while doppel is throttled the replay is
// held), and meanwhile the application moves unique values between rows again; a chunk retried
// after it can collide anew with another old version, which looks like a lasting duplicate.
func (c *Copier) catchUpClose(ctx context.Context) error {
	for range closeCatchUps {
		start := time.Now()
		if err := c.cfg.CatchUp(ctx); err != nil {
			return err
		}
		if time.Since(start) < quickCatchUp {
			return nil
		}
	}
	return nil
}

// parentLocks are the statements that lock, in share mode, the rows of each parent that the rows of
// a range of orig (along index, where) reference. The range is read without locks (a derived
// table), the parent through its key (STRAIGHT_JOIN): only the referenced parent rows are locked.
func parentLocks(orig, index, where string, parents []Parent) []string {
	out := make([]string, 0, len(parents))
	for _, p := range parents {
		sel := make([]string, len(p.Columns))
		on := make([]string, len(p.Columns))
		for i, col := range p.Columns {
			alias := sqlbuild.QuoteIdent(fmt.Sprintf("c%d", i))
			sel[i] = sqlbuild.QuoteIdent(col) + " AS " + alias
			on[i] = "p." + sqlbuild.QuoteIdent(p.RefColumns[i]) + " = x." + alias
		}
		out = append(out, fmt.Sprintf("SELECT 1 FROM (SELECT DISTINCT %s FROM %s FORCE INDEX (%s) WHERE %s) x STRAIGHT_JOIN %s p ON %s LOCK IN SHARE MODE",
			strings.Join(sel, ", "), orig, sqlbuild.QuoteIdent(index), where, p.Table, strings.Join(on, " AND ")))
	}
	return out
}

// exec runs the chunk's INSERT … SELECT and returns the rows it inserted.
func (c *Copier) exec(ctx context.Context, ch chunk, query string, args []any) (int64, error) {
	if len(c.cfg.Parents) > 0 {
		return c.execLocked(ctx, ch, query, args)
	}
	var affected int64
	err := dbconn.Retry(ctx, c.cfg.Retries, func(ctx context.Context) error {
		// One session for the statement and, with PanicOnWarnings, its warnings.
		conn, err := c.cfg.DB.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		res, err := conn.ExecContext(ctx, query, args...)
		if err != nil {
			if dbconn.IsRetryable(err) {
				c.cfg.Logger.Warn("chunk copy failed, retrying", zap.Int64("chunk", ch.seq), zap.Error(err))
				if c.cfg.OnRetry != nil {
					c.cfg.OnRetry(ctx, err)
				}
			}
			return err
		}
		if affected, err = res.RowsAffected(); err != nil {
			return err
		}
		if c.cfg.PanicOnWarnings {
			return dbconn.CheckWarnings(ctx, conn)
		}
		return nil
	})
	return affected, err
}

// execLocked is exec with the parent rows locked first, in one transaction.
func (c *Copier) execLocked(ctx context.Context, ch chunk, query string, args []any) (int64, error) {
	locks := c.lockNext
	if ch.first {
		locks = c.lockFirst
	}
	var affected int64
	err := dbconn.Retry(ctx, c.cfg.Retries, func(ctx context.Context) error {
		conn, err := c.cfg.DB.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }() // a no-op after Commit
		err = func() error {
			for _, lock := range locks {
				if err := drain(ctx, tx, lock, args); err != nil {
					return err
				}
			}
			res, err := tx.ExecContext(ctx, query, args...)
			if err != nil {
				return err
			}
			if affected, err = res.RowsAffected(); err != nil {
				return err
			}
			if c.cfg.PanicOnWarnings {
				if err := dbconn.CheckWarnings(ctx, tx); err != nil {
					return err
				}
			}
			return tx.Commit()
		}()
		if err != nil && dbconn.IsRetryable(err) {
			c.cfg.Logger.Warn("chunk copy failed, retrying", zap.Int64("chunk", ch.seq), zap.Error(err))
		}
		return err
	})
	return affected, err
}

// drain runs a query and reads its rows to the end (the locks are what it is for).
func drain(ctx context.Context, tx *sql.Tx, query string, args []any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// collision reports whether err says a row of the chunk collides with a ghost row under a unique
// key of the ghost: sqlbuild.Copy's NULL for the key (1048) when no row of the chunk holds a NULL
// for a column the ghost declares NOT NULL (which raises 1048 too), or a duplicate (1062).
func (c *Copier) collision(ctx context.Context, ch chunk, err error) bool {
	switch dbconn.ErrorNumber(err) {
	case dbconn.ErrDupEntry, dbconn.ErrSubqueryRows:
		return true
	case dbconn.ErrBadNull:
	default:
		return false
	}
	if c.nullCheck == "" {
		return true
	}
	var one int
	qerr := c.cfg.DB.QueryRowContext(ctx, c.nullCheck, c.bindRange(ch.lower, ch.upper)...).Scan(&one)
	return errors.Is(qerr, sql.ErrNoRows)
}

// chunk is one key range [lower, upper]; lower is exclusive except for the first chunk.
type chunk struct {
	seq          int64
	lower, upper []any
	first        bool
}

// Run copies every row that exists when it starts, from the first key (or after cfg.After) to the
// last one read now.
// Rows inserted later are beyond that range or replayed from the binlog; rows changed later are
// replayed too, so copying each range once is enough. The binlog stream must already be running.
func (c *Copier) Run(ctx context.Context) error {
	first, err := c.edge(ctx, false)
	if err != nil {
		return err
	}
	if first == nil {
		c.cfg.Logger.Info("the table is empty: nothing to copy")
		c.done.Store(true)
		return nil
	}
	last, err := c.edge(ctx, true)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.Workers)
	tracker := newWatermark()
	lower, isFirst := first, true
	if c.cfg.After != nil {
		lower, isFirst = c.cfg.After, false
	}
	var loopErr error
	for seq := int64(0); ; seq++ {
		if c.cfg.Gate != nil {
			if loopErr = c.cfg.Gate.Wait(gctx); loopErr != nil {
				break
			}
		}
		upper, final, err := c.nextUpper(gctx, lower, isFirst, last)
		if err != nil {
			loopErr = err
			break
		}
		ch := chunk{seq: seq, lower: lower, upper: upper, first: isFirst}
		tracker.started(seq, upper)
		g.Go(func() error {
			if err := c.copyChunk(gctx, ch); err != nil {
				return err
			}
			if wm := tracker.finished(ch.seq); wm != nil {
				c.mu.Lock()
				c.watermark = wm
				c.mu.Unlock()
			}
			return nil
		})
		if final {
			break
		}
		lower, isFirst = upper, false
	}
	// A worker's failure cancels gctx and so ends the loop too: report the worker's error first.
	if err := g.Wait(); err != nil {
		return err
	}
	if loopErr != nil {
		return loopErr
	}
	c.done.Store(true)
	return nil
}

// Watermark returns the key up to which every row has been copied (nil before the first chunk ends).
func (c *Copier) Watermark() []any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.watermark
}

// edge reads the first or the last key of the original table; nil when it is empty.
func (c *Copier) edge(ctx context.Context, last bool) ([]any, error) {
	q := sqlbuild.SelectEdge(c.origTbl, c.cfg.Key.Orig.Name, c.keyCols, last)
	key, err := c.readKey(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("reading the range of key %s of %s: %w", c.cfg.Key.Orig.Name, c.origTbl, err)
	}
	if slices.Contains(key, nil) {
		// A nullable key (--allow-nullable-unique-key) sorts NULL first: no range holds that row.
		return nil, fmt.Errorf("%w: a row of %s holds NULL in the key %s, so no key range holds it; keep the application from writing NULL into the key during the migration", table.ErrNullKey, c.origTbl, c.cfg.Key.Orig.Name)
	}
	return key, nil
}

// nextUpper finds the upper end of the chunk that starts after lower: the key ChunkSize rows on, or
// last when fewer rows remain (then final is true).
func (c *Copier) nextUpper(ctx context.Context, lower []any, inclusive bool, last []any) (upper []any, final bool, err error) {
	size := c.ChunkSize()
	where, bind := sqlbuild.And(sqlbuild.After(c.keyCols, inclusive), sqlbuild.UpTo(c.keyCols, true))
	q := sqlbuild.SelectBoundary(c.origTbl, c.cfg.Key.Orig.Name, c.keyCols, where, int(size-1))
	upper, err = c.readKey(ctx, q, bind(lower, last)...)
	if err != nil {
		return nil, false, fmt.Errorf("finding the next chunk of %s: %w", c.origTbl, err)
	}
	if upper == nil {
		return last, true, nil
	}
	// A chunk that ends exactly on the last key is the final one: no empty chunk after it.
	return upper, reflect.DeepEqual(upper, last), nil
}

func (c *Copier) readKey(ctx context.Context, query string, args ...any) ([]any, error) {
	var key []any
	err := dbconn.Retry(ctx, c.cfg.Retries, func(ctx context.Context) error {
		var err error
		key, err = table.ReadKey(ctx, c.cfg.DB, c.cfg.Key, query, args...)
		return err
	})
	return key, err
}

func (c *Copier) copyChunk(ctx context.Context, ch chunk) error {
	query := c.copyNext
	if ch.first {
		query = c.copyFirst
	}
	args := c.bindRange(ch.lower, ch.upper)
	start := time.Now()
	var affected int64
	var err error
	for attempt := 1; ; attempt++ {
		affected, err = c.exec(ctx, ch, query, args)
		if err == nil || !c.collision(ctx, ch, err) {
			break
		}
		if c.cfg.CatchUp == nil || attempt == collisionAttempts {
			err = fmt.Errorf("%w: %w", table.ErrCollision, err)
			break
		}
		// The ghost row it collides with may be an old version of a row whose change the replay
		// has not applied yet: wait until it has, and try again.
		c.cfg.Logger.Info("a chunk collides under a unique key of the altered table; catching up the replay and trying again", zap.Int64("chunk", ch.seq))
		if cerr := c.catchUpClose(ctx); cerr != nil {
			return fmt.Errorf("catching up the replay after chunk %d collided: %w", ch.seq, cerr)
		}
	}
	if err != nil {
		return fmt.Errorf("copying chunk %d of %s into the ghost table: %w", ch.seq, c.origTbl, err)
	}
	c.rowsCopied.Add(affected)
	c.chunks.Add(1)
	took := time.Since(start)
	c.adapt(affected, took)
	c.cfg.Logger.Debug("chunk copied", zap.Int64("chunk", ch.seq), zap.Int64("rows", affected), zap.Duration("took", took))
	if c.cfg.AfterChunk != nil {
		return c.cfg.AfterChunk(ctx, took, affected)
	}
	return nil
}
