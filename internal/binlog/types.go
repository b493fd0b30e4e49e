// Package binlog streams the binary log of one server and turns the row events of the tables doppel
// watches into ordered, typed transactions. It knows nothing of schemas beyond table names: values
// are handed on exactly as go-mysql decodes them (strings as their stored bytes, no charset conversion).
package binlog

import (
	"fmt"
	"time"
)

// Position is a point in the binary log: a file name and a byte offset in it.
type Position struct {
	File string
	Pos  uint32
	// GTIDSet, with Config.GTID, is the set of transactions executed up to here (MySQL's
	// gtid_executed, MariaDB's gtid_binlog_pos): where a stream can start on any server of the
	// topology. Compare and String ignore it.
	GTIDSet string
}

func (p Position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Pos) }

// IsZero reports whether p is unset.
func (p Position) IsZero() bool { return p.File == "" && p.Pos == 0 && p.GTIDSet == "" }

// Compare returns -1, 0 or 1 as p is before, equal to or after q. Binlog file names share a base
// and a zero-padded sequence number, so they order as strings of equal length.
func (p Position) Compare(q Position) int {
	switch {
	case len(p.File) != len(q.File):
		if len(p.File) < len(q.File) {
			return -1
		}
		return 1
	case p.File != q.File:
		if p.File < q.File {
			return -1
		}
		return 1
	case p.Pos < q.Pos:
		return -1
	case p.Pos > q.Pos:
		return 1
	}
	return 0
}

// Kind is the kind of a row change.
type Kind uint8

const (
	Insert Kind = iota + 1
	Update
	Delete
)

func (k Kind) String() string {
	switch k {
	case Insert:
		return "insert"
	case Update:
		return "update"
	case Delete:
		return "delete"
	}
	return "unknown"
}

// Change is one row changed in a watched table. Rows are full images (binlog_row_image=FULL) in the
// table's column order as the binlog writes it.
//
// An image holds every column, generated (VIRTUAL and STORED, with their computed values) and
// INVISIBLE ones included, as go-mysql decodes them with the Reader's settings:
//   - NULL: nil
//   - TINYINT … BIGINT: int8, int16, int32 (MEDIUMINT too), int64; uint8 … uint64 only when the
//     table map carries signedness (binlog_row_metadata MINIMAL or FULL): otherwise 4294967295 in
//     an INT UNSIGNED arrives as int32(-1), and the column's definition must decide
//   - FLOAT: float32; DOUBLE: float64; DECIMAL: decimal.Decimal (github.com/shopspring/decimal)
//   - CHAR, VARCHAR: string holding the stored bytes in the column's character set (latin1 "é" is
//     "\xe9"); TEXT, BLOB, GEOMETRY: []byte, the stored bytes
//   - JSON: MySQL, string of MySQL's text of the document; MariaDB (where JSON is LONGTEXT), []byte
//   - DATE, TIME, DATETIME, TIMESTAMP: string as the server prints it, with the column's fractional
//     digits; TIMESTAMP in UTC; zero dates kept ("0000-00-00 00:00:00")
//   - YEAR: int; ENUM: int64, the 1-based index; SET and BIT: int64, the bits
type Change struct {
	Table  string // table name (the schema is the one the Reader watches)
	Kind   Kind
	Before []any // Update and Delete
	After  []any // Insert and Update
}

// DDL is a statement that is not row-based: CREATE, ALTER, RENAME, DROP, TRUNCATE... The reader
// reports every DDL run in the watched schema so the consumer can tell whether it touches its tables.
//
// It reports any other statement the binlog holds as text too (account management, ANALYZE, and DML
// of a session that set binlog_format=STATEMENT, whose rows the binlog does not hold), whenever it
// ran in the watched schema or names it: a consumer must treat a statement it cannot prove harmless
// to its tables as fatal. Query may hold user data: never log it.
type DDL struct {
	Schema string // the default schema the statement ran in
	Query  string
}

// Txn is one committed transaction of the watched tables, or one DDL statement. The two only come
// together should a server ever log row changes before a DDL statement in one event group.
type Txn struct {
	Changes []Change
	DDL     *DDL
	// End is the position just after the transaction: restarting from there replays nothing of it.
	End Position
	// Time is when the server wrote the transaction (its commit event's timestamp).
	Time time.Time
	// GTID is the transaction's own GTID ("uuid:n" on MySQL, "domain-server-n" on MariaDB), or ""
	// when the binlog gives none (MySQL's anonymous GTIDs).
	GTID string
}
