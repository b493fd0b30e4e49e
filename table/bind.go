package table

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
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

// ReadExpr is what to select to read column c's value exactly with doppel's session (text protocol):
// ENUM and SET as their member number and bit mask, FLOAT and DOUBLE as a double (the text protocol
// prints a FLOAT with six digits, too few to give the same FLOAT back), anything else as it is.
func ReadExpr(c *Column) string {
	col := sqlbuild.QuoteIdent(c.Name)
	switch {
	case c.DataType == "enum" || c.DataType == "set":
		return col + " + 0"
	case isReal(c.DataType):
		return col + " + 0E0"
	}
	return col
}

// ValueFromText converts a value of c read through ReadExpr with doppel's session (text protocol,
// character_set_results binary, so the stored bytes) into the value to bind through BindExpr into a
// column of c's type: integers as int64 or uint64 (a numeric string would be compared as a double
// and lose precision past 2^53), BIT, ENUM and SET as the unsigned number, FLOAT and DOUBLE as a
// float64, everything else as the bytes read.
func ValueFromText(c *Column, b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	switch {
	case c.DataType == "enum" || c.DataType == "set":
		n, err := strconv.ParseUint(string(b), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("reading %s value of column %s: %w", c.DataType, c.Name, err)
		}
		return n, nil
	case isReal(c.DataType):
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return nil, fmt.Errorf("reading %s value of column %s: %w", c.DataType, c.Name, err)
		}
		return f, nil
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
	case c.DataType == "decimal" || isTemporal(c.DataType) || c.DataType == "date":
		return string(b), nil // ASCII text, compared and assigned as such
	}
	// Never nil: a nil []byte is bound as NULL, and an empty string is not NULL.
	return append([]byte{}, b...), nil
}

// FormatKey prints key values for an operator: key values are user data, for error messages the
// operator needs to find the rows, never for logs.
func FormatKey(key []any) string {
	parts := make([]string, len(key))
	for i, v := range key {
		switch x := v.(type) {
		case int64:
			parts[i] = strconv.FormatInt(x, 10)
		case uint64:
			parts[i] = strconv.FormatUint(x, 10)
		case []byte:
			parts[i] = strconv.Quote(string(x))
		case string:
			parts[i] = strconv.Quote(x)
		default:
			parts[i] = fmt.Sprint(x)
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// ReadKey runs query, which selects the columns of key (in its order), and returns the first row's
// values as ValueFromText reads them; nil when there is no row. The copier and the backfill find
// their chunks' bounds with it.
func ReadKey(ctx context.Context, db *sql.DB, key *Key, query string, args ...any) ([]any, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	raw := make([]sql.RawBytes, len(key.Columns))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	values := make([]any, len(raw))
	for i, p := range key.Columns {
		if values[i], err = ValueFromText(p.Orig, raw[i]); err != nil {
			return nil, err
		}
	}
	// Close before Err: the RawBytes hold the rows' read lock until then, and a cancelled context's
	// close waits for it, which would make Err wait for ever.
	_ = rows.Close()
	return values, rows.Err()
}
