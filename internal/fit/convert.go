package fit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// ConvertConfig says which columns Convert tries.
type ConvertConfig struct {
	Orig    *table.Table
	Mapping table.Mapping
	Key     *table.Key // the iteration key, to walk the table in chunks
	// Clause is the ALTER clause: applied to an empty temporary copy of the original, it gives the
	// columns' new types.
	Clause string
	// Columns are the ghost columns to try: those Plan has no exact condition for.
	Columns []string
	// ChunkRows is how many rows one statement converts; 0 means 10,000.
	ChunkRows int
}

// Failure is a column one of whose values the server does not convert.
type Failure struct {
	Column string // the ghost column
	Reason string // the server's error, its value left out
}

// Convert has the server itself convert every value of the given columns, for the conversions Plan
// has no exact condition for (text to numbers or dates, numbers to dates, …): a chunk of rows at a
// time, each column's values go through the copy's own expressions into a temporary table of the
// column's new type, under doppel's strict sql_mode, as the copy will put them into the ghost. The
// first value of a column that the server refuses ends that column's trial with the server's error.
//
// It reads the original once per column, along the key, with READ COMMITTED consistent reads: an
// INSERT … SELECT takes no lock on the rows it reads then (under REPEATABLE READ it would lock every
// row). The temporary tables are private to one session, not written to a ROW binlog, and hold one
// chunk at a time.
func Convert(ctx context.Context, db *sql.DB, cfg ConvertConfig) ([]Failure, error) {
	if len(cfg.Columns) == 0 {
		return nil, nil
	}
	if cfg.ChunkRows <= 0 {
		cfg.ChunkRows = 10000
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer dbconn.Discard(conn) // its temporary tables and isolation level go with it
	shape := sqlbuild.QualifiedName(cfg.Orig.Schema, "_doppel_convert_shape")
	if err := applyToEmptyCopy(ctx, conn, cfg.Orig, shape, cfg.Clause); err != nil {
		return nil, err
	}
	origName := sqlbuild.QualifiedName(cfg.Orig.Schema, cfg.Orig.Name)
	var keyNames, keyExprs []string
	keyCols := cfg.Key.OrigCols()
	for _, p := range cfg.Key.Columns {
		keyNames = append(keyNames, p.Ghost.Name)
		keyExprs = append(keyExprs, cfg.Mapping.Expr(p))
	}
	type trial struct {
		column, into string
		index        int
		copy         sqlbuild.Copy
	}
	var trials []*trial
	for i, name := range cfg.Columns {
		p := cfg.Mapping.ByGhost(name)
		if p == nil {
			continue
		}
		into := sqlbuild.QualifiedName(cfg.Orig.Schema, convertName(i))
		cols := append(append([]string(nil), keyNames...), p.Ghost.Name)
		if _, err := conn.ExecContext(ctx, sqlbuild.CreateTemporaryLike(into, keyNames, shape, cols)); err != nil {
			return nil, fmt.Errorf("creating a temporary table of the new type of %s: %w", name, err)
		}
		trials = append(trials, &trial{column: name, into: into, index: i, copy: sqlbuild.Copy{
			From: origName, Index: cfg.Key.Orig.Name, Into: into, Cols: cols,
			Exprs: append(append([]string(nil), keyExprs...), cfg.Mapping.Expr(*p)),
		}})
	}
	if _, err := conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"); err != nil {
		return nil, err
	}
	var failures []Failure
	var lower []any
	for len(trials) > 0 {
		upper, err := chunkEnd(ctx, conn, origName, cfg.Key, keyCols, lower, cfg.ChunkRows)
		if err != nil {
			return nil, err
		}
		where, args := chunkRange(keyCols, lower, upper)
		kept := trials[:0]
		for _, t := range trials {
			q := t.copy
			q.Where = where
			_, err := conn.ExecContext(ctx, plainInsert(q), args...)
			if err == nil {
				if _, err := conn.ExecContext(ctx, "DELETE FROM "+t.into); err != nil {
					return nil, err
				}
				kept = append(kept, t)
				continue
			}
			var me *mysql.MySQLError
			if !errors.As(err, &me) || dbconn.IsRetryable(err) {
				return nil, fmt.Errorf("converting the values of %s with the server: %w", t.column, err)
			}
			reason := strings.ReplaceAll(me.Message, convertName(t.index), cfg.Orig.Name)
			// The server's ALTER words some refusals differently than its INSERT: ask it.
			if native, err := nativeReason(ctx, conn, cfg, where, args); err == nil && native != "" {
				reason = native
			}
			failures = append(failures, Failure{Column: t.column, Reason: withoutValue(reason)})
		}
		trials = kept
		if upper == nil {
			break
		}
		lower = upper
	}
	return failures, nil
}

// nativeReason copies the rows of the chunk where selects into a temporary copy of the original and
// runs the ALTER there, natively, for the server's own reason to refuse them; "" when it takes them.
func nativeReason(ctx context.Context, conn *sql.Conn, cfg ConvertConfig, where string, args []any) (string, error) {
	const name = "_doppel_convert_rows"
	tmp := sqlbuild.QualifiedName(cfg.Orig.Schema, name)
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP TEMPORARY TABLE IF EXISTS "+tmp) }()
	if _, err := conn.ExecContext(ctx, "CREATE TEMPORARY TABLE "+tmp+" LIKE "+sqlbuild.QualifiedName(cfg.Orig.Schema, cfg.Orig.Name)); err != nil {
		return "", err
	}
	var stored []string
	for _, c := range cfg.Orig.Columns {
		if !c.Generated {
			stored = append(stored, c.Name)
		}
	}
	cols := sqlbuild.QuoteIdents(stored)
	// The rows as they are: doppel's strict mode would refuse nothing here, they are stored values.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s FORCE INDEX (%s) WHERE %s",
		tmp, cols, cols, sqlbuild.QualifiedName(cfg.Orig.Schema, cfg.Orig.Name), sqlbuild.QuoteIdent(cfg.Key.Orig.Name), where), args...); err != nil {
		return "", err
	}
	err := alterTemporary(ctx, conn, cfg.Orig, tmp, cfg.Clause)
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return strings.ReplaceAll(me.Message, name, cfg.Orig.Name), nil
	}
	return "", err
}

// convertName is the temporary table the values of the i-th column are converted into.
func convertName(i int) string { return fmt.Sprintf("_doppel_convert_%d", i+1) }

// plainInsert is the Copy's INSERT … SELECT without its ON DUPLICATE KEY UPDATE: the trial's table
// holds one chunk, so no key repeats.
func plainInsert(c sqlbuild.Copy) string {
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT ", c.Into, sqlbuild.QuoteIdents(c.Cols))
	for i, e := range c.Exprs {
		if i > 0 {
			q += ", "
		}
		q += e
	}
	return q + fmt.Sprintf(" FROM %s FORCE INDEX (%s) WHERE %s", c.From, sqlbuild.QuoteIdent(c.Index), c.Where)
}

// chunkEnd returns the key rows rows after lower (from the start when lower is nil), or nil when
// fewer remain: the inclusive end of the next chunk.
func chunkEnd(ctx context.Context, conn *sql.Conn, from string, k *table.Key, key []sqlbuild.KeyCol, lower []any, rows int) ([]any, error) {
	where := sqlbuild.Cond{SQL: "TRUE"}
	if lower != nil {
		where = sqlbuild.After(key, false)
	}
	q := sqlbuild.SelectBoundary(from, k.Orig.Name, key, where, rows-1)
	r, err := conn.QueryContext(ctx, q, where.Bind(lower)...)
	if err != nil {
		return nil, fmt.Errorf("walking %s: %w", from, err)
	}
	defer r.Close()
	if !r.Next() {
		return nil, r.Err()
	}
	raw := make([]sql.RawBytes, len(key))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if err := r.Scan(ptrs...); err != nil {
		return nil, err
	}
	end := make([]any, len(raw))
	for i, p := range k.Columns {
		if end[i], err = table.ValueFromText(p.Orig, raw[i]); err != nil {
			return nil, err
		}
	}
	// Close before Err: the RawBytes hold the rows' read lock until then.
	_ = r.Close()
	return end, r.Err()
}

// applyToEmptyCopy creates the temporary table tmp as an empty copy of orig with the ALTER clause
// applied: the altered table's columns, for CREATE … SELECT to copy.
func applyToEmptyCopy(ctx context.Context, conn *sql.Conn, orig *table.Table, tmp, clause string) error {
	if _, err := conn.ExecContext(ctx, "CREATE TEMPORARY TABLE "+tmp+" LIKE "+sqlbuild.QualifiedName(orig.Schema, orig.Name)); err != nil {
		return fmt.Errorf("creating a temporary copy of %s: %w", orig.Name, err)
	}
	return alterTemporary(ctx, conn, orig, tmp, clause)
}

// alterTemporary runs the ALTER clause on the temporary table tmp. InnoDB refuses FULLTEXT keys in
// temporary tables (1796): the table is then made MyISAM first.
func alterTemporary(ctx context.Context, conn *sql.Conn, orig *table.Table, tmp, clause string) error {
	alter := "ALTER TABLE " + tmp + " " + clause
	_, err := conn.ExecContext(ctx, alter)
	if dbconn.ErrorNumber(err) == 1796 {
		if _, err := conn.ExecContext(ctx, "ALTER TABLE "+tmp+" ENGINE=MyISAM"); err != nil {
			return fmt.Errorf("trying the ALTER on a temporary copy of %s: %w", orig.Name, err)
		}
		_, err = conn.ExecContext(ctx, alter)
	}
	return err
}

// chunkRange is the condition of the chunk after lower up to upper (either may be nil: open).
func chunkRange(key []sqlbuild.KeyCol, lower, upper []any) (string, []any) {
	where, args := "TRUE", []any(nil)
	if lower != nil {
		c := sqlbuild.After(key, false)
		where, args = "("+c.SQL+")", c.Bind(lower)
	}
	if upper != nil {
		c := sqlbuild.UpTo(key, true)
		where, args = where+" AND ("+c.SQL+")", append(args, c.Bind(upper)...)
	}
	return where, args
}
