// Package applier replays the binlog changes of the original table on the ghost table. Changes are
// gathered in batches; within a batch only the last image of each key counts (a later change of the
// same row makes the earlier ones moot). A batch is written in one transaction: a DELETE of the keys
// whose last change removed the row, and, for the rows written, their images are put into a stage
// table of the original's own column types and copied from there into the ghost by the same
// INSERT … SELECT the row copy uses. The server thus converts a replayed value exactly as it converts
// a copied one (and as ALTER TABLE does), whatever form the binlog gives it in: an ENUM as its
// member number, a BIT as an integer, a date as text. Both statements are idempotent, so replaying a
// change twice, or a change to a row the copy has not reached yet, is always safe.
//
// When the ghost has no unique key on exactly the iteration key's columns (a PRIMARY KEY extended
// with a column, table.Key.Enforced false), a row written is first deleted by its key, in the same
// transaction.
//
// A replayed row that collides with another row under a unique key of the ghost that the original
// does not enforce (one the ALTER adds) is never written over the other row: it is held back and
// tried again after every batch, since a later change may remove the collision. Rows still held
// back when the migration wants to verify or swap make it refuse (Collisions).
package applier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/binlog"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// Config configures an Applier.
type Config struct {
	DB      *sql.DB // the primary
	Orig    *table.Table
	Ghost   *table.Table
	Key     *table.Key
	Mapping table.Mapping
	// BatchSize bounds the number of row changes written in one transaction; read before each batch.
	BatchSize *atomic.Int64
	// Retries is how often a batch is tried again after a deadlock, lock wait timeout or lost connection.
	Retries int
	// OnOther receives, in binlog order and after every change before it has been applied, the
	// changes of watched tables other than the original one (the changelog table's markers).
	OnOther func(binlog.Change) error
	// OnDDL receives, in binlog order and after every change before it has been applied, each DDL
	// statement of the watched schema; an error stops the applier.
	OnDDL func(binlog.DDL) error
	// Gate, when set, is waited on before every write: while it holds, nothing is written (a
	// throttle). Transactions then queue in the channel and the binlog reader pauses at its position.
	Gate interface {
		Wait(ctx context.Context) error
	}
	// PanicOnWarnings makes a batch whose statements leave a warning an error, and a row that
	// collides under a unique key of the ghost an error at once instead of a row held back.
	PanicOnWarnings bool
	// Divert, when set, sees every change of the original table first; when it returns true the
	// change is not written (the migration takes the changes that reach the original once the
	// swap has begun: they belong to the new table, which the ghost is turning into).
	Divert func(binlog.Change) bool
	// OnFlush, when set, is called after every batch written, with how long the write took.
	OnFlush func(took time.Duration)
	Logger  *zap.Logger
}

// Applier replays changes. Its counters may be read while it runs.
type Applier struct {
	cfg      Config
	ghostTbl string
	stageTbl string
	keyBind  []sqlbuild.KeyCol // key columns of the ghost, binding original values
	// The stage: the copied columns of the original, under their own names and types.
	createStage string
	stageCols   []string
	stageBinds  []string
	stageDefs   []*table.Column   // the original's columns of stageCols
	stageKey    []sqlbuild.KeyCol // the key in the stage, to pick one row
	fromStage   sqlbuild.Copy     // stage → ghost; Where is set for one row at a time
	// fromOrig copies one row from the original as it is now, by key: the row whose parent was
	// deleted since its image was logged (see orphaned).
	fromOrig sqlbuild.Copy
	// notNull are the copied columns the ghost declares NOT NULL while the original allows NULL:
	// the one way a row can fail with the same error as a collision (see collides).
	notNull []int

	conn *sql.Conn // the session holding the stage table; nil until the first write

	// held are the rows that collided under a unique key of the ghost, by key, tried again after
	// each batch; heldFrom is the position before the batch that held back the oldest of them.
	held     map[string]*op
	heldFrom binlog.Position
	end      binlog.Position // the end of the last transaction written

	received atomic.Int64 // row changes of the original table read from the stream
	recopied atomic.Int64 // rows re-copied from the original: their parent was gone
	applied  atomic.Int64 // row changes written (after collapsing, counted before it)
	// By kind (binlog.Insert, Update, Delete), for the metrics.
	receivedKind, appliedKind [binlog.Delete + 1]atomic.Int64
	position                  atomic.Pointer[binlog.Position]
	appliedTime               atomic.Int64 // UnixNano of the last applied transaction's commit
	collisions                atomic.Pointer[Collisions]

	// touched are the keys written since the last TakeTouched, for the verification of the rows
	// the replay changed after the checksum's consistent point; nil until the first TakeTouched:
	// the copy's replay needs no such record.
	touchedMu sync.Mutex
	touched   map[string][]any
	overflow  bool // more than maxTouched keys: too many to keep
}

// stageName is the replay's stage table. It is TEMPORARY: private to the applier's session, not
// written to a ROW binlog, gone with the session.
const stageName = "_doppel_stage"

// New checks cfg and returns an Applier.
func New(cfg Config) (*Applier, error) {
	if cfg.DB == nil || cfg.Orig == nil || cfg.Ghost == nil || cfg.Key == nil || cfg.BatchSize == nil {
		return nil, errors.New("applier: DB, Orig, Ghost, Key and BatchSize are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	a := &Applier{
		cfg:      cfg,
		ghostTbl: sqlbuild.QualifiedName(cfg.Ghost.Schema, cfg.Ghost.Name),
		stageTbl: sqlbuild.QualifiedName(cfg.Orig.Schema, stageName),
		held:     map[string]*op{},
	}
	a.keyBind, a.stageKey = cfg.Key.GhostCols(), cfg.Key.OrigCols()
	a.fromStage = sqlbuild.Copy{From: a.stageTbl, Into: a.ghostTbl, Key: cfg.Key.KeyColumns(), Trip: cfg.Key.Trip, TripBySubquery: cfg.Key.TripBySubquery, Update: true}
	for i, p := range cfg.Mapping.Copied {
		if !sqlbuild.IsWord(p.Orig.Charset) && p.Orig.Charset != "" {
			return nil, fmt.Errorf("column %s has an unexpected character set %q", p.Orig.Name, p.Orig.Charset)
		}
		a.stageCols = append(a.stageCols, p.Orig.Name)
		a.stageBinds = append(a.stageBinds, table.BindExpr(p.Orig, p.Orig))
		a.stageDefs = append(a.stageDefs, p.Orig)
		a.fromStage.Cols = append(a.fromStage.Cols, p.Ghost.Name)
		a.fromStage.Exprs = append(a.fromStage.Exprs, cfg.Mapping.Expr(p))
		if p.Orig.Nullable && !p.Ghost.Nullable {
			a.notNull = append(a.notNull, i)
		}
	}
	a.fromOrig = a.fromStage
	a.fromOrig.From = sqlbuild.QualifiedName(cfg.Orig.Schema, cfg.Orig.Name)
	a.fromOrig.Lock = true
	a.fromOrig.Where = sqlbuild.Equal(a.stageKey).SQL
	a.createStage = sqlbuild.CreateTemporaryLike(a.stageTbl, cfg.Key.Names(), sqlbuild.QualifiedName(cfg.Orig.Schema, cfg.Orig.Name), a.stageCols)
	return a, nil
}

// Received is the number of row changes of the original table read so far.
func (a *Applier) Received() int64 { return a.received.Load() }

// Applied is the number of those changes the ghost table now reflects.
func (a *Applier) Applied() int64 { return a.applied.Load() }

// ByKind returns the row changes received and applied so far, by kind: index binlog.Insert,
// binlog.Update and binlog.Delete.
func (a *Applier) ByKind() (received, applied [binlog.Delete + 1]int64) {
	for k := range received {
		received[k] = a.receivedKind[k].Load()
		applied[k] = a.appliedKind[k].Load()
	}
	return received, applied
}

// AppliedTime is when the server wrote the last transaction fully applied (zero before any).
func (a *Applier) AppliedTime() time.Time {
	if n := a.appliedTime.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Position is the end of the last transaction fully applied: replaying from there loses nothing.
// While rows are held back it stays before the batch that held back the oldest of them, so that a
// run resumed from a checkpoint meets them again.
func (a *Applier) Position() binlog.Position {
	if p := a.position.Load(); p != nil {
		return *p
	}
	return binlog.Position{}
}

// maxTouched bounds the keys TakeTouched can return: 1,000,000 keys of a few dozen bytes each.
const maxTouched = 1_000_000

// TakeTouched returns the keys (of the original) of the rows the replay has written or deleted
// since the last call, and forgets them; the first call starts the record. overflow is true when
// there were more than it keeps: the caller must then treat every row as touched.
func (a *Applier) TakeTouched() (keys [][]any, overflow bool) {
	a.touchedMu.Lock()
	defer a.touchedMu.Unlock()
	keys = make([][]any, 0, len(a.touched))
	for _, k := range a.touched {
		keys = append(keys, k)
	}
	overflow = a.overflow
	a.touched, a.overflow = map[string][]any{}, false
	return keys, overflow
}

// Touched returns what TakeTouched would, without forgetting it.
func (a *Applier) Touched() (keys [][]any, overflow bool) {
	a.touchedMu.Lock()
	defer a.touchedMu.Unlock()
	keys = make([][]any, 0, len(a.touched))
	for _, k := range a.touched {
		keys = append(keys, k)
	}
	return keys, a.overflow
}

// TouchedCount is how many keys TakeTouched would return now.
func (a *Applier) TouchedCount() (n int, overflow bool) {
	a.touchedMu.Lock()
	defer a.touchedMu.Unlock()
	return len(a.touched), a.overflow
}

func (a *Applier) touch(ops map[string]*op) {
	a.touchedMu.Lock()
	defer a.touchedMu.Unlock()
	for k, o := range ops {
		if a.touched == nil || a.overflow {
			return
		}
		if len(a.touched) >= maxTouched {
			a.touched, a.overflow = map[string][]any{}, true
			return
		}
		a.touched[k] = o.key
	}
}

// Collisions describes the rows held back because they collide with other rows under a unique key
// of the ghost table.
type Collisions struct {
	Rows int
	// Example is the key of one of them, in the original's key columns: user data, for the
	// operator's eyes only (an error message), never for the logs.
	Example []any
}

// Collisions returns the rows held back now; nil when there are none.
func (a *Applier) Collisions() *Collisions { return a.collisions.Load() }

// Run applies the transactions read from in until ctx ends, in is closed, or an error occurs.
func (a *Applier) Run(ctx context.Context, in <-chan binlog.Txn) error {
	defer a.closeSession()
	b := newBatch()
	for {
		var txn binlog.Txn
		var ok bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case txn, ok = <-in:
		}
		if !ok {
			return a.flush(ctx, b)
		}
		if err := a.take(ctx, b, txn); err != nil {
			return stopped(err)
		}
		// Keep taking what is already waiting, up to the batch size, then write.
	drain:
		for int64(b.events) < a.cfg.BatchSize.Load() {
			select {
			case txn, ok = <-in:
				if !ok {
					return a.flush(ctx, b)
				}
				if err := a.take(ctx, b, txn); err != nil {
					return stopped(err)
				}
			default:
				break drain
			}
		}
		if err := a.flush(ctx, b); err != nil {
			return err
		}
	}
}

// stopped turns ErrStop into a clean end.
func stopped(err error) error {
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

// take adds txn to the batch; a DDL or a change of another table first writes the batch out, so
// callbacks see the ghost up to date with everything before them.
func (a *Applier) take(ctx context.Context, b *batch, txn binlog.Txn) error {
	if txn.DDL != nil {
		if err := a.flush(ctx, b); err != nil {
			return err
		}
		b.end, b.endTime = txn.End, txn.Time
		if a.cfg.OnDDL != nil {
			if err := a.cfg.OnDDL(*txn.DDL); err != nil {
				if errors.Is(err, ErrStop) {
					// The stream ends at this statement (the swap's RENAME): Position is past it,
					// where a stream of what follows (a revert's) starts.
					a.setPosition(txn.End, txn.Time)
				}
				return err
			}
		}
		return nil
	}
	for _, ch := range txn.Changes {
		if ch.Table != a.cfg.Orig.Name {
			if err := a.flush(ctx, b); err != nil {
				return err
			}
			if a.cfg.OnOther != nil {
				if err := a.cfg.OnOther(ch); err != nil {
					return err
				}
			}
			continue
		}
		a.received.Add(1)
		if a.cfg.Divert != nil && a.cfg.Divert(ch) {
			continue
		}
		if ch.Kind <= binlog.Delete {
			a.receivedKind[ch.Kind].Add(1)
			b.kinds[ch.Kind]++
		}
		if err := a.add(b, ch); err != nil {
			return err
		}
		// A huge transaction is written in parts, so memory stays bounded; the position moves only
		// past whole transactions, so a restart replays this one from its start.
		if b.events >= maxBatchEvents {
			if err := a.flush(ctx, b); err != nil {
				return err
			}
		}
	}
	b.end, b.endTime = txn.End, txn.Time
	return nil
}

// add records the effect of one row change on the batch.
func (a *Applier) add(b *batch, ch binlog.Change) error {
	b.events++
	switch ch.Kind {
	case binlog.Insert:
		return a.upsert(b, ch.After)
	case binlog.Delete:
		return a.remove(b, ch.Before)
	case binlog.Update:
		before, err := a.keyOf(ch.Before)
		if err != nil {
			return err
		}
		after, err := a.keyOf(ch.After)
		if err != nil {
			return err
		}
		if keyString(before) != keyString(after) {
			// The key changed: the row under the old key is gone.
			b.set(before, nil)
		}
		return a.upsert(b, ch.After)
	}
	return fmt.Errorf("unknown row change kind %d", ch.Kind)
}

func (a *Applier) upsert(b *batch, row []any) error {
	key, err := a.keyOf(row)
	if err != nil {
		return err
	}
	vals := make([]any, len(a.cfg.Mapping.Copied))
	for i, p := range a.cfg.Mapping.Copied {
		if vals[i], err = fromBinlog(p.Orig, row[p.Orig.Ordinal-1]); err != nil {
			return err
		}
	}
	b.set(key, vals)
	return nil
}

func (a *Applier) remove(b *batch, row []any) error {
	key, err := a.keyOf(row)
	if err != nil {
		return err
	}
	b.set(key, nil)
	return nil
}

// KeyOf returns the key values of a row image of the original table.
func (a *Applier) KeyOf(row []any) ([]any, error) { return a.keyOf(row) }

// keyOf returns the key values of a row image, checking the image matches the table's definition.
func (a *Applier) keyOf(row []any) ([]any, error) {
	if len(row) != len(a.cfg.Orig.Columns) {
		return nil, fmt.Errorf("a binlog row of %s has %d columns, the table has %d: its definition changed during the migration",
			a.cfg.Orig.Name, len(row), len(a.cfg.Orig.Columns))
	}
	key := make([]any, len(a.cfg.Key.Columns))
	for i, p := range a.cfg.Key.Columns {
		v, err := fromBinlog(p.Orig, row[p.Orig.Ordinal-1])
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, fmt.Errorf("%w: a row of %s with NULL in column %s was written during the migration. doppel iterates the unique key %s, which allows NULL (--allow-nullable-unique-key), and cannot replay a change of such a row; the migration stops. Keep the application from writing NULL into the key during the migration (or add a PRIMARY KEY) and run it again",
				table.ErrNullKey, a.cfg.Orig.Name, p.Orig.Name, a.cfg.Key.Orig.Name)
		}
		key[i] = v
	}
	return key, nil
}

// maxBatchEvents bounds the row changes held before writing, whatever the transaction's size;
// maxPlaceholders stays under the server's limit of 65535 placeholders per prepared statement, and
// maxStatementBytes well under the default max_allowed_packet, whatever the row width (a single row
// larger than the server's max_allowed_packet is sent as a prepared statement: dbconn.Open).
// maxHeld bounds the rows held back for colliding: more than that is no passing race but an
// application that writes duplicates.
const (
	maxBatchEvents    = 10000
	maxPlaceholders   = 60000
	maxStatementBytes = 4 << 20
	maxHeld           = 1000
)

// flush writes the batch in one transaction and empties it, then tries the held-back rows again.
func (a *Applier) flush(ctx context.Context, b *batch) error {
	if b.empty() {
		if !b.end.IsZero() {
			a.setPosition(b.end, b.endTime)
		}
		return nil
	}
	if a.cfg.Gate != nil {
		if err := a.cfg.Gate.Wait(ctx); err != nil {
			return err
		}
	}
	start := time.Now()
	before := a.end
	var deletes [][]any
	var upserts []*op
	for _, k := range b.order {
		o := b.ops[k]
		// The batch's change of the row supersedes a held-back one.
		delete(a.held, k)
		switch {
		case o.row == nil:
			deletes = append(deletes, o.key)
		case !a.cfg.Key.Enforced:
			// The ghost's unique key is longer than the iteration key (or a plain index): a row
			// whose other key columns changed would not replace its old version. Delete it first.
			deletes = append(deletes, o.key)
			upserts = append(upserts, o)
		default:
			upserts = append(upserts, o)
		}
	}
	var held []*op
	err := a.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := a.writeDeletes(ctx, tx, deletes); err != nil {
			return err
		}
		var err error
		held, err = a.writeUpserts(ctx, tx, upserts)
		return err
	})
	if err != nil {
		return fmt.Errorf("replaying %d row changes on the ghost table %s: %w", b.events, a.ghostTbl, err)
	}
	a.touch(b.ops)
	a.applied.Add(int64(b.events))
	for k, n := range b.kinds {
		a.appliedKind[k].Add(int64(n))
	}
	if len(held) > 0 && len(a.held) == 0 {
		a.heldFrom = before
	}
	for _, o := range held {
		a.held[keyString(o.key)] = o
	}
	a.setPosition(b.end, b.endTime)
	b.reset()
	if err := a.retryHeld(ctx); err != nil {
		return err
	}
	if a.cfg.OnFlush != nil {
		a.cfg.OnFlush(time.Since(start))
	}
	return nil
}

// inTx runs fn in a transaction of the applier's session, retried on a deadlock, a lock wait timeout
// or a lost connection. A failed attempt gives up the session: a new one creates the stage again.
func (a *Applier) inTx(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	return dbconn.Retry(ctx, a.cfg.Retries, func(ctx context.Context) error {
		conn, err := a.session(ctx)
		if err != nil {
			return err
		}
		err = func() error {
			tx, err := conn.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback() }() // after Commit this is a no-op
			if err := fn(ctx, tx); err != nil {
				return err
			}
			return tx.Commit()
		}()
		if err != nil && dbconn.IsRetryable(err) {
			a.closeSession()
		}
		return err
	})
}

// session returns the applier's session, opening it and creating the stage table when needed.
func (a *Applier) session(ctx context.Context) (*sql.Conn, error) {
	if a.conn != nil {
		return a.conn, nil
	}
	conn, err := a.cfg.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, a.createStage); err != nil {
		dbconn.Discard(conn)
		return nil, fmt.Errorf("creating the replay's stage table: %w", err)
	}
	a.conn = conn
	return conn, nil
}

func (a *Applier) closeSession() {
	if a.conn != nil {
		dbconn.Discard(a.conn) // the stage table goes with the session
		a.conn = nil
	}
}

func (a *Applier) setPosition(p binlog.Position, at time.Time) {
	a.end = p
	a.publishPosition()
	if !at.IsZero() {
		a.appliedTime.Store(at.UnixNano())
	}
}

// publishPosition makes Position the end of the last transaction written, or while rows are held
// back, the position before the batch that held back the oldest of them.
func (a *Applier) publishPosition() {
	pos := a.end
	if len(a.held) > 0 {
		pos = a.heldFrom
	}
	a.position.Store(&pos)
}

func (a *Applier) writeDeletes(ctx context.Context, tx *sql.Tx, keys [][]any) error {
	return writeInParts(keys, len(a.keyBind), func(part [][]any) error {
		args := make([]any, 0, len(part)*len(a.keyBind))
		for _, k := range part {
			args = append(args, k...)
		}
		if _, err := tx.ExecContext(ctx, sqlbuild.DeleteByKeys(a.ghostTbl, a.keyBind, len(part)), args...); err != nil {
			return err
		}
		return a.checkWarnings(ctx, tx)
	})
}

// writeUpserts writes the rows through the stage. It returns the rows that collide with other rows
// under a unique key of the ghost, which it did not write.
func (a *Applier) writeUpserts(ctx context.Context, tx *sql.Tx, ops []*op) (held []*op, err error) {
	rows := make([][]any, len(ops))
	for i, o := range ops {
		rows[i] = o.row
	}
	start := 0
	err = writeInParts(rows, len(a.stageCols), func(part [][]any) error {
		partOps := ops[start : start+len(part)]
		start += len(part)
		if err := a.stage(ctx, tx, part); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, a.fromStage.SQL())
		if err == nil {
			err = a.checkWarnings(ctx, tx)
		}
		if err != nil && (collisionError(err) || orphaned(err)) {
			// One of the rows collides (or holds a NULL for a NOT NULL column, or references a
			// parent deleted since): the statement was rolled back alone; write the rows one at a
			// time to find which.
			var h []*op
			h, err = a.writeEach(ctx, tx, partOps)
			held = append(held, h...)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM "+a.stageTbl)
		return err
	})
	return held, err
}

// stage puts row images into the stage table, each value bound into its own column type: exactly
// the value the original holds.
func (a *Applier) stage(ctx context.Context, tx *sql.Tx, rows [][]any) error {
	args := make([]any, 0, len(rows)*len(a.stageCols))
	for _, r := range rows {
		args = append(args, r...)
	}
	// An ENUM's empty "error" member is put back by a non-strict statement; the server warns about
	// it, and it is no warning about the migration's data: warnings are not checked here.
	if table.HasEnumErrorValue(a.stageDefs, rows) {
		return dbconn.WithSQLMode(ctx, tx, dbconn.LenientSQLMode, func() error {
			_, err := tx.ExecContext(ctx, sqlbuild.InsertValues(a.stageTbl, a.stageCols, a.stageBinds, len(rows)), args...)
			return err
		})
	}
	if _, err := tx.ExecContext(ctx, sqlbuild.InsertValues(a.stageTbl, a.stageCols, a.stageBinds, len(rows)), args...); err != nil {
		return fmt.Errorf("staging row images: %w", err)
	}
	return nil
}

// writeEach copies the staged rows of ops into the ghost one at a time and returns those that
// collide. With PanicOnWarnings the first collision is an error.
func (a *Applier) writeEach(ctx context.Context, tx *sql.Tx, ops []*op) (held []*op, err error) {
	where := sqlbuild.Equal(a.stageKey)
	one := a.fromStage
	one.Where = where.SQL
	query := one.SQL()
	for _, o := range ops {
		_, err := tx.ExecContext(ctx, query, where.Bind(o.key)...)
		if err == nil {
			err = a.checkWarnings(ctx, tx)
		}
		switch {
		case err == nil:
			continue
		case orphaned(err):
			if err := a.recopy(ctx, tx, o.key); err != nil {
				return nil, err
			}
			continue
		case !collisionError(err):
			return nil, err
		case a.nullForNotNull(o.row):
			return nil, fmt.Errorf("a row holds NULL in a column the altered table declares NOT NULL: %w", err)
		case a.cfg.PanicOnWarnings:
			return nil, fmt.Errorf("%w (--panic-on-warnings): %w", table.ErrCollision, err)
		}
		held = append(held, o)
	}
	return held, nil
}

// orphaned reports whether err is a foreign key of the ghost finding no parent row: the row's image
// was logged before its parent was deleted, and the delete's cascade (which is not in the binary
// log) reached the original's row, and the ghost's copy of it if it had one. The row is re-copied
// from the original as it is now (recopy).
func orphaned(err error) bool { return dbconn.ErrorNumber(err) == dbconn.ErrNoReferencedRow }

// recopy makes the ghost's row of key what the original holds now: gone when the cascade deleted
// it, with NULL where it set NULL. The original's row is read with a shared lock, so its parent
// cannot go before the transaction ends; the replay's later images of the row overwrite it, as
// the verification's repair does.
func (a *Applier) recopy(ctx context.Context, tx *sql.Tx, key []any) error {
	if _, err := tx.ExecContext(ctx, sqlbuild.DeleteByKeys(a.ghostTbl, a.keyBind, 1), key...); err != nil {
		return fmt.Errorf("re-copying a row whose parent row is gone: %w", err)
	}
	where := sqlbuild.Equal(a.stageKey)
	if _, err := tx.ExecContext(ctx, a.fromOrig.SQL(), where.Bind(key)...); err != nil {
		return fmt.Errorf("re-copying a row whose parent row is gone: %w", err)
	}
	a.recopied.Add(1)
	return nil
}

// Recopied is how many replayed rows were re-copied from the original because their parent row
// was gone.
func (a *Applier) Recopied() int64 { return a.recopied.Load() }

// nullForNotNull reports whether the row holds NULL for a column the ghost declares NOT NULL.
func (a *Applier) nullForNotNull(row []any) bool {
	for _, i := range a.notNull {
		if row[i] == nil {
			return true
		}
	}
	return false
}

// retryHeld tries the held-back rows again: a change since may have removed their collision.
func (a *Applier) retryHeld(ctx context.Context) error {
	if len(a.held) == 0 {
		a.collisions.Store(nil)
		return nil
	}
	ops := make([]*op, 0, len(a.held))
	for _, o := range a.held {
		ops = append(ops, o)
	}
	var still []*op
	err := a.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows := make([][]any, len(ops))
		for i, o := range ops {
			rows[i] = o.row
		}
		if err := a.stage(ctx, tx, rows); err != nil {
			return err
		}
		var err error
		if still, err = a.writeEach(ctx, tx, ops); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM "+a.stageTbl)
		return err
	})
	if err != nil {
		return fmt.Errorf("writing rows held back for colliding under a unique key: %w", err)
	}
	written := a.held
	a.held = map[string]*op{}
	for _, o := range still {
		k := keyString(o.key)
		a.held[k] = o
		delete(written, k)
	}
	a.touch(written)
	if len(a.held) == 0 {
		a.cfg.Logger.Info("rows held back for colliding under a unique key are written: the collision is gone")
		a.publishPosition()
		a.collisions.Store(nil)
		return nil
	}
	if len(a.held) > maxHeld {
		return fmt.Errorf("%w: %d rows are held back; the application writes values that repeat under the new key", table.ErrCollision, len(a.held))
	}
	a.collisions.Store(&Collisions{Rows: len(a.held), Example: still[0].key})
	a.cfg.Logger.Warn("replayed rows collide with other rows under a unique key of the altered table; they are held back and tried again after every batch",
		zap.Int("rows", len(a.held)))
	return nil
}

// collisionError reports whether err is what a row colliding under a unique key of the ghost
// raises: sqlbuild.Copy's NULL for the key (1048), or a duplicate met while updating (1062). A NULL
// for a NOT NULL column raises 1048 too; writeEach tells them apart.
func collisionError(err error) bool {
	n := dbconn.ErrorNumber(err)
	return n == dbconn.ErrBadNull || n == dbconn.ErrDupEntry || n == dbconn.ErrSubqueryRows
}

func (a *Applier) checkWarnings(ctx context.Context, tx *sql.Tx) error {
	if !a.cfg.PanicOnWarnings {
		return nil
	}
	return dbconn.CheckWarnings(ctx, tx)
}

// writeInParts calls write for consecutive parts of rows small enough for one statement.
func writeInParts(rows [][]any, width int, write func([][]any) error) error {
	for start := 0; start < len(rows); {
		end, size := start, 0
		for end < len(rows) && (end-start+1)*width <= maxPlaceholders && (end == start || size+rowBytes(rows[end]) <= maxStatementBytes) {
			size += rowBytes(rows[end])
			end++
		}
		if err := write(rows[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// rowBytes estimates the bytes a row takes in the statement text.
func rowBytes(row []any) int {
	n := 0
	for _, v := range row {
		switch x := v.(type) {
		case []byte:
			n += 2*len(x) + 12 // escaping may double it, plus _binary''
		case string:
			n += 2*len(x) + 4
		default:
			n += 24
		}
	}
	return n
}

// batch holds the last effect of each key changed since the last write, in first-seen order.
type batch struct {
	ops     map[string]*op
	order   []string
	events  int
	kinds   [binlog.Delete + 1]int // events by kind
	end     binlog.Position
	endTime time.Time // when the server wrote the transaction ending at end
}

type op struct {
	key []any
	row []any // values of the copied columns; nil: delete
}

func newBatch() *batch { return &batch{ops: map[string]*op{}} }

func (b *batch) set(key, row []any) {
	k := keyString(key)
	if o, ok := b.ops[k]; ok {
		o.row = row
		return
	}
	b.ops[k] = &op{key: key, row: row}
	b.order = append(b.order, k)
}

func (b *batch) empty() bool { return len(b.order) == 0 }

func (b *batch) reset() {
	clear(b.ops)
	b.order = b.order[:0]
	b.events = 0
	b.kinds = [binlog.Delete + 1]int{}
}

// ErrStop, returned by OnDDL or OnOther, ends Run without an error: the stream has reached a point
// after which nothing more must be applied (doppel's own RENAME at the cut-over).
var ErrStop = errors.New("stop applying")
