package fit

import (
	"math/big"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/doppel-sql/doppel/table"
)

// What a type holds, as the conditions need it. Lengths are read from the column's type with the SQL
// parser: the table's Column does not carry character lengths, and the probe's columns come from
// SHOW COLUMNS, which only prints the type.

func isTemporal(c *table.Column) bool {
	switch c.DataType {
	case "date", "datetime", "timestamp", "time", "year":
		return true
	}
	return false
}

// isCharText reports whether c is text whose limit is in characters (CHAR, VARCHAR); the TEXT
// types' limits are in bytes.
func isCharText(c *table.Column) bool {
	return c.IsText() && (c.DataType == "char" || c.DataType == "varchar")
}

// typeLength returns the length in the column's type: characters of CHAR/VARCHAR, bytes of
// BINARY/VARBINARY, bits of BIT, and for FLOAT/DOUBLE whether (M,D) is given.
func typeLength(c *table.Column) (length int, hasDecimals bool) {
	stmts, _, err := parser.New().Parse("CREATE TABLE t (c "+c.ColumnType+")", "", "")
	if err != nil || len(stmts) != 1 {
		return 0, false
	}
	ct, ok := stmts[0].(*ast.CreateTableStmt)
	if !ok || len(ct.Cols) != 1 {
		return 0, false
	}
	ft := ct.Cols[0].Tp
	return ft.GetFlen(), ft.GetDecimal() > 0
}

// blobBytes is the byte limit of the TEXT and BLOB types.
func blobBytes(dataType string) (int64, bool) {
	switch dataType {
	case "tinytext", "tinyblob":
		return 255, true
	case "text", "blob":
		return 65535, true
	case "mediumtext", "mediumblob":
		return 16777215, true
	case "longtext", "longblob", "json":
		return 4294967295, true
	}
	return 0, false
}

// byteLimit is the most bytes a value of a string column holds, 0 when unknown.
func byteLimit(c *table.Column) int64 {
	if n, ok := blobBytes(c.DataType); ok {
		return n
	}
	n, _ := typeLength(c)
	switch {
	case n <= 0:
		return 0
	case c.IsBinaryString():
		return int64(n)
	case isCharText(c):
		return int64(n) * maxBytesPerChar(c.Charset)
	}
	return 0
}

// maxChars is the most characters the text form of a value of c has, 0 when unknown (unbounded or
// a type this package does not convert to text).
func maxChars(c *table.Column) int64 {
	switch {
	case isCharText(c), c.IsBinaryString() && (c.DataType == "binary" || c.DataType == "varbinary"):
		n, _ := typeLength(c)
		return int64(max(n, 0))
	case c.IsText() || c.IsBinaryString():
		// At least one byte a character.
		n, _ := blobBytes(c.DataType)
		return n
	case c.DataType == "enum":
		var longest int
		for _, e := range c.Elems {
			longest = max(longest, len([]rune(e)))
		}
		return int64(longest)
	case c.DataType == "set":
		n := max(len(c.Elems)-1, 0) // the commas
		for _, e := range c.Elems {
			n += len([]rune(e))
		}
		return int64(n)
	case c.IsInteger() || c.DataType == "year":
		lo, hi := numericBounds(c)
		return int64(max(len(lo.String()), len(hi.String())))
	case c.DataType == "decimal":
		// Sign, digits, point, and a leading zero when every digit is a fraction.
		return c.Precision + 3
	case c.DataType == "date":
		return 10
	case c.DataType == "datetime", c.DataType == "timestamp":
		return 19 + fraction(c.FSP)
	case c.DataType == "time":
		return 10 + fraction(c.FSP) // -838:59:59
	}
	return 0
}

func fraction(fsp int64) int64 {
	if fsp > 0 {
		return fsp + 1
	}
	return 0
}

// maxBytesPerChar is the longest character of a character set, in bytes; 4 (the longest of any)
// for one not listed.
func maxBytesPerChar(charset string) int64 {
	switch strings.ToLower(charset) {
	case "latin1", "latin2", "latin5", "latin7", "ascii", "cp1250", "cp1251", "cp1256", "cp1257", "cp850",
		"cp852", "cp866", "koi8r", "koi8u", "greek", "hebrew", "swe7", "dec8", "hp8", "armscii8", "geostd8",
		"keybcs2", "macce", "macroman", "tis620", "binary":
		return 1
	case "ucs2", "big5", "gbk", "gb2312", "sjis", "cp932", "euckr":
		return 2
	case "utf8", "utf8mb3", "ujis", "eucjpms":
		return 3
	}
	return 4
}

// holdsAll reports whether every character of charset from has a place in charset to: a Unicode
// encoding of every code point holds what any character set holds.
func holdsAll(to, from string) bool {
	to, from = strings.ToLower(to), strings.ToLower(from)
	if to == from || from == "utf8" && to == "utf8mb3" || from == "utf8mb3" && to == "utf8" {
		return true
	}
	switch to {
	case "utf8mb4", "utf16", "utf16le", "utf32":
		return true
	}
	return false
}

var intBits = map[string]uint{"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}

// numericBounds returns the smallest and largest integer a value of c is, or rounds to: nil for a
// type without such bounds (FLOAT, DOUBLE, anything not a number).
func numericBounds(c *table.Column) (lo, hi *big.Int) {
	switch {
	case c.IsInteger():
		bits := intBits[c.DataType]
		if c.Unsigned {
			return big.NewInt(0), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), bits), big.NewInt(1))
		}
		half := new(big.Int).Lsh(big.NewInt(1), bits-1)
		return new(big.Int).Neg(half), new(big.Int).Sub(half, big.NewInt(1))
	case c.DataType == "year":
		return big.NewInt(0), big.NewInt(2155)
	case c.DataType == "bit":
		n, _ := typeLength(c)
		if n <= 0 {
			n = 64
		}
		return big.NewInt(0), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(n)), big.NewInt(1))
	case c.DataType == "decimal":
		// The largest value, 99.99 in DECIMAL(4,2), rounds up to 100.
		hi = pow10(c.Precision - c.Scale)
		if c.Scale == 0 {
			hi.Sub(hi, big.NewInt(1))
		}
		if c.Unsigned {
			return big.NewInt(0), hi
		}
		return new(big.Int).Neg(hi), hi
	}
	return nil, nil
}

func pow10(n int64) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil) }
