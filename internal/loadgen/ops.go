package loadgen

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// An op is one operation: the same statement for the table and the oracle, and what to do with the
// key set once the transaction is over.
type op struct {
	name string
	sql  func(table string) string
	done func(committed bool)
}

// The operation mix. Key-changing updates are a real share: they are the hardest case for a tool
// that replays changes by key.
var opWeights = []struct {
	weight int
	build  func(g *Generator, r *rand.Rand) *op
}{
	{22, (*Generator).insertOp},
	{20, (*Generator).updateOp},
	{15, (*Generator).updateKeyOp},
	{13, (*Generator).deleteOp},
	{10, (*Generator).upsertOp},
	{10, (*Generator).replaceOp},
	{5, (*Generator).updateManyOp},
	{5, (*Generator).deleteManyOp},
}

// reuseShare is the share of inserts and key changes that take the key of a row gone lately.
const reuseShare = 4 // one in four

// nextOp picks a random operation; nil when none is possible (the key's domain is full).
func (g *Generator) nextOp(r *rand.Rand) *op {
	total := 0
	for _, w := range opWeights {
		total += w.weight
	}
	pick, i := r.IntN(total), 0
	for pick >= opWeights[i].weight {
		pick -= opWeights[i].weight
		i++
	}
	if o := opWeights[i].build(g, r); o != nil {
		return o
	}
	return g.insertOp(r) // no row to operate on
}

func (g *Generator) insertOp(r *rand.Rand) *op {
	k, ok := g.newKey(r)
	if !ok {
		return nil
	}
	cols := sqlbuild.QuoteIdents(columnNames(g.written()))
	vals := literals(append(append([]value(nil), k.key...), g.randomValues(r, g.cols)...))
	return &op{
		name: "insert",
		sql:  func(t string) string { return "INSERT INTO " + t + " (" + cols + ") VALUES (" + vals + ")" },
		done: func(committed bool) {
			if committed {
				g.keys.put(k)
			} else {
				g.keys.release(k.id)
			}
		},
	}
}

func (g *Generator) updateOp(r *rand.Rand) *op {
	if len(g.cols) == 0 {
		return g.updateKeyOp(r)
	}
	k, ok := g.keys.take(r)
	if !ok {
		return nil
	}
	cols := g.someColumns(r)
	set := assignments(cols, g.randomValues(r, cols))
	where := g.where(k.key)
	return &op{
		name: "update",
		sql:  func(t string) string { return "UPDATE " + t + " SET " + set + " WHERE " + where },
		done: func(bool) { g.keys.put(k) },
	}
}

// updateKeyOp changes some key columns of a row to new values, or, for text under a
// case-insensitive collation, to a case variant the table holds equal (same row, other bytes).
func (g *Generator) updateKeyOp(r *rand.Rand) *op {
	k, ok := g.keys.take(r)
	if !ok {
		return nil
	}
	nk, changed, ok := g.movedKey(r, k)
	if !ok {
		g.keys.put(k)
		return nil
	}
	var cols []*column
	var vals []value
	for i, c := range g.keyCols {
		if changed[i] {
			cols, vals = append(cols, c), append(vals, nk.key[i])
		}
	}
	if len(g.cols) > 0 && r.IntN(2) == 0 {
		others := g.someColumns(r)
		cols, vals = append(cols, others...), append(vals, g.randomValues(r, others)...)
	}
	set := assignments(cols, vals)
	where := g.where(k.key)
	return &op{
		name: "update-key",
		sql:  func(t string) string { return "UPDATE " + t + " SET " + set + " WHERE " + where },
		done: func(committed bool) {
			switch {
			case !committed:
				if nk.id != k.id {
					g.keys.release(nk.id)
				}
				g.keys.put(k)
			case nk.id == k.id: // a case variant: the same row, other bytes
				g.keys.put(nk)
			default:
				g.keys.free(k)
				g.keys.put(nk)
			}
		},
	}
}

func (g *Generator) deleteOp(r *rand.Rand) *op {
	k, ok := g.keys.take(r)
	if !ok {
		return nil
	}
	where := g.where(k.key)
	return &op{
		name: "delete",
		sql:  func(t string) string { return "DELETE FROM " + t + " WHERE " + where },
		done: func(committed bool) {
			if committed {
				g.keys.free(k)
			} else {
				g.keys.put(k)
			}
		},
	}
}

// upsertOp inserts an existing row's key again with ON DUPLICATE KEY UPDATE, so the insert becomes
// an update; text keys of case-insensitive collations are given in another case, and set to it.
func (g *Generator) upsertOp(r *rand.Rand) *op {
	var updates []string
	for _, c := range g.written() {
		q := sqlbuild.QuoteIdent(c.Name)
		updates = append(updates, q+" = VALUES("+q+")")
	}
	onDup := " ON DUPLICATE KEY UPDATE " + strings.Join(updates, ", ")
	return g.rewriteOp(r, "upsert", func(t, cols, vals string) string {
		return "INSERT INTO " + t + " (" + cols + ") VALUES (" + vals + ")" + onDup
	})
}

// replaceOp REPLACEs an existing row, with its key in another case where a case-insensitive
// collation holds that equal.
func (g *Generator) replaceOp(r *rand.Rand) *op {
	return g.rewriteOp(r, "replace", func(t, cols, vals string) string {
		return "REPLACE INTO " + t + " (" + cols + ") VALUES (" + vals + ")"
	})
}

// rewriteOp writes new values into an existing row through an insert statement that names its key,
// built by stmt from the table, the column list and the values. The key is taken in another case
// where the collation allows it; once committed, the row goes by that key.
func (g *Generator) rewriteOp(r *rand.Rand, name string, stmt func(t, cols, vals string) string) *op {
	k, ok := g.keys.take(r)
	if !ok {
		return nil
	}
	vk := g.caseVariantKey(r, k)
	cols := sqlbuild.QuoteIdents(columnNames(g.written()))
	vals := literals(append(append([]value(nil), vk.key...), g.randomValues(r, g.cols)...))
	return &op{
		name: name,
		sql:  func(t string) string { return stmt(t, cols, vals) },
		done: func(committed bool) {
			if committed {
				g.keys.put(vk)
			} else {
				g.keys.put(k)
			}
		},
	}
}

// newKey returns a key for a new row: now and then the key of a row gone lately, else a fresh one.
func (g *Generator) newKey(r *rand.Rand) (row, bool) {
	if r.IntN(reuseShare) == 0 {
		if k, ok := g.keys.reuse(r); ok {
			return k, true
		}
	}
	return g.freshKey(r)
}

// updateManyOp sets the same new values in a few rows with one statement: one binlog event with
// several row images.
func (g *Generator) updateManyOp(r *rand.Rand) *op {
	// One value for several rows: never for a column whose values must not repeat.
	var shared []*column
	for _, c := range g.cols {
		if !c.unique {
			shared = append(shared, c)
		}
	}
	if len(shared) == 0 {
		return nil
	}
	rows := g.takeSome(r)
	if rows == nil {
		return nil
	}
	cols := someOf(r, shared)
	set := assignments(cols, g.randomValues(r, cols))
	where := g.whereAny(rows)
	return &op{
		name: "update-many",
		sql:  func(t string) string { return "UPDATE " + t + " SET " + set + " WHERE " + where },
		done: func(bool) {
			for _, k := range rows {
				g.keys.put(k)
			}
		},
	}
}

// deleteManyOp deletes a few rows with one statement.
func (g *Generator) deleteManyOp(r *rand.Rand) *op {
	rows := g.takeSome(r)
	if rows == nil {
		return nil
	}
	where := g.whereAny(rows)
	return &op{
		name: "delete-many",
		sql:  func(t string) string { return "DELETE FROM " + t + " WHERE " + where },
		done: func(committed bool) {
			for _, k := range rows {
				if committed {
					g.keys.free(k)
				} else {
					g.keys.put(k)
				}
			}
		},
	}
}

// takeSome takes two to five rows; nil when fewer than two are idle.
func (g *Generator) takeSome(r *rand.Rand) []row {
	var rows []row
	for n := 2 + r.IntN(4); len(rows) < n; {
		k, ok := g.keys.take(r)
		if !ok {
			break
		}
		rows = append(rows, k)
	}
	if len(rows) < 2 {
		for _, k := range rows {
			g.keys.put(k)
		}
		return nil
	}
	return rows
}

// whereAny addresses any of the rows.
func (g *Generator) whereAny(rows []row) string {
	parts := make([]string, len(rows))
	for i, k := range rows {
		parts[i] = "(" + g.where(k.key) + ")"
	}
	return strings.Join(parts, " OR ")
}

// freshKey returns a new key no tracked row holds, with its identity reserved; false when several
// tries found none free (a small key domain that is full).
func (g *Generator) freshKey(r *rand.Rand) (row, bool) {
	for range 20 {
		key := make([]value, len(g.keyCols))
		for i, c := range g.keyCols {
			key[i] = c.key(r)
		}
		id := identity(g.keyCols, key)
		if g.keys.reserve(id) {
			return row{key: key, id: id}, true
		}
	}
	return row{}, false
}

// movedKey returns the key a row moves to: now and then the key of a row gone lately, else k with
// some columns changed (changed[i] says which).
func (g *Generator) movedKey(r *rand.Rand, k row) (nk row, changed []bool, ok bool) {
	if r.IntN(reuseShare) == 0 {
		if reused, found := g.keys.reuse(r); found {
			changed = make([]bool, len(g.keyCols))
			for i := range changed {
				changed[i] = true
			}
			return reused, changed, true
		}
	}
	return g.changedKey(r, k)
}

// changedKey returns k with some columns changed (changed[i] says which), its identity reserved
// unless it is k's own (a case variant); false when no free key was found.
func (g *Generator) changedKey(r *rand.Rand, k row) (nk row, changed []bool, ok bool) {
	for range 20 {
		key := append([]value(nil), k.key...)
		changed = make([]bool, len(key))
		for i := range changed {
			changed[i] = r.IntN(2) == 0
		}
		changed[r.IntN(len(changed))] = true
		for i, c := range g.keyCols {
			switch {
			case !changed[i]:
			case c.caseInsensitive() && r.IntN(3) == 0:
				key[i].raw = caseVariant(r, key[i].raw)
			default:
				key[i] = c.key(r)
			}
		}
		id := identity(g.keyCols, key)
		if id == k.id || g.keys.reserve(id) {
			return row{key: key, id: id}, changed, true
		}
	}
	return row{}, nil, false
}

// caseVariantKey returns k with its text under case-insensitive collations in another case: the same
// row for the table. Keys without such text come back unchanged.
func (g *Generator) caseVariantKey(r *rand.Rand, k row) row {
	key := append([]value(nil), k.key...)
	for i, c := range g.keyCols {
		if c.caseInsensitive() && r.IntN(2) == 0 {
			key[i].raw = caseVariant(r, key[i].raw)
		}
	}
	return row{key: key, id: k.id}
}

// someColumns picks one to three distinct written columns outside the key.
func (g *Generator) someColumns(r *rand.Rand) []*column { return someOf(r, g.cols) }

// someOf picks one to three distinct columns of cols.
func someOf(r *rand.Rand, cols []*column) []*column {
	n := min(1+r.IntN(3), len(cols))
	var out []*column
	for _, i := range r.Perm(len(cols))[:n] {
		out = append(out, cols[i])
	}
	return out
}

func (g *Generator) randomValues(r *rand.Rand, cols []*column) []value {
	out := make([]value, len(cols))
	for i, c := range cols {
		out[i] = c.random(r)
	}
	return out
}

// where addresses one row by its key.
func (g *Generator) where(key []value) string {
	parts := make([]string, len(key))
	for i, c := range g.keyCols {
		parts[i] = sqlbuild.QuoteIdent(c.Name) + " = " + key[i].sql()
	}
	return strings.Join(parts, " AND ")
}

func assignments(cols []*column, vals []value) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = sqlbuild.QuoteIdent(c.Name) + " = " + vals[i].sql()
	}
	return strings.Join(parts, ", ")
}

func literals(vals []value) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = v.sql()
	}
	return strings.Join(parts, ", ")
}

func columnNames(cols []*column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

// sampleExpr is how a key column is read back so that parseSample can rebuild its literal whatever
// the connection's character sets: strings as hex, BIT as a number.
func sampleExpr(c *column) string {
	q := sqlbuild.QuoteIdent(c.Name)
	switch {
	case isStringType(c.DataType):
		return "HEX(" + q + ")"
	case c.DataType == "bit":
		return q + " + 0"
	}
	return q
}

func parseSample(c *column, b []byte) (value, error) {
	switch {
	case isStringType(c.DataType):
		raw, err := hex.DecodeString(string(b))
		if err != nil {
			return value{}, fmt.Errorf("column %s: %w", c.Name, err)
		}
		cs := ""
		if c.text != nil {
			cs = c.text.charset
		}
		return value{kind: kindBytes, raw: raw, charset: cs}, nil
	case isTemporalType(c.DataType):
		return temporal(string(b)), nil
	}
	return number(string(b)), nil
}

func isStringType(dataType string) bool {
	switch dataType {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set",
		"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return true
	}
	return false
}

func isTemporalType(dataType string) bool {
	switch dataType {
	case "date", "datetime", "timestamp", "time":
		return true
	}
	return false
}
