package table

import (
	"fmt"
	"strconv"

	"github.com/doppel-sql/doppel/sqlbuild"
)

// BindExpr returns the expression that binds one value of column c, as its stored bytes or typed
// value, where it is compared with or assigned to column target (c itself, or c's counterpart in the
// ghost). Text values travel as bytes (_binary'…') and are told their character set explicitly, so
// nothing is ever converted through the connection's or the table's default character set; when the
// target's character set differs they are converted properly, and comparisons use the target's
// collation, as an index range on it requires. DECIMAL values are cast so they are compared exactly,
// never as floating point.
func BindExpr(c, target *Column) string {
	switch {
	case c.IsText():
		if !sqlbuild.IsWord(c.Charset) {
			return "?"
		}
		expr := fmt.Sprintf("CONVERT(? USING %s)", c.Charset)
		if target.IsText() && sqlbuild.IsWord(target.Charset) && sqlbuild.IsWord(target.Collation) {
			if target.Charset != c.Charset {
				expr = fmt.Sprintf("CONVERT(%s USING %s)", expr, target.Charset)
			}
			expr += " COLLATE " + target.Collation
		}
		return expr
	case c.DataType == "json":
		// MySQL's JSON type refuses binary strings; the text is utf8mb4.
		return "CONVERT(? USING utf8mb4)"
	case c.DataType == "decimal":
		return fmt.Sprintf("CAST(? AS DECIMAL(%d,%d))", c.Precision, c.Scale)
	}
	return "?"
}

// ValueFromText converts a value of c read with doppel's session (text protocol, character_set_results
// binary, so the stored bytes) into the value to bind through BindExpr: integers as int64 or uint64
// (a numeric string would be compared as a double and lose precision past 2^53), everything else as
// the bytes read. Only types a key can be iterated on need to be handled.
func ValueFromText(c *Column, b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	switch {
	case isInteger(c.DataType) || c.DataType == "year":
		if c.Unsigned {
			n, err := strconv.ParseUint(string(b), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("reading %s value of column %s: %w", c.DataType, c.Name, err)
			}
			return n, nil
		}
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("reading %s value of column %s: %w", c.DataType, c.Name, err)
		}
		return n, nil
	case c.DataType == "bit":
		// BIT values come as big-endian bytes.
		var n uint64
		for _, x := range b {
			n = n<<8 | uint64(x)
		}
		return n, nil
	case c.IsText(), c.DataType == "binary", c.DataType == "varbinary":
		return append([]byte(nil), b...), nil
	}
	return string(b), nil
}
