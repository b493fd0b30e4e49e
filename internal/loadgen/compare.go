package loadgen

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// Side is one table of a comparison; the two sides may be on different servers.
type Side struct {
	DB     *sql.DB
	Schema string
	Table  string
}

func (s Side) String() string { return sqlbuild.QualifiedName(s.Schema, s.Table) }

// Mismatch is the error Compare returns when the tables differ.
type Mismatch struct {
	A, B      string
	Rows      int64 // rows read from A
	Differing int64 // same key, different values
	Missing   int64 // in A, not in B
	Extra     int64 // in B, not in A
	// Examples describe the first few differences, key first.
	Examples []string
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("%s and %s differ: %d rows differ, %d rows of %s missing from %s, %d extra rows in %s (of %d rows); first: %s",
		m.A, m.B, m.Differing, m.Missing, m.A, m.B, m.Extra, m.B, m.Rows, strings.Join(m.Examples, "; "))
}

const maxExamples = 5

// Compare compares tables a and b of one schema row by row; see CompareTables.
func Compare(ctx context.Context, db *sql.DB, schema, a, b string, key []string) error {
	return CompareTables(ctx, Side{DB: db, Schema: schema, Table: a}, Side{DB: db, Schema: schema, Table: b}, key)
}

// CompareTables compares two tables row by row over the columns they share (generated and invisible
// ones included), matching rows by the unique key columns key. Values are compared byte for byte as
// the pools return them: open them with dbconn.Open, whose character_set_results=binary returns the
// stored bytes and whose time_zone '+00:00' reads TIMESTAMPs the same way on both sides. It returns
// nil when the tables hold the same rows, a *Mismatch when they do not, and other errors when it
// cannot read them.
//
// Both sides are read in one order that Go can reproduce, so a merge finds the pairs: text keys by
// their bytes (not by a collation, under which 'a' and 'A' tie), numbers and TIME numerically,
// other temporal values by their text.
func CompareTables(ctx context.Context, a, b Side, key []string) error {
	ta, err := table.Inspect(ctx, a.DB, a.Schema, a.Table)
	if err != nil {
		return fmt.Errorf("comparing: %w", err)
	}
	tb, err := table.Inspect(ctx, b.DB, b.Schema, b.Table)
	if err != nil {
		return fmt.Errorf("comparing: %w", err)
	}
	var keyA, keyB []*table.Column
	for _, name := range key {
		ca, cb := ta.Column(name), tb.Column(name)
		if ca == nil || cb == nil {
			return fmt.Errorf("comparing %s and %s: key column %s is not in both", a, b, name)
		}
		keyA, keyB = append(keyA, ca), append(keyB, cb)
	}
	var names []string
	var colsA, colsB []*table.Column
	for i := range ta.Columns {
		ca := &ta.Columns[i]
		if cb := tb.Column(ca.Name); cb != nil {
			names = append(names, ca.Name)
			colsA, colsB = append(colsA, ca), append(colsB, cb)
		}
	}
	ra, err := openCursor(ctx, a, keyA, colsA)
	if err != nil {
		return err
	}
	defer ra.close()
	rb, err := openCursor(ctx, b, keyB, colsB)
	if err != nil {
		return err
	}
	defer rb.close()
	m := &Mismatch{A: a.String(), B: b.String()}
	if err := merge(ra, rb, keyA, names, m); err != nil {
		return err
	}
	if m.Differing+m.Missing+m.Extra > 0 {
		return m
	}
	return nil
}

// merge walks both ordered cursors together and counts the differences into m.
func merge(ra, rb *cursor, key []*table.Column, names []string, m *Mismatch) error {
	okA, err := ra.next()
	if err != nil {
		return err
	}
	okB, err := rb.next()
	if err != nil {
		return err
	}
	example := func(s string) {
		if len(m.Examples) < maxExamples {
			m.Examples = append(m.Examples, s)
		}
	}
	for okA || okB {
		var c int
		switch {
		case !okB:
			c = -1
		case !okA:
			c = 1
		default:
			c = compareKeys(key, ra.key, rb.key)
		}
		switch {
		case c < 0:
			m.Missing++
			example("missing from " + m.B + ": " + describeKey(key, ra.key))
		case c > 0:
			m.Extra++
			example("extra in " + m.B + ": " + describeKey(key, rb.key))
		default:
			if diff := differingColumns(names, ra.vals, rb.vals); len(diff) > 0 {
				m.Differing++
				example(describeKey(key, ra.key) + ": " + strings.Join(diff, ", ") + " differ")
			}
		}
		if c <= 0 {
			m.Rows++
			if okA, err = ra.next(); err != nil {
				return err
			}
		}
		if c >= 0 {
			if okB, err = rb.next(); err != nil {
				return err
			}
		}
	}
	return nil
}

// cursor reads one side's rows: the key in its comparison form, then every compared column.
type cursor struct {
	rows *sql.Rows
	nKey int
	key  [][]byte
	vals [][]byte
	name string
}

func openCursor(ctx context.Context, s Side, key, cols []*table.Column) (*cursor, error) {
	var exprs, order []string
	for i, c := range key {
		exprs = append(exprs, orderExpr(c))
		order = append(order, fmt.Sprint(i+1))
	}
	for _, c := range cols {
		exprs = append(exprs, sqlbuild.QuoteIdent(c.Name))
	}
	q := "SELECT " + strings.Join(exprs, ", ") + " FROM " + s.String() + " ORDER BY " + strings.Join(order, ", ")
	rows, err := s.DB.QueryContext(ctx, q) //nolint:rowserrcheck // the cursor's next checks Err
	if err != nil {
		return nil, fmt.Errorf("reading %s to compare: %w", s, err)
	}
	return &cursor{rows: rows, nKey: len(key), name: s.String()}, nil
}

// next reads the next row; false at the end. NULL is a nil slice, an empty value an empty one.
func (c *cursor) next() (bool, error) {
	if !c.rows.Next() {
		if err := c.rows.Err(); err != nil {
			return false, fmt.Errorf("reading %s to compare: %w", c.name, err)
		}
		return false, nil
	}
	cols, err := c.rows.Columns()
	if err != nil {
		return false, fmt.Errorf("reading %s to compare: %w", c.name, err)
	}
	vals := make([][]byte, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := c.rows.Scan(dest...); err != nil {
		return false, fmt.Errorf("reading %s to compare: %w", c.name, err)
	}
	c.key, c.vals = vals[:c.nKey], vals[c.nKey:]
	return true, nil
}

func (c *cursor) close() { c.rows.Close() }

// keyOrder is how a key column is ordered on both sides and compared in Go.
type keyOrder int

const (
	byBytes  keyOrder = iota // text by its bytes (binary collation), binary strings, BIT, dates as text
	byNumber                 // integers, DECIMAL, floating point, YEAR, TIME as hhmmss
)

func orderOf(c *table.Column) keyOrder {
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric",
		"float", "double", "real", "year", "time":
		return byNumber
	}
	return byBytes
}

// orderExpr is the expression a key column is selected and ordered by.
func orderExpr(c *table.Column) string {
	q := sqlbuild.QuoteIdent(c.Name)
	switch {
	case c.DataType == "time":
		return q + " + 0" // -01:00:00 sorts before -00:59:59 as a number, not as text
	case c.Charset != "":
		return "CAST(" + q + " AS BINARY)"
	}
	return q
}

func compareKeys(key []*table.Column, a, b [][]byte) int {
	for i, c := range key {
		var r int
		if orderOf(c) == byNumber {
			r = compareNumbers(a[i], b[i])
		} else {
			r = bytes.Compare(a[i], b[i])
		}
		if r != 0 {
			return r
		}
	}
	return 0
}

// compareNumbers compares two numbers as the server renders them; text that is not a number (which a
// numeric column never returns) sorts by its bytes.
func compareNumbers(a, b []byte) int {
	x, okX := new(big.Rat).SetString(string(a))
	y, okY := new(big.Rat).SetString(string(b))
	if !okX || !okY {
		return bytes.Compare(a, b)
	}
	return x.Cmp(y)
}

// differingColumns describes the columns whose values differ: name, then both values (shortened).
func differingColumns(names []string, a, b [][]byte) []string {
	var out []string
	for i := range names {
		if !bytes.Equal(a[i], b[i]) || (a[i] == nil) != (b[i] == nil) {
			out = append(out, names[i]+" ("+shorten(a[i])+" vs "+shorten(b[i])+")")
		}
	}
	return out
}

func shorten(b []byte) string {
	const keep = 40
	if b == nil {
		return "NULL"
	}
	if len(b) > keep {
		return printable(b[:keep]) + fmt.Sprintf("…(%d bytes)", len(b))
	}
	return printable(b)
}

// describeKey renders a key for a report: printable text as it is, anything else in hex.
func describeKey(key []*table.Column, vals [][]byte) string {
	parts := make([]string, len(key))
	for i, c := range key {
		parts[i] = c.Name + "=" + printable(vals[i])
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func printable(b []byte) string {
	if utf8.Valid(b) && strings.IndexFunc(string(b), func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("0x%X", b)
}
