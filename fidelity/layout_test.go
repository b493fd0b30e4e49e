package fidelity

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// minRows is the least number of rows of a table: several chunks of chunkSize rows, so the changes
// land in rows already copied, in rows not copied yet, and in new rows.
const minRows = 32

// A cell is one source type → target type pair: a column of the source's table.
type cell struct {
	src    string // the source's label
	target string // the target type, as the ALTER's MODIFY gives it
	col    string // the column holding the source's values
	// serverErr is the native ALTER's error for a cell the server refuses.
	serverErr string
	// unchanged: the column the ALTER leaves as it is, in every migration of the table.
	unchanged bool
}

func (c *cell) modify() string { return "MODIFY " + sqlbuild.QuoteIdent(c.col) + " " + c.target }

// namedIn reports whether a server error in msg names the cell's column: "for column 'c'" or
// "for column `db`.`t`.`c`" (doppel's own messages quote the whole ALTER, which names them all).
func (c *cell) namedIn(msg string) bool {
	return strings.Contains(msg, "'"+c.col+"'") || strings.Contains(msg, ".`"+c.col+"`")
}

func modifyAll(cells []*cell) string {
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = c.modify()
	}
	return strings.Join(parts, ", ")
}

// A layout is one table of the matrix: a key and a column of the source type per target, each
// column holding the same value row by row.
type layout struct {
	src   *source
	keyed bool   // the key is of the source type; else an INT id
	name  string // the table's name
	key   string // the key column
	cells []*cell
	// keys and vals are the rows: the key and the value of every column, as SQL expressions.
	keys, vals []string
	// edgeKeys of a keyed table are the source's values that are the first keys; the other keys
	// are fillers (source.keyFill).
	edgeKeys []string
}

func newLayout(src *source, keyed bool) *layout {
	l := &layout{src: src, keyed: keyed, name: "t", key: "id"}
	if keyed {
		l.name, l.key = "k", "k"
	}
	for i, tgt := range src.targets {
		l.cells = append(l.cells, &cell{src: l.label(), target: tgt, col: columnName(i, tgt)})
	}
	l.cells = append(l.cells, &cell{src: l.label(), target: "(unchanged)", col: "c_unchanged", unchanged: true})
	e := len(src.values)
	if !keyed {
		n := max(minRows, e+14) // the script updates rows 11 to 11+e and keys n-1, n
		for i := 1; i <= n; i++ {
			l.keys = append(l.keys, fmt.Sprint(i))
			l.vals = append(l.vals, src.values[(i-1)%e])
		}
		return l
	}
	l.edgeKeys = src.keyValues
	if l.edgeKeys == nil {
		for _, v := range src.values {
			if v != "NULL" {
				l.edgeKeys = append(l.edgeKeys, v)
			}
		}
	}
	l.keys = append(l.keys, l.edgeKeys...)
	for i := 0; len(l.keys) < max(minRows, len(l.edgeKeys)+20); i++ {
		l.keys = append(l.keys, l.fill(i))
	}
	for i := range l.keys {
		l.vals = append(l.vals, src.values[i%e])
	}
	return l
}

// fill is the i-th filler key; fillers from 50 on are keys no row has at first.
func (l *layout) fill(i int) string { return fmt.Sprintf(l.src.keyFill, 10+i) }

func (l *layout) label() string {
	s := l.src.label()
	if l.keyed {
		s += " (key)"
	}
	return s
}

func (l *layout) oracle() string { return l.name + "__oracle" }

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// columnName names the column of the i-th target after the target: c07_smallint_unsigned.
func columnName(i int, target string) string {
	s := fmt.Sprintf("c%02d_%s", i, strings.Trim(nonWord.ReplaceAllString(strings.ToLower(target), "_"), "_"))
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "_")
	}
	return s
}

// generatedNames are the STORED and the VIRTUAL column computed from a cell's column.
func generatedNames(c *cell) (stored, virtual string) {
	prefix := "g" + strings.TrimPrefix(strings.SplitN(c.col, "_", 2)[0], "c")
	if c.unchanged {
		prefix = "g_unchanged"
	}
	return prefix + "_stored", prefix + "_virtual"
}

// unchanged is the cell of the column no ALTER changes.
func (l *layout) unchanged() *cell { return l.cells[len(l.cells)-1] }

func (l *layout) createSQL(qualified string) string {
	keyType := "INT"
	if l.keyed {
		keyType = l.src.typ
	}
	defs := []string{sqlbuild.QuoteIdent(l.key) + " " + keyType + " NOT NULL PRIMARY KEY"}
	for _, c := range l.cells {
		defs = append(defs, sqlbuild.QuoteIdent(c.col)+" "+l.src.typ+" NULL")
	}
	if l.src.generated && !l.keyed {
		for _, c := range l.cells {
			s, v := generatedNames(c)
			expr := "CONCAT('<', " + sqlbuild.QuoteIdent(c.col) + ", '>')"
			defs = append(defs, sqlbuild.QuoteIdent(s)+" VARBINARY(255) AS ("+expr+") STORED",
				sqlbuild.QuoteIdent(v)+" VARBINARY(255) AS ("+expr+") VIRTUAL")
		}
	}
	return "CREATE TABLE " + qualified + " (\n  " + strings.Join(defs, ",\n  ") + "\n) ENGINE=InnoDB"
}

// storedColumns are the columns values are written to: the key and the cells' columns.
func (l *layout) storedColumns() []string {
	cols := []string{l.key}
	for _, c := range l.cells {
		cols = append(cols, c.col)
	}
	return cols
}

// allColumns are the stored columns and the generated ones.
func (l *layout) allColumns() []string {
	cols := l.storedColumns()
	if l.src.generated && !l.keyed {
		for _, c := range l.cells {
			s, v := generatedNames(c)
			cols = append(cols, s, v)
		}
	}
	return cols
}

// owner maps every column to the cell it belongs to ("" for the key).
func (l *layout) owner() map[string]string {
	m := map[string]string{l.key: ""}
	for _, c := range l.cells {
		m[c.col] = c.col
		if l.src.generated && !l.keyed {
			s, v := generatedNames(c)
			m[s], m[v] = c.col, c.col
		}
	}
	return m
}

func (l *layout) insertSQL(qualified string) []string {
	cols := sqlbuild.QuoteIdents(l.storedColumns())
	out := make([]string, len(l.keys))
	for i := range l.keys {
		out[i] = "INSERT INTO " + qualified + " (" + cols + ") VALUES (" + l.keys[i] + ", " + l.repeat(l.vals[i]) + ")"
	}
	return out
}

// repeat is v once per cell, comma-separated: a row's values.
func (l *layout) repeat(v string) string {
	vs := make([]string, len(l.cells))
	for i := range vs {
		vs[i] = v
	}
	return strings.Join(vs, ", ")
}

// set is the SET list giving every cell's column the value v.
func (l *layout) set(v string) string {
	parts := make([]string, len(l.cells))
	for i, c := range l.cells {
		parts[i] = sqlbuild.QuoteIdent(c.col) + " = " + v
	}
	return strings.Join(parts, ", ")
}

// script returns the changes made while doppel copies (after its first chunk), for a table name;
// the same statements run on the table and on its oracle. They only write values the table held
// at first, so the cells the server accepted still take every value.
func (l *layout) script() func(table string) []string {
	if l.keyed {
		return l.keyedScript
	}
	return l.idScript
}

// touched are the keys of the rows the script writes (new, changed or moved there), as SQL.
func (l *layout) touched() []string {
	var out []string
	if l.keyed {
		out = append(out, l.edgeKeys...)
		for i := range l.edgeKeys {
			if i%3 == 1 {
				out = append(out, l.fill(50+i))
			}
		}
		last := len(l.keys) - len(l.edgeKeys) - 1
		return append(out, l.fill(70), l.fill(last-1))
	}
	e, n := len(l.src.values), len(l.keys)
	ids := []int{1, 4, 5, 6, 7, 8, 9, 10, 1002, n + 1000, 3000}
	for j := 0; j < e; j++ {
		ids = append(ids, 11+j, n+1+j)
	}
	for _, id := range ids {
		out = append(out, fmt.Sprint(id))
	}
	return out
}

// idScript: the first chunk holds ids 1 to 10; later chunks the rest, up to n.
func (l *layout) idScript(tbl string) []string {
	vals := l.src.values
	e, n := len(vals), len(l.keys)
	k := sqlbuild.QuoteIdent(l.key)
	var out []string
	// New rows, one per edge value, in one statement.
	var rows []string
	for j, v := range vals {
		rows = append(rows, fmt.Sprintf("(%d, %s)", n+1+j, l.repeat(v)))
	}
	out = append(out, "INSERT INTO "+tbl+" ("+sqlbuild.QuoteIdents(l.storedColumns())+") VALUES "+strings.Join(rows, ", "))
	// Every edge value written over copied rows (1, 8, 9, 10, several times each) and over rows
	// not copied yet (11 on).
	copied := []int{1, 8, 9, 10}
	for j, v := range vals {
		out = append(out,
			fmt.Sprintf("UPDATE %s SET %s WHERE %s = %d", tbl, l.set(v), k, copied[j%len(copied)]),
			fmt.Sprintf("UPDATE %s SET %s WHERE %s = %d", tbl, l.set(v), k, 11+j))
	}
	out = append(out,
		// Key changes: of a copied row, of a row not copied yet, and of the key with the values.
		fmt.Sprintf("UPDATE %s SET %s = %s + 1000 WHERE %s = 2", tbl, k, k, k),
		fmt.Sprintf("UPDATE %s SET %s = %s + 1000 WHERE %s = %d", tbl, k, k, k, n),
		fmt.Sprintf("UPDATE %s SET %s = 3000, %s WHERE %s = 3", tbl, k, l.set(vals[1%e]), k),
		// Several rows in one statement.
		fmt.Sprintf("UPDATE %s SET %s WHERE %s BETWEEN 4 AND 6", tbl, l.set(vals[e-1]), k),
		// Deletes: copied, not copied yet, new; and a new row moved into a deleted row's key.
		fmt.Sprintf("DELETE FROM %s WHERE %s IN (7, %d)", tbl, k, n-1),
		fmt.Sprintf("DELETE FROM %s WHERE %s = %d", tbl, k, n+1),
		fmt.Sprintf("UPDATE %s SET %s = 7 WHERE %s = %d", tbl, k, k, n+2),
	)
	return out
}

// keyedScript: rows are found and moved by keys of the source type. Every edge key has its values
// changed; then it is deleted (and stays deleted), moved to a new key, or deleted and inserted
// again; filler rows (the first ones sort into the first chunk for most types) are moved into a
// freed key and to a new key, changed and deleted.
func (l *layout) keyedScript(tbl string) []string {
	vals := l.src.values
	e := len(vals)
	k := sqlbuild.QuoteIdent(l.key)
	cols := sqlbuild.QuoteIdents(l.storedColumns())
	var out []string
	for i, key := range l.edgeKeys {
		out = append(out, fmt.Sprintf("UPDATE %s SET %s WHERE %s = %s", tbl, l.set(vals[(i+1)%e]), k, key))
	}
	for i, key := range l.edgeKeys {
		switch i % 3 {
		case 0:
			out = append(out, fmt.Sprintf("DELETE FROM %s WHERE %s = %s", tbl, k, key))
		case 1:
			out = append(out, fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = %s", tbl, k, l.fill(50+i), k, key))
		case 2:
			out = append(out, fmt.Sprintf("DELETE FROM %s WHERE %s = %s", tbl, k, key),
				fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s, %s)", tbl, cols, key, l.repeat(vals[(i+2)%e])))
		}
	}
	last := len(l.keys) - len(l.edgeKeys) - 1 // the last filler
	return append(out,
		fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = %s", tbl, k, l.edgeKeys[0], k, l.fill(0)),
		fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = %s", tbl, k, l.fill(70), k, l.fill(1)),
		fmt.Sprintf("DELETE FROM %s WHERE %s = %s", tbl, k, l.fill(2)),
		fmt.Sprintf("UPDATE %s SET %s WHERE %s = %s", tbl, l.set(vals[0]), k, l.fill(last-1)),
		fmt.Sprintf("DELETE FROM %s WHERE %s = %s", tbl, k, l.fill(last)))
}
