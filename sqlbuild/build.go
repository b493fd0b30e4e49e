package sqlbuild

import (
	"fmt"
	"strings"
)

// KeyCol is one column of the iteration key: its name and the expression that binds a value to
// compare with it (exactly one "?", such as "?" or "CONVERT(? USING latin1) COLLATE latin1_bin").
type KeyCol struct {
	Name string
	Bind string
}

// Cond is a WHERE condition over key columns. Its placeholders take key values, some of them more
// than once: Args[i] is the index, in the key, of the value for the i-th placeholder.
type Cond struct {
	SQL  string
	Args []int
}

// Bind returns the arguments of c for one key value tuple.
func (c Cond) Bind(key []any) []any {
	out := make([]any, len(c.Args))
	for i, k := range c.Args {
		out[i] = key[k]
	}
	return out
}

// And joins conditions with AND.
func And(conds ...Cond) (Cond, func(keys ...[]any) []any) {
	var parts []string
	for _, c := range conds {
		parts = append(parts, "("+c.SQL+")")
	}
	bind := func(keys ...[]any) []any {
		var args []any
		for i, c := range conds {
			args = append(args, c.Bind(keys[i])...)
		}
		return args
	}
	return Cond{SQL: strings.Join(parts, " AND ")}, bind
}

// After is the condition "key > v" (or >= when inclusive) for a possibly composite key, in the
// expanded form a range scan can use: a row constructor comparison such as (a,b) > (1,2) makes
// MariaDB scan the whole index, while "a >= 1 AND (a > 1 OR (a = 1 AND b > 2))" reads only the range.
func After(cols []KeyCol, inclusive bool) Cond {
	return bound(cols, ">", inclusive)
}

// UpTo is the condition "key <= v" (or < when not inclusive), expanded like After.
func UpTo(cols []KeyCol, inclusive bool) Cond {
	return bound(cols, "<", inclusive)
}

func bound(cols []KeyCol, op string, inclusive bool) Cond {
	var c Cond
	if len(cols) > 1 {
		// The leading column's own bound lets the optimizer pick a range on the index.
		c.SQL = fmt.Sprintf("%s %s= %s AND ", QuoteIdent(cols[0].Name), op, cols[0].Bind)
		c.Args = append(c.Args, 0)
	}
	sql, args := nested(cols, 0, op, inclusive)
	c.SQL += sql
	c.Args = append(c.Args, args...)
	return c
}

// nested builds "c_i op v_i OR (c_i = v_i AND <rest>)" from column i on.
func nested(cols []KeyCol, i int, op string, inclusive bool) (string, []int) {
	name := QuoteIdent(cols[i].Name)
	if i == len(cols)-1 {
		o := op
		if inclusive {
			o += "="
		}
		return fmt.Sprintf("%s %s %s", name, o, cols[i].Bind), []int{i}
	}
	rest, restArgs := nested(cols, i+1, op, inclusive)
	sql := fmt.Sprintf("(%s %s %s OR (%s = %s AND %s))", name, op, cols[i].Bind, name, cols[i].Bind, rest)
	return sql, append([]int{i, i}, restArgs...)
}

func keyNames(cols []KeyCol) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return QuoteIdents(names)
}

// SelectEdge returns the first (or, with last, the final) key of the table along the index.
func SelectEdge(table, index string, cols []KeyCol, last bool) string {
	order := keyNames(cols)
	if last {
		parts := make([]string, len(cols))
		for i, c := range cols {
			parts[i] = QuoteIdent(c.Name) + " DESC"
		}
		order = strings.Join(parts, ", ")
	}
	return fmt.Sprintf("SELECT %s FROM %s FORCE INDEX (%s) ORDER BY %s LIMIT 1", keyNames(cols), table, QuoteIdent(index), order)
}

// SelectBoundary returns the key offset rows into the range where holds, along the index: the
// inclusive upper end of a chunk of offset+1 rows.
func SelectBoundary(table, index string, cols []KeyCol, where Cond, offset int) string {
	return fmt.Sprintf("SELECT %s FROM %s FORCE INDEX (%s) WHERE %s ORDER BY %s LIMIT 1 OFFSET %d",
		keyNames(cols), table, QuoteIdent(index), where.SQL, keyNames(cols), offset)
}

// CopyChunk describes one chunk of the row copy.
type CopyChunk struct {
	Orig, Ghost string // qualified table names
	Index       string // index of the original to read along
	OrigCols    []string
	GhostCols   []string // same length and order as OrigCols
	Where       string   // the chunk's key range on the original
	// NoopCol is a ghost column for the no-op ON DUPLICATE KEY UPDATE.
	NoopCol string
}

// SQL returns the INSERT … SELECT of the chunk. The locking read (LOCK IN SHARE MODE) makes a
// concurrent DELETE of a row in the chunk commit after the chunk does, so its binlog event is replayed
// after the copy and the row cannot come back to life. A row the replay has already written is kept
// as it is, by a no-op ON DUPLICATE KEY UPDATE rather than INSERT IGNORE: IGNORE would also turn
// errors such as a value that does not fit the new column type into warnings and silently change data.
func (c CopyChunk) SQL() string {
	noop := QuoteIdent(c.NoopCol)
	return fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s FORCE INDEX (%s) WHERE %s LOCK IN SHARE MODE ON DUPLICATE KEY UPDATE %s = %s.%s",
		c.Ghost, QuoteIdents(c.GhostCols), QuoteIdents(c.OrigCols), c.Orig, QuoteIdent(c.Index), c.Where, noop, c.Ghost, noop)
}

// Replace returns a REPLACE of rows rows into table, each value bound through binds[i].
func Replace(table string, cols, binds []string, rows int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "REPLACE INTO %s (%s) VALUES ", table, QuoteIdents(cols))
	tuple := "(" + strings.Join(binds, ", ") + ")"
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tuple)
	}
	return b.String()
}

// DeleteByKeys returns a DELETE of rows rows of table by key value.
func DeleteByKeys(table string, key []KeyCol, rows int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "DELETE FROM %s WHERE ", table)
	tuple := key[0].Bind
	if len(key) > 1 {
		b.WriteString("(" + keyNames(key) + ")")
		binds := make([]string, len(key))
		for i, k := range key {
			binds[i] = k.Bind
		}
		tuple = "(" + strings.Join(binds, ", ") + ")"
	} else {
		b.WriteString(QuoteIdent(key[0].Name))
	}
	b.WriteString(" IN (")
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tuple)
	}
	b.WriteString(")")
	return b.String()
}

// IndexPart is one column of an index definition.
type IndexPart struct {
	Column  string
	SubPart int // prefix length; 0 for the whole column
	Desc    bool
}

// AddIndex is the clause that adds a plain (non-unique BTREE) index: "ADD INDEX `i` (`a`(10), `b` DESC)
// COMMENT '…'".
func AddIndex(name string, parts []IndexPart, comment string) string {
	cols := make([]string, len(parts))
	for i, p := range parts {
		cols[i] = QuoteIdent(p.Column)
		if p.SubPart > 0 {
			cols[i] += fmt.Sprintf("(%d)", p.SubPart)
		}
		if p.Desc {
			cols[i] += " DESC"
		}
	}
	clause := fmt.Sprintf("ADD INDEX %s (%s)", QuoteIdent(name), strings.Join(cols, ", "))
	if comment != "" {
		clause += " COMMENT " + QuoteString(comment)
	}
	return clause
}
