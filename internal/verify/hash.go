package verify

import (
	"fmt"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// rowHash is the per-row hash of each table over the copied columns.
type rowHash struct {
	orig, ghost string // SQL expressions: a BIGINT UNSIGNED per row
	// staged lists the columns whose type change no expression reproduces exactly (with the type
	// change): the original's rows are then hashed after the server's own conversion (stager).
	staged []string
}

// newRowHash builds the row hash expressions of both tables over the copied columns.
//
// Each column value is reduced to its CRC32, or "N" for NULL; a row is the list of those, comma
// separated. The list cannot be ambiguous: a CRC32 is digits only, so NULL and an empty string
// differ, and no value can stand in for a separator or move into a neighbouring column. The row's
// hash is 64 bits: the CRC32 of the list, and of the list reversed. A chunk's hash is the exact
// sum (a DECIMAL) of its rows' hashes: unlike BIT_XOR, two rows with the same hash do not cancel out,
// which matters when a key column cannot be compared and two rows of a chunk agree on the others.
//
// A changed value goes unnoticed only if its CRC32 does not change: about once in four billion.
// MD5 over the encoded values would be stronger still but costs twice as much server time, and the
// verification reads every row of both tables: on a 2,000,000-row table this takes 3.7 s per table
// where MD5 took 7.2 s (measured on the sandbox, MariaDB 10.11).
//
// The ghost's values are taken as stored. The original's are first converted to what the ghost
// stores for them (see convert), so equal data hashes equal even when the ALTER changes types.
func newRowHash(pairs []table.Pair) rowHash {
	var h rowHash
	var origFields, ghostFields []string
	for _, p := range pairs {
		o, g, why := convert(p.Orig, p.Ghost)
		if why != "" {
			h.staged = append(h.staged, fmt.Sprintf("%s (%s)", p.Ghost.Name, why))
			g = render(p.Ghost, sqlbuild.QuoteIdent(p.Ghost.Name))
		}
		origFields = append(origFields, field(o))
		ghostFields = append(ghostFields, field(g))
	}
	h.orig, h.ghost = hash64(origFields), hash64(ghostFields)
	return h
}

// field is one column's part of the row encoding: CRC32 works on the value's bytes as stored (or
// as converted), so no charset comes between.
func field(expr string) string {
	return fmt.Sprintf("IFNULL(CRC32(%s), 'N')", expr)
}

func hash64(fields []string) string {
	if len(fields) == 0 {
		// Nothing to compare but the rows' existence, which the counts cover.
		return "0"
	}
	row := fmt.Sprintf("CONCAT_WS(',', %s)", strings.Join(fields, ", "))
	return fmt.Sprintf("(CRC32(%s) * 4294967296 + CRC32(REVERSE(%s)))", row, row)
}

// convert returns the expressions that give, for one copied column, the ghost's stored value and
// the original's value as the ghost stores it, such that the two render to the same bytes exactly
// when the ghost holds the right value. When no exact expression is known, why says which type
// change it is and the column is left out of the hash (the row counts still cover it).
//
// Each rule mirrors what the copy's INSERT … SELECT does to a value under doppel's strict sql_mode;
// a value that the ghost's type cannot hold makes the copy fail, so only values that fit are
// compared.
func convert(o, g *table.Column) (origExpr, ghostExpr, why string) {
	qo, qg := sqlbuild.QuoteIdent(o.Name), sqlbuild.QuoteIdent(g.Name)
	switch {
	case sameType(o, g):
		return render(o, qo), render(g, qg), ""
	case o.IsInteger() && g.IsInteger():
		// Equal numbers, whatever the widths and signedness; DECIMAL(20,0) holds every 64-bit
		// integer and drops ZEROFILL's padding.
		return "CAST(" + qo + " AS DECIMAL(20,0))", "CAST(" + qg + " AS DECIMAL(20,0))", ""
	case o.DataType == "bit" && g.DataType == "bit":
		return render(o, qo), render(g, qg), ""
	case g.DataType == "decimal" && (o.DataType == "decimal" || o.IsInteger()):
		// CAST rounds as the assignment does.
		cast := fmt.Sprintf(" AS DECIMAL(%d,%d))", g.Precision, g.Scale)
		return "CAST(" + qo + cast, "CAST(" + qg + cast, ""
	case (g.DataType == "datetime" || g.DataType == "timestamp") &&
		(o.DataType == "datetime" || o.DataType == "timestamp" || o.DataType == "date"):
		// Sessions use time_zone +00:00, so a TIMESTAMP reads as the DATETIME it is assigned as.
		// CAST rounds or truncates the fraction as the server's assignment does (MySQL rounds,
		// MariaDB truncates).
		return fmt.Sprintf("CAST(%s AS DATETIME(%d))", qo, g.FSP), qg, ""
	case g.DataType == "time" && o.DataType == "time":
		return fmt.Sprintf("CAST(%s AS TIME(%d))", qo, g.FSP), qg, ""
	case g.DataType == "enum" && o.DataType == "enum",
		g.DataType == "set" && o.DataType == "set" && keepsOrder(o.Elems, g.Elems),
		g.IsText() && (o.IsText() || o.DataType == "enum" || o.DataType == "set" || o.IsBinaryString()):
		// ENUM and SET compare as their text: the copy assigns them by member name. A SET prints
		// its members in definition order, hence the order condition. Text is compared in the
		// ghost's character set.
		expr, ok := inCharset(o, qo, g.Charset)
		if !ok {
			return "", "", fmt.Sprintf("%s to %s", o.ColumnType, g.ColumnType)
		}
		if g.DataType == "char" && o.DataType != "char" {
			// CHAR drops trailing spaces: 'a ' is read back as 'a'.
			expr = "TRIM(TRAILING ' ' FROM " + expr + ")"
		}
		return expr, qg, ""
	case g.IsBinaryString() && (o.IsBinaryString() || o.IsText()):
		// A string assigned to a binary column keeps its bytes; BINARY(n) pads them with zero
		// bytes, as CAST … AS BINARY(n) does.
		if g.DataType == "binary" {
			return fmt.Sprintf("CAST(%s AS BINARY(%d))", qo, g.OctetLen), qg, ""
		}
		return qo, qg, ""
	}
	return "", "", fmt.Sprintf("%s to %s", o.ColumnType, g.ColumnType)
}

// sameType reports whether the two columns store values the same way.
func sameType(o, g *table.Column) bool {
	return o.DataType == g.DataType && strings.EqualFold(o.ColumnType, g.ColumnType) && o.Charset == g.Charset
}

// render is the expression whose text is a value of c: BIT as its number (its bytes depend on the
// width), MySQL's JSON as its text, anything else as the server prints it.
func render(c *table.Column, expr string) string {
	switch c.DataType {
	case "bit":
		return "CAST(" + expr + " AS UNSIGNED)"
	case "json":
		return "CONVERT(" + expr + " USING utf8mb4)"
	}
	return expr
}

// inCharset converts a text, ENUM or SET value of o into charset; binary strings keep their bytes.
func inCharset(o *table.Column, expr, charset string) (string, bool) {
	if o.IsBinaryString() || o.Charset == charset {
		return expr, true
	}
	if !sqlbuild.IsWord(charset) {
		return "", false
	}
	return fmt.Sprintf("CONVERT(%s USING %s)", expr, charset), true
}

// keepsOrder reports whether the members of o appear in g in the same relative order, so that a
// SET value prints the same in both.
func keepsOrder(o, g []string) bool {
	j := 0
	for _, m := range o {
		for j < len(g) && !strings.EqualFold(g[j], m) {
			j++
		}
		if j == len(g) {
			return false
		}
		j++
	}
	return true
}
