// Package applier replays the binlog changes of the original table on the ghost table. Changes are
// gathered in batches; within a batch only the last image of each key counts (a later change of the
// same row makes the earlier ones moot), and the batch is written as one DELETE … WHERE key IN (…)
// and one multi-row REPLACE, in one transaction. Both statements are idempotent, so replaying a
// change twice, or a change to a row the copy has not reached yet, is always safe.
package applier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/binlog"
	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/sqlbuild"
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
	// PanicOnWarnings makes a batch whose statements leave a warning an error.
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
	keyBind  []sqlbuild.KeyCol // key columns of the ghost, binding original values
	cols     []string          // ghost columns written by REPLACE
	binds    []string          // their bind expressions

	received atomic.Int64 // row changes of the original table read from the stream
	applied  atomic.Int64 // row changes written (after collapsing, counted before it)
	// By kind (binlog.Insert, Update, Delete), for the metrics.
	receivedKind, appliedKind [binlog.Delete + 1]atomic.Int64
	position                  atomic.Pointer[binlog.Position]
	appliedTime               atomic.Int64 // UnixNano of the last applied transaction's commit
}

// New checks cfg and returns an Applier.
func New(cfg Config) (*Applier, error) {
	if cfg.DB == nil || cfg.Orig == nil || cfg.Ghost == nil || cfg.Key == nil || cfg.BatchSize == nil {
		return nil, errors.New("applier: DB, Orig, Ghost, Key and BatchSize are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	a := &Applier{cfg: cfg, ghostTbl: sqlbuild.QualifiedName(cfg.Ghost.Schema, cfg.Ghost.Name)}
	for _, p := range cfg.Key.Columns {
		a.keyBind = append(a.keyBind, sqlbuild.KeyCol{Name: p.Ghost.Name, Bind: table.BindExpr(p.Orig, p.Ghost)})
	}
	for _, p := range cfg.Mapping.Copied {
		a.cols = append(a.cols, p.Ghost.Name)
		a.binds = append(a.binds, table.BindExpr(p.Orig, p.Ghost))
	}
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

// Position is the end of the last transaction fully applied.
func (a *Applier) Position() binlog.Position {
	if p := a.position.Load(); p != nil {
		return *p
	}
	return binlog.Position{}
}

// Run applies the transactions read from in until ctx ends, in is closed, or an error occurs.
func (a *Applier) Run(ctx context.Context, in <-chan binlog.Txn) error {
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
		key[i] = v
	}
	return key, nil
}

// maxBatchEvents bounds the row changes held before writing, whatever the transaction's size;
// maxPlaceholders stays under the server's limit of 65535 placeholders per prepared statement, and
// maxStatementBytes well under the default max_allowed_packet, whatever the row width.
const (
	maxBatchEvents    = 10000
	maxPlaceholders   = 60000
	maxStatementBytes = 4 << 20
)

// flush writes the batch in one transaction and empties it.
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
	var deletes, upserts [][]any
	for _, k := range b.order {
		op := b.ops[k]
		if op.row == nil {
			deletes = append(deletes, op.key)
		} else {
			upserts = append(upserts, op.row)
		}
	}
	err := dbconn.Retry(ctx, a.cfg.Retries, func(ctx context.Context) error {
		tx, err := a.cfg.DB.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }() // after Commit this is a no-op
		if err := a.writeDeletes(ctx, tx, deletes); err != nil {
			return err
		}
		if err := a.writeUpserts(ctx, tx, upserts); err != nil {
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		return fmt.Errorf("replaying %d row changes on the ghost table %s: %w", b.events, a.ghostTbl, err)
	}
	a.applied.Add(int64(b.events))
	for k, n := range b.kinds {
		a.appliedKind[k].Add(int64(n))
	}
	a.setPosition(b.end, b.endTime)
	b.reset()
	if a.cfg.OnFlush != nil {
		a.cfg.OnFlush(time.Since(start))
	}
	return nil
}

func (a *Applier) setPosition(p binlog.Position, at time.Time) {
	pos := p
	a.position.Store(&pos)
	if !at.IsZero() {
		a.appliedTime.Store(at.UnixNano())
	}
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

func (a *Applier) writeUpserts(ctx context.Context, tx *sql.Tx, rows [][]any) error {
	return writeInParts(rows, len(a.cols), func(part [][]any) error {
		args := make([]any, 0, len(part)*len(a.cols))
		for _, r := range part {
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, sqlbuild.Replace(a.ghostTbl, a.cols, a.binds, len(part)), args...); err != nil {
			return err
		}
		return a.checkWarnings(ctx, tx)
	})
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
	row []any // nil: delete
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
