package binlog

// Unsigned returns v, the value of an UNSIGNED integer column that is bits wide (8, 16, 24, 32 or
// 64: TINYINT … BIGINT), as a uint64.
//
// go-mysql decodes a column as unsigned only when the table map event says it is, which the server
// writes only with binlog_row_metadata=MINIMAL or FULL (MariaDB's default is NO_LOG). Otherwise an
// INT UNSIGNED holding 4294967295 arrives as int32(-1) and a MEDIUMINT UNSIGNED holding 16777215 as
// int32(-1) too. The stored bits are the same, so a consumer that knows the column is unsigned
// reinterprets them here, whichever way the value arrived. nil (NULL) and values that are not
// integers are returned as they are.
func Unsigned(v any, bits uint) any {
	mask := ^uint64(0)
	if bits < 64 {
		mask = 1<<bits - 1
	}
	switch n := v.(type) {
	case int8:
		return uint64(n) & mask
	case int16:
		return uint64(n) & mask
	case int32:
		return uint64(n) & mask
	case int64:
		return uint64(n) & mask
	case int:
		return uint64(n) & mask
	case uint8:
		return uint64(n)
	case uint16:
		return uint64(n)
	case uint32:
		return uint64(n)
	case uint64:
		return n
	}
	return v
}
