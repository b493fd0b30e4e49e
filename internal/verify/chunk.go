package verify

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// chunk is a range of the key: after lower (exclusive) up to upper (inclusive). A nil bound is
// open, so the first chunk starts at the beginning of the key and the last one runs to its end:
// the chunks cover every key either table may hold, rows the ghost has and the original has not
// included. Bounds are key values of the original, read with table.ValueFromText.
type chunk struct {
	seq          int64
	lower, upper []any
}

// side is one of the two tables as the checksum and the repair read it.
type side struct {
	name  string // qualified
	index string // the key's index in this table
	key   []sqlbuild.KeyCol
	hash  string // the row hash expression
	// stager, when set, hashes the original's rows after the server's conversion instead of hash.
	stager *stager
}

// where is the condition selecting c's rows and its arguments.
func (s side) where(c chunk) (string, []any) {
	var conds []string
	var args []any
	if c.lower != nil {
		cond := sqlbuild.After(s.key, false)
		conds, args = append(conds, "("+cond.SQL+")"), append(args, cond.Bind(c.lower)...)
	}
	if c.upper != nil {
		cond := sqlbuild.UpTo(s.key, true)
		conds, args = append(conds, "("+cond.SQL+")"), append(args, cond.Bind(c.upper)...)
	}
	if len(conds) == 0 {
		return "TRUE", nil
	}
	return strings.Join(conds, " AND "), args
}

// checksumSQL counts and hashes the rows of c, along the key's index so only the range is read.
func (s side) checksumSQL(c chunk) (string, []any) {
	where, args := s.where(c)
	return fmt.Sprintf("SELECT COUNT(*), COALESCE(SUM(%s), 0) FROM %s FORCE INDEX (%s) WHERE %s",
		s.hash, s.name, sqlbuild.QuoteIdent(s.index), where), args
}

// sum is what one table holds in one chunk.
type sum struct {
	rows int64
	hash string // the sum of the row hashes, as the server prints the DECIMAL
}

func (s side) checksum(ctx context.Context, conn *sql.Conn, c chunk) (sum, error) {
	if s.stager != nil {
		where, args := s.where(c)
		out, err := s.stager.checksum(ctx, conn, s.name, s.index, where, args)
		if err != nil {
			return sum{}, fmt.Errorf("checksumming chunk %d of %s: %w", c.seq, s.name, err)
		}
		return out, nil
	}
	q, args := s.checksumSQL(c)
	var out sum
	if err := conn.QueryRowContext(ctx, q, args...).Scan(&out.rows, &out.hash); err != nil {
		return sum{}, fmt.Errorf("checksumming chunk %d of %s: %w", c.seq, s.name, err)
	}
	return out, nil
}

// sidesOf returns the original's and the ghost's sides. The ghost's key columns take the
// original's key values, bound as the copier and the replay bind them.
func sidesOf(cfg *Config, h rowHash) (orig, ghost side) {
	orig = side{name: sqlbuild.QualifiedName(cfg.Orig.Schema, cfg.Orig.Name), index: cfg.Key.Orig.Name, hash: h.orig}
	ghost = side{name: sqlbuild.QualifiedName(cfg.Ghost.Schema, cfg.Ghost.Name), index: cfg.Key.Ghost.Name, hash: h.ghost}
	orig.key, ghost.key = cfg.Key.OrigCols(), cfg.Key.GhostCols()
	return orig, ghost
}

// sortsAlike reports why a key range of the original may not select the matching rows of the
// ghost ("" when it does): chunks are only comparable, and only safe to re-copy, when both tables
// order and compare key values the same way and the ghost's index reads the range in order.
func sortsAlike(k *table.Key) string {
	// The ghost's index may be longer than the key (a PRIMARY KEY extended with a column): its
	// leading columns then order the rows as the key does.
	if len(k.Ghost.Columns) < len(k.Columns) {
		return "the ghost's key has other columns"
	}
	for i, p := range k.Columns {
		if !strings.EqualFold(k.Ghost.Columns[i].Name, p.Ghost.Name) {
			return fmt.Sprintf("the ghost's key %s lists its columns in another order", k.Ghost.Name)
		}
		if !sameOrder(p.Orig, p.Ghost) {
			return fmt.Sprintf("key column %s changes from %s to %s", p.Orig.Name, p.Orig.ColumnType, p.Ghost.ColumnType)
		}
	}
	return ""
}

// sameOrder reports whether every value of o keeps its place and its identity among the others
// once stored in g: the same (or an equivalent) collation for text, a type that holds every value
// exactly otherwise.
func sameOrder(o, g *table.Column) bool {
	switch {
	case o.IsInteger() && g.IsInteger():
		return true
	case o.IsText() || g.IsText():
		// CHAR values are read without trailing spaces, so they keep their identity in a VARCHAR;
		// the other way round, 'a' and 'a ' would become one.
		return o.IsText() && g.IsText() && table.SameCollation(o.Collation, g.Collation) &&
			(o.DataType == g.DataType || o.DataType == "char" && g.DataType == "varchar")
	case o.DataType != g.DataType:
		return false
	}
	switch o.DataType {
	case "decimal":
		return g.Scale >= o.Scale && g.Precision-g.Scale >= o.Precision-o.Scale
	case "datetime", "timestamp", "time":
		return g.FSP >= o.FSP
	case "binary":
		// A longer BINARY(n) pads the value with zero bytes, which then compares greater.
		return g.OctetLen == o.OctetLen
	case "varbinary", "date", "year", "bit":
		return true
	}
	if o.DataType == "enum" {
		// Members added at the end keep every value's number, which is how ENUM sorts.
		return len(g.Elems) >= len(o.Elems) && slices.Equal(g.Elems[:len(o.Elems)], o.Elems)
	}
	return strings.EqualFold(o.ColumnType, g.ColumnType)
}

// keyReader reads key values of the original along its key.
type keyReader struct {
	orig side
	cols []table.Pair
}

// boundary returns the key size rows after lower (from the start when lower is nil), or nil when
// fewer rows remain, as conn's snapshot sees the table: every chunk then holds at most size rows of
// the original at the consistent point, however the table changes meanwhile.
func (r keyReader) boundary(ctx context.Context, conn *sql.Conn, lower []any, size int64) ([]any, error) {
	where := sqlbuild.Cond{SQL: "TRUE"}
	if lower != nil {
		where = sqlbuild.After(r.orig.key, false)
	}
	q := sqlbuild.SelectBoundary(r.orig.name, r.orig.index, r.orig.key, where, int(size-1))
	key, err := r.read(ctx, conn, q, where.Bind(lower))
	if err != nil {
		return nil, fmt.Errorf("finding the next chunk of %s: %w", r.orig.name, err)
	}
	return key, nil
}

func (r keyReader) read(ctx context.Context, conn *sql.Conn, q string, args []any) ([]any, error) {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	raw := make([]sql.RawBytes, len(r.cols))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	key := make([]any, len(raw))
	for i, p := range r.cols {
		if key[i], err = table.ValueFromText(p.Orig, raw[i]); err != nil {
			return nil, err
		}
	}
	// Close before Err: the RawBytes hold the rows' read lock until then (see copier.readKey).
	_ = rows.Close()
	return key, rows.Err()
}
