package applier

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/doppel-sql/doppel/table"
)

// fromBinlog converts a value of column c as go-mysql decodes it into the value to bind through
// table.BindExpr into a column of c's own type (the replay's stage table, or the key of the ghost).
// It must give back exactly what the row holds:
//   - integers: the binlog does not say whether a column is unsigned unless binlog_row_metadata=FULL,
//     so go-mysql may decode 4294967295 in an INT UNSIGNED as -1; the column's definition decides;
//   - BIT: its bits as an unsigned number (go-mysql gives BIT(64) with the top bit set as a negative
//     int64, which compares with no stored value);
//   - ENUM and SET arrive as the member number and the bit mask, and are bound as such: a number
//     assigned to an ENUM or SET column selects the members by position, exactly what the row holds
//     (member names may repeat in other letter cases, or collate together);
//   - text and binary strings stay the bytes stored (no charset conversion ever); BINARY(n) gets back
//     the trailing zero bytes the binlog leaves out, or comparisons with the stored value fail;
//   - DECIMAL as its exact decimal text.
func fromBinlog(c *table.Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return integer(c, v)
	case "bit", "set":
		n, err := asUint(v)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		return n, nil
	case "enum":
		n, err := asUint(v)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		if n > uint64(len(c.Elems)) {
			return nil, fmt.Errorf("column %s: ENUM member %d of %d: the table definition does not match the binlog", c.Name, n, len(c.Elems))
		}
		return n, nil
	case "decimal":
		switch d := v.(type) {
		case decimal.Decimal:
			return d.String(), nil
		case string:
			return d, nil
		}
	case "binary":
		b := bytesOf(v)
		if int64(len(b)) < c.OctetLen {
			padded := make([]byte, c.OctetLen)
			copy(padded, b)
			return padded, nil
		}
		return b, nil
	case "float":
		if f, ok := v.(float32); ok {
			return float64(f), nil
		}
	}
	switch x := v.(type) {
	case string:
		if c.IsText() || c.DataType == "json" || c.DataType == "varbinary" {
			return append([]byte{}, x...), nil // never nil: a nil []byte is bound as NULL
		}
		return x, nil
	case []byte:
		if x == nil {
			return []byte{}, nil
		}
		return x, nil
	}
	return v, nil
}

// integer returns v as int64, or as uint64 for an unsigned column.
func integer(c *table.Column, v any) (any, error) {
	var signed int64
	switch x := v.(type) {
	case int8:
		signed = int64(x)
	case int16:
		signed = int64(x)
	case int32:
		signed = int64(x)
	case int64:
		signed = x
	case int:
		signed = int64(x)
	case uint8, uint16, uint32, uint64, uint:
		u, _ := asUint(x)
		if c.Unsigned {
			return u, nil
		}
		return int64(u), nil
	default:
		return nil, fmt.Errorf("column %s: unexpected %T for an integer", c.Name, v)
	}
	if !c.Unsigned || signed >= 0 {
		if c.Unsigned {
			return uint64(signed), nil
		}
		return signed, nil
	}
	// A negative number in an unsigned column is the two's complement of a large one: keep the
	// column's width of it.
	width := map[string]int{"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}[c.DataType]
	u := uint64(signed)
	if width < 64 {
		u &= (1 << uint(width)) - 1
	}
	return u, nil
}

func asUint(v any) (uint64, error) {
	switch x := v.(type) {
	case int8:
		return uint64(uint8(x)), nil
	case int16:
		return uint64(uint16(x)), nil
	case int32:
		return uint64(uint32(x)), nil
	case int64:
		return uint64(x), nil
	case int:
		return uint64(x), nil
	case uint8:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint32:
		return uint64(x), nil
	case uint64:
		return x, nil
	case uint:
		return uint64(x), nil
	}
	return 0, fmt.Errorf("unexpected %T for a number", v)
}

func bytesOf(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return []byte(fmt.Sprint(v))
}

// keyString makes a map key of key values: equal bytes, equal key.
func keyString(vals []any) string {
	var b strings.Builder
	for _, v := range vals {
		switch x := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "b%d:%s|", len(x), x)
		case string:
			fmt.Fprintf(&b, "s%d:%s|", len(x), x)
		default:
			fmt.Fprintf(&b, "%T:%v|", v, v)
		}
	}
	return b.String()
}
