package sqlbuild

import (
	"fmt"
	"slices"
	"strings"
)

// KeyCol is one column of the iteration key: its name and the expression that binds a value to
// compare with it (exactly one "?", such as "?" or "CONVERT(? USING latin1) COLLATE latin1_bin").
type KeyCol struct {
	Name string
	Bind string
	// Read is what to select to read the column's value (an ENUM's "`e` + 0", its member number,
	// which is how it sorts); empty: the column.
	Read string
	// Members is the number of an ENUM column's members, 0 for any other column. An ENUM is bound
	// by member number; a range over it is written as a list of numbers (see compare).
	Members int
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

// Equal is the condition "key = v".
func Equal(cols []KeyCol) Cond {
	var c Cond
	parts := make([]string, len(cols))
	for i, col := range cols {
		parts[i] = QuoteIdent(col.Name) + " = " + col.Bind
		c.Args = append(c.Args, i)
	}
	c.SQL = strings.Join(parts, " AND ")
	return c
}

func bound(cols []KeyCol, op string, inclusive bool) Cond {
	var c Cond
	if len(cols) > 1 {
		// The leading column's own bound lets the optimizer pick a range on the index.
		sql, n := compare(cols[0], op, true)
		c.SQL = sql + " AND "
		c.Args = append(c.Args, repeat(0, n)...)
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
		sql, n := compare(cols[i], op, inclusive)
		return sql, repeat(i, n)
	}
	rest, restArgs := nested(cols, i+1, op, inclusive)
	strict, n := compare(cols[i], op, false)
	sql := fmt.Sprintf("(%s OR (%s = %s AND %s))", strict, name, cols[i].Bind, rest)
	return sql, append(append(repeat(i, n), i), restArgs...)
}

// compare is "col op v" (op "<" or ">", with "=" when inclusive) and the number of placeholders it
// takes, all for v. An ENUM compared with a number compares member numbers, as it sorts, but the
// optimizer reads no index range for it; so "e > v" is written "e IN (v + 1, …, v + Members)" and
// "e < v" "e IN (v - 1, …, v - Members)" (with v itself when inclusive): equalities, which it reads
// as ranges. Numbers past the members match nothing; 0, the empty "error" member, sorts first.
func compare(c KeyCol, op string, inclusive bool) (string, int) {
	name := QuoteIdent(c.Name)
	if c.Members == 0 {
		o := op
		if inclusive {
			o += "="
		}
		return fmt.Sprintf("%s %s %s", name, o, c.Bind), 1
	}
	var items []string
	if inclusive {
		items = append(items, c.Bind)
	}
	sign := "+"
	if op == "<" {
		sign = "-"
	}
	for k := 1; k <= c.Members; k++ {
		// Signed: an unsigned number minus more than itself is an error, not a negative number.
		items = append(items, fmt.Sprintf("CAST(%s AS SIGNED) %s %d", c.Bind, sign, k))
	}
	return fmt.Sprintf("%s IN (%s)", name, strings.Join(items, ", ")), len(items)
}

func repeat(i, n int) []int {
	out := make([]int, n)
	for j := range out {
		out[j] = i
	}
	return out
}

func keyNames(cols []KeyCol) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return QuoteIdents(names)
}

// selectList is what reads the key columns' values: each one's Read, or the column.
func selectList(cols []KeyCol) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Read
		if c.Read == "" {
			out[i] = QuoteIdent(c.Name)
		}
	}
	return strings.Join(out, ", ")
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
	return fmt.Sprintf("SELECT %s FROM %s FORCE INDEX (%s) ORDER BY %s LIMIT 1", selectList(cols), table, QuoteIdent(index), order)
}

// SelectBoundary returns the key offset rows into the range where holds, along the index: the
// inclusive upper end of a chunk of offset+1 rows.
func SelectBoundary(table, index string, cols []KeyCol, where Cond, offset int) string {
	return fmt.Sprintf("SELECT %s FROM %s FORCE INDEX (%s) WHERE %s ORDER BY %s LIMIT 1 OFFSET %d",
		selectList(cols), table, QuoteIdent(index), where.SQL, keyNames(cols), offset)
}

// Copy is an INSERT … SELECT into the ghost table: the row copy (from the original, a key range at
// a time), the replay (from its stage table, which holds the binlog's row images), and a chunk copied
// again by the verification. Every value the ghost receives goes through one such statement, so the
// server converts it the same way whichever path it takes.
type Copy struct {
	From  string // the qualified source table
	Index string // the source's index to read along; empty: no FORCE INDEX
	Into  string // the qualified ghost table
	Cols  []string
	Exprs []string // what to select for each of Cols, over the source's columns
	Where string   // empty: every row
	// Lock reads the source with LOCK IN SHARE MODE: a concurrent DELETE of a copied row then commits
	// after the copy does, so its binlog event is replayed after it and the row cannot come back.
	Lock bool
	// Key are the columns of the ghost's iteration key.
	Key []KeyColumn
	// Trip is a NOT NULL column of the ghost the statement assigns NULL to when the row collides
	// with another row (see SQL); empty: the first key column.
	Trip string
	// TripBySubquery signals a collision, in a ghost with no NOT NULL column, with a scalar subquery
	// returning two rows, evaluated only then (error 1242), instead of a NULL.
	TripBySubquery bool
	// Update overwrites the copied columns of a row the ghost already holds under the same key (the
	// replay: the row image is newer). Without it that row is kept as it is (the copy: the replay
	// may have written a newer version already).
	Update bool
}

// KeyColumn is one column of the ghost's iteration key, as Copy compares it.
type KeyColumn struct {
	Name string
	// AsBytes compares the values as their stored bytes instead of by the column's collation, under
	// which distinct values ('a', 'A') may compare equal.
	AsBytes bool
}

// SQL returns the statement. It never drops a row silently: when the inserted row collides with a
// row of another key (a unique key the ALTER adds, which the original does not enforce), the
// ON DUPLICATE KEY UPDATE clause assigns NULL to the Trip column (the ghost's first key column
// unless said otherwise), which is NOT NULL, and the server fails the statement under doppel's
// strict sql_mode (error 1048). A plain INSERT IGNORE or REPLACE would lose a row without a word, and
// IGNORE would also turn data errors into warnings.
func (c Copy) SQL() string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) SELECT %s FROM %s", c.Into, QuoteIdents(c.Cols), strings.Join(c.Exprs, ", "), c.From)
	if c.Index != "" {
		fmt.Fprintf(&b, " FORCE INDEX (%s)", QuoteIdent(c.Index))
	}
	if c.Where != "" {
		b.WriteString(" WHERE " + c.Where)
	}
	if c.Lock {
		b.WriteString(" LOCK IN SHARE MODE")
	}
	same := make([]string, len(c.Key))
	isKey := map[string]bool{}
	for i, k := range c.Key {
		have, incoming := c.Into+"."+QuoteIdent(k.Name), "VALUES("+QuoteIdent(k.Name)+")"
		if k.AsBytes {
			have, incoming = "CAST("+have+" AS BINARY)", "CAST("+incoming+" AS BINARY)"
		}
		same[i] = have + " <=> " + incoming
		isKey[k.Name] = true
	}
	trip := c.Trip
	if trip == "" {
		trip = c.Key[0].Name
	}
	// With Update, a copied column that is not a key column takes the new value in the same
	// assignment: a column is assigned once.
	keep := c.Into + "." + QuoteIdent(trip)
	tripCopied := c.Update && !isKey[trip] && slices.Contains(c.Cols, trip)
	if tripCopied {
		keep = "VALUES(" + QuoteIdent(trip) + ")"
	}
	signal := "NULL"
	if c.TripBySubquery {
		trip, keep, tripCopied = c.Key[0].Name, c.Into+"."+QuoteIdent(c.Key[0].Name), false
		signal = "(SELECT NULL UNION ALL SELECT NULL)"
	}
	fmt.Fprintf(&b, " ON DUPLICATE KEY UPDATE %s = IF(%s, %s, %s)", QuoteIdent(trip), strings.Join(same, " AND "), keep, signal)
	if c.Update {
		for _, col := range c.Cols {
			if !isKey[col] && !(tripCopied && col == trip) {
				fmt.Fprintf(&b, ", %s = VALUES(%s)", QuoteIdent(col), QuoteIdent(col))
			}
		}
	}
	return b.String()
}

// InsertValues returns an INSERT of rows rows into table, each value bound through binds[i].
func InsertValues(table string, cols, binds []string, rows int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, QuoteIdents(cols))
	tuple := "(" + strings.Join(binds, ", ") + ")"
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tuple)
	}
	return b.String()
}

// CreateTemporaryLike returns the CREATE TEMPORARY TABLE of a session-private table with the given
// columns of from, each of exactly its type (CREATE … SELECT takes a column's type, character set
// and collation, ENUM members included, as the server knows them: no text of them goes through
// doppel), and a primary key over key. It reads no row of from. It must not run inside a
// transaction (MySQL with GTIDs refuses it there).
func CreateTemporaryLike(table string, key []string, from string, cols []string) string {
	return fmt.Sprintf("CREATE TEMPORARY TABLE IF NOT EXISTS %s (PRIMARY KEY (%s)) ENGINE=InnoDB SELECT %s FROM %s LIMIT 0",
		table, QuoteIdents(key), QuoteIdents(cols), from)
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
