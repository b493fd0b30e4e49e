package table

import (
	"errors"
	"strings"

	"github.com/doppel-sql/doppel/sqlbuild"
)

// ErrCollision means a row of the original collides with another row under a unique key of the
// altered table that the original does not enforce (a key the ALTER adds): writing it would lose one
// of them. The copy and the replay raise it instead of dropping a row.
var ErrCollision = errors.New("a row collides with another row under a unique key of the altered table")

// SelectExpr returns what the copy selects from the original's column o (or from a column of the
// same definition: the replay's stage table) to assign to the ghost's column g, so that g stores
// exactly what ALTER TABLE stores for the same value.
//
// An INSERT … SELECT assigns a column's value to another column the way ALTER TABLE copies it, with
// these exceptions (MariaDB 10.11, found by the differential test in package fidelity and checked
// against the server's ALTER):
//   - a FLOAT or DOUBLE assigned to a string column is printed with as many digits as the string
//     column has room for (3.141590118408203 for a FLOAT 3.14159 into VARCHAR(40)), and rounded to
//     fit a short one, while ALTER TABLE prints the number with its own type's digits (3.14159) and
//     fails when that does not fit; a ZEROFILL integer loses its zeros (12 where ALTER TABLE writes
//     00012). CAST(… AS CHAR) prints the number as ALTER TABLE does.
//   - a BLOB or TEXT value assigned to a smaller BLOB or TEXT type has its length wrapped around
//     (300 bytes into a TINYTEXT store 44) instead of failing as ALTER TABLE does; the same value
//     given as an expression fails properly ("Data too long"). The CAST keeps the bytes and the
//     character set.
func SelectExpr(o, g *Column) string {
	col := sqlbuild.QuoteIdent(o.Name)
	switch {
	case isString(g) && (isReal(o.DataType) || isInteger(o.DataType) && o.Zerofill()):
		return "CAST(" + col + " AS CHAR)"
	case isBlob(o.DataType) && isBlob(g.DataType) && blobBytes(g.DataType) < blobBytes(o.DataType):
		if o.Charset == "" {
			return "CAST(" + col + " AS BINARY)"
		}
		if sqlbuild.IsWord(o.Charset) {
			return "CAST(" + col + " AS CHAR CHARACTER SET " + o.Charset + ")"
		}
	}
	return col
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

// Def returns c's definition for a table doppel creates with the same column type.
func (c *Column) Def() sqlbuild.ColumnDef {
	d := sqlbuild.ColumnDef{Name: c.Name, Type: c.ColumnType, Nullable: c.Nullable}
	if c.Charset != "" { // text, and the members of ENUM and SET
		d.Charset, d.Collation = c.Charset, c.Collation
	}
	return d
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
