package table

import (
	"errors"
	"fmt"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// ErrCollision means a row of the original collides with another row under a unique key of the
// altered table that the original does not enforce (a key the ALTER adds): writing it would lose one
// of them. The copy and the replay raise it instead of dropping a row.
var ErrCollision = errors.New("a row collides with another row under a unique key of the altered table")

// ErrNullKey means a row holds NULL in a column of the iteration key (one that allows NULL, with
// --allow-nullable-unique-key): such a row is in no key range and matches no key, so doppel can
// neither copy it nor replay its changes.
var ErrNullKey = errors.New("a row holds NULL in the iteration key")

// Expr returns what the copy selects from the original's column of p (or from a column of the same
// definition: the replay's stage table) to assign to the ghost's column of p, so that it stores
// exactly what ALTER TABLE stores for the same value: SelectExpr in the mapping's time zone.
func (m Mapping) Expr(p Pair) string {
	return SelectExpr(sqlbuild.QuoteIdent(p.Orig.Name), p.Orig, p.Ghost, m.TimeZone)
}

// SelectExpr returns the expression, over ref (column o's value), that assigned to column g stores
// what ALTER TABLE stores for the same value when its session's time zone is zone ("" for UTC).
//
// An INSERT … SELECT assigns a column's value to another column the way ALTER TABLE copies it, with
// these exceptions (MariaDB 10.11, found by the differential test in package fidelity and checked
// against the server's ALTER):
//   - a FLOAT or DOUBLE assigned to a string column is printed with as many digits as the string
//     column has room for (3.141590118408203 for a FLOAT 3.14159 into VARCHAR(40)), and rounded to
//     fit a short one, while ALTER TABLE prints the number with its own type's digits (3.14159) and
//     fails when that does not fit; a ZEROFILL integer loses its zeros (12 where ALTER TABLE writes
//     00012), a YEAR 0 its digits (0 for 0000). CAST(… AS CHAR) prints them as ALTER TABLE does.
//   - a BLOB or TEXT value assigned to a smaller BLOB or TEXT type has its length wrapped around
//     (300 bytes into a TINYTEXT store 44) instead of failing as ALTER TABLE does; the same value
//     given as an expression fails properly ("Data too long"). The CAST keeps the bytes and the
//     character set.
//   - a string assigned to an integer or BIT column is read leniently ('0.5' becomes 1, '1e2' 100,
//     bytes are kept as bits), where ALTER TABLE reads it as an integer and fails on anything else
//     ("Truncated incorrect INTEGER value"); CAST(… AS SIGNED/UNSIGNED) reads it as ALTER TABLE does.
//   - a BIT assigned to FLOAT or DOUBLE is read unsigned (a BIT(64) with its top bit set becomes
//     9.2e18), where ALTER TABLE reads it signed (-9.2e18); a FLOAT or DOUBLE assigned to BIGINT or
//     BIT is truncated and fails past 2^63 where ALTER TABLE rounds it and clips it to 2^63-1. CAST(…
//     AS SIGNED) does what ALTER TABLE does.
//   - doppel's sessions run at time zone +00:00 (binlog TIMESTAMPs are UTC), while ALTER TABLE
//     converts a TIMESTAMP to or from any other type in its session's time zone, the server's default
//     one: CONVERT_TZ converts between the two. A zero date is left to the assignment, which keeps
//     it as ALTER TABLE does; an invalid date fails either way.
func SelectExpr(ref string, o, g *Column, zone string) string {
	switch {
	case isString(g) && (o.IsReal() || o.IsInteger() && o.Zerofill() || o.DataType == "year"):
		return "CAST(" + ref + " AS CHAR)"
	case isBlob(o.DataType) && isBlob(g.DataType) && blobBytes(g.DataType) < blobBytes(o.DataType):
		if o.Charset == "" {
			return "CAST(" + ref + " AS BINARY)"
		}
		if sqlbuild.IsWord(o.Charset) {
			return "CAST(" + ref + " AS CHAR CHARACTER SET " + o.Charset + ")"
		}
	case isString(o) && g.IsInteger() && g.Unsigned, isString(o) && g.DataType == "bit":
		return "CAST(" + ref + " AS UNSIGNED)"
	case isString(o) && g.IsInteger():
		return "CAST(" + ref + " AS SIGNED)"
	case o.DataType == "bit" && g.IsReal(), o.IsReal() && (g.DataType == "bit" || g.DataType == "bigint" && !g.Unsigned):
		return "CAST(" + ref + " AS SIGNED)"
	case zone != "" && o.DataType == "timestamp" && g.DataType != "timestamp":
		return fmt.Sprintf("IF(%s = 0, %s, CONVERT_TZ(%s, '+00:00', %s))", ref, ref, ref, sqlbuild.QuoteString(zone))
	case zone != "" && o.DataType != "timestamp" && g.DataType == "timestamp":
		// A zero date is assigned as it is (CONVERT_TZ refuses it, and a refusal inside an INSERT
		// fails the statement under a strict sql_mode), and the converted value keeps the kind of
		// the original's (a string, a number or a date), so that it is assigned as the ALTER assigns
		// the original's.
		utc := fmt.Sprintf("CONVERT_TZ(%s, %s, '+00:00')", ref, sqlbuild.QuoteString(zone))
		switch {
		case isString(o) || o.DataType == "enum" || o.DataType == "set":
			return fmt.Sprintf("IF(%s LIKE '0000-00-00%%', %s, CAST(%s AS CHAR))", ref, ref, utc)
		case o.IsInteger() || o.IsReal() || o.DataType == "decimal" || o.DataType == "bit":
			utc += " + 0"
		}
		return fmt.Sprintf("IF(%s = 0, %s, %s)", ref, ref, utc)
	}
	return ref
}

// Zerofill reports whether c is an integer column declared ZEROFILL.
func (c *Column) Zerofill() bool {
	return strings.Contains(strings.ToLower(c.ColumnType), "zerofill")
}

func isBlob(dataType string) bool { return blobBytes(dataType) > 0 }

// blobBytes is the largest value a BLOB or TEXT type holds, in bytes; 0 for other types.
func blobBytes(dataType string) int64 {
	switch dataType {
	case "tinyblob", "tinytext":
		return 1<<8 - 1
	case "blob", "text":
		return 1<<16 - 1
	case "mediumblob", "mediumtext":
		return 1<<24 - 1
	case "longblob", "longtext":
		return 1<<32 - 1
	}
	return 0
}

// isString reports whether c holds character or byte strings (not ENUM or SET, which hold members).
func isString(c *Column) bool {
	switch c.DataType {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext",
		"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return true
	}
	return false
}

func isReal(dataType string) bool {
	return dataType == "float" || dataType == "double" || dataType == "real"
}

// OrigCols returns the key's columns in the original, each bound and read as its own value (an ENUM
// by member number, which is how it sorts and how the binlog gives it).
func (k *Key) OrigCols() []sqlbuild.KeyCol {
	out := make([]sqlbuild.KeyCol, len(k.Columns))
	for i, p := range k.Columns {
		out[i] = sqlbuild.KeyCol{Name: p.Orig.Name, Bind: BindExpr(p.Orig, p.Orig), Read: ReadExpr(p.Orig)}
		if p.Orig.DataType == "enum" {
			out[i].Members = len(p.Orig.Elems)
		}
	}
	return out
}

// GhostCols returns the key's columns in the ghost, each binding a value of the original's column.
func (k *Key) GhostCols() []sqlbuild.KeyCol {
	out := make([]sqlbuild.KeyCol, len(k.Columns))
	for i, p := range k.Columns {
		out[i] = sqlbuild.KeyCol{Name: p.Ghost.Name, Bind: BindExpr(p.Orig, p.Ghost)}
		if p.Orig.DataType == "enum" {
			// The original's numbers, which the ghost keeps (table.ChooseKey): its ranges hold
			// the original's members only.
			out[i].Members = len(p.Orig.Elems)
		}
	}
	return out
}

// KeyColumns returns the ghost's iteration key columns for sqlbuild.Copy: text is compared as its
// bytes, so values a collation deems equal are not taken for the same row.
func (k *Key) KeyColumns() []sqlbuild.KeyColumn {
	out := make([]sqlbuild.KeyColumn, len(k.Columns))
	for i, p := range k.Columns {
		out[i] = sqlbuild.KeyColumn{Name: p.Ghost.Name, AsBytes: p.Ghost.Charset != ""}
	}
	return out
}

// HasEnumErrorValue reports whether a row of values of cols (bound as for a column of the same type:
// ValueFromText, or the replay's) holds an ENUM's empty "error" member, number 0, which only a
// non-strict session can write (dbconn.LenientSQLMode).
func HasEnumErrorValue(cols []*Column, rows [][]any) bool {
	for i, c := range cols {
		if c.DataType != "enum" {
			continue
		}
		for _, r := range rows {
			if n, ok := r[i].(uint64); ok && n == 0 {
				return true
			}
		}
	}
	return false
}
