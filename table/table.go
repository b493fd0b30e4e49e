// Package table reads a table's definition from information_schema and answers the questions a
// migration asks of it: which unique key to iterate and replay on, how the columns of the original
// and the ghost table correspond, and how a value of a column is bound into SQL without changing it.
package table

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Column is one column of a table.
type Column struct {
	Name       string
	Ordinal    int    // 1-based position, the order of values in a binlog row image
	DataType   string // lower case: int, varchar, enum, ...
	ColumnType string // full type as the server shows it: "int(10) unsigned", "enum('a','b')"
	Unsigned   bool
	Nullable   bool
	Charset    string // empty for non-character columns
	Collation  string
	Generated  bool // VIRTUAL or STORED generated: computed, never written
	Stored     bool `json:"-"` // a STORED (MariaDB: PERSISTENT) generated column; Generated alone is VIRTUAL
	Invisible  bool
	AutoInc    bool
	HasDefault bool     // the column has a DEFAULT (DEFAULT NULL counts for nullable columns)
	Precision  int64    // DECIMAL precision
	Scale      int64    // DECIMAL scale
	OctetLen   int64    // byte length of CHAR/BINARY columns (for padding BINARY(n) values)
	FSP        int64    // fractional seconds precision of temporal columns
	Elems      []string // ENUM and SET members, in definition order
	Comment    string   `json:"-"`
	// Default is COLUMN_DEFAULT, Valid unless it is SQL NULL. MariaDB quotes string literals and
	// writes NULL for DEFAULT NULL; MySQL does neither. Inspect reads it; InspectTemporary cannot
	// (SHOW COLUMNS shows the string 'NULL' and NULL alike).
	Default sql.NullString `json:"-"`
}

// IsText reports whether values of c are character strings in c.Charset.
func (c *Column) IsText() bool { return c.Charset != "" && c.DataType != "enum" && c.DataType != "set" }

// IsInteger reports whether c is one of the integer types (not BIT, YEAR or DECIMAL).
func (c *Column) IsInteger() bool { return isInteger(c.DataType) }

// IsReal reports whether c is FLOAT or DOUBLE.
func (c *Column) IsReal() bool { return isReal(c.DataType) }

// IsBinaryString reports whether c holds byte strings: BINARY, VARBINARY and the BLOB types.
func (c *Column) IsBinaryString() bool {
	switch c.DataType {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return true
	}
	return false
}

// IndexColumn is one part of an index.
type IndexColumn struct {
	Name    string
	SubPart int  // prefix length, 0 for the whole column
	Desc    bool // a descending key part (MySQL 8, MariaDB 10.8+)
}

// Index is an index of a table.
type Index struct {
	Name       string
	Kind       string // BTREE, FULLTEXT, SPATIAL or HASH
	Comment    string
	Unique     bool
	Columns    []IndexColumn
	Expression bool // a functional key part (MySQL 8.0.13+): not usable to iterate
}

// IsPrimary reports whether ix is the PRIMARY KEY.
func (ix *Index) IsPrimary() bool { return ix.Name == "PRIMARY" }

// ColumnNames returns the names of the index's columns in order.
func (ix *Index) ColumnNames() []string {
	names := make([]string, len(ix.Columns))
	for i, c := range ix.Columns {
		names[i] = c.Name
	}
	return names
}

// Table is the definition of one table.
type Table struct {
	Schema string
	Name   string
	Engine string
	// RowFormat (upper case: DYNAMIC, COMPACT, REDUNDANT, COMPRESSED) and Collation, the table's
	// default, are read by Inspect: SHOW COLUMNS does not show a temporary table's.
	RowFormat string
	Collation string
	Columns   []Column
	Indexes   []Index
}

// ErrNotFound is returned by Inspect when the table does not exist.
var ErrNotFound = errors.New("table not found")

// Column returns the column with the given name (column names are case-insensitive in MySQL).
func (t *Table) Column(name string) *Column {
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			return &t.Columns[i]
		}
	}
	return nil
}

// Index returns the index with the given name (case-insensitive), or nil.
func (t *Table) Index(name string) *Index {
	for i := range t.Indexes {
		if strings.EqualFold(t.Indexes[i].Name, name) {
			return &t.Indexes[i]
		}
	}
	return nil
}

// Digest is a fingerprint of the table's definition (columns and indexes, not its name): equal
// digests mean the same columns, types, collations and keys. The fields tagged json:"-" are left
// out: a checkpoint records the digest, and a resume compares it with the table as it is then.
func (t *Table) Digest() string {
	js, _ := json.Marshal(struct {
		Columns []Column
		Indexes []Index
	}{t.Columns, t.Indexes})
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:])
}

// Inspect reads the definition of schema.name.
func Inspect(ctx context.Context, db *sql.DB, schema, name string) (*Table, error) {
	t := &Table{Schema: schema, Name: name}
	var engine, rowFormat, collation sql.NullString
	err := db.QueryRowContext(ctx, `SELECT ENGINE, ROW_FORMAT, TABLE_COLLATION FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND TABLE_TYPE = 'BASE TABLE'`, schema, name).Scan(&engine, &rowFormat, &collation)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s.%s: %w", schema, name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading table %s.%s: %w", schema, name, err)
	}
	t.Engine, t.RowFormat, t.Collation = engine.String, strings.ToUpper(rowFormat.String), collation.String
	if err := t.readColumns(ctx, db); err != nil {
		return nil, err
	}
	if err := t.readIndexes(ctx, db); err != nil {
		return nil, err
	}
	t.sortIndexes()
	return t, nil
}

// sortIndexes puts the PRIMARY KEY first and the others by name, whichever way they were read.
func (t *Table) sortIndexes() {
	sort.SliceStable(t.Indexes, func(i, j int) bool {
		a, b := &t.Indexes[i], &t.Indexes[j]
		if a.IsPrimary() != b.IsPrimary() {
			return a.IsPrimary()
		}
		return a.Name < b.Name
	})
}

func (t *Table) readColumns(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE,
			CHARACTER_SET_NAME, COLLATION_NAME, EXTRA, GENERATION_EXPRESSION,
			NUMERIC_PRECISION, NUMERIC_SCALE, CHARACTER_OCTET_LENGTH, DATETIME_PRECISION, COLUMN_DEFAULT, COLUMN_COMMENT
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		ORDER BY ORDINAL_POSITION`, t.Schema, t.Name)
	if err != nil {
		return fmt.Errorf("reading columns of %s.%s: %w", t.Schema, t.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Column
		var nullable, extra string
		var charset, collation, genExpr, precision, scale, octets, fsp sql.NullString
		if err := rows.Scan(&c.Name, &c.Ordinal, &c.DataType, &c.ColumnType, &nullable, &charset, &collation,
			&extra, &genExpr, &precision, &scale, &octets, &fsp, &c.Default, &c.Comment); err != nil {
			return fmt.Errorf("reading columns of %s.%s: %w", t.Schema, t.Name, err)
		}
		c.DataType = strings.ToLower(c.DataType)
		c.Nullable = nullable == "YES"
		c.Charset, c.Collation = charset.String, collation.String
		c.readExtra(extra)
		c.Generated = c.Generated || (genExpr.Valid && genExpr.String != "")
		c.HasDefault = c.Default.Valid || c.Nullable
		c.Unsigned = strings.Contains(strings.ToLower(c.ColumnType), "unsigned")
		c.Precision, _ = strconv.ParseInt(precision.String, 10, 64)
		c.Scale, _ = strconv.ParseInt(scale.String, 10, 64)
		c.OctetLen, _ = strconv.ParseInt(octets.String, 10, 64)
		c.FSP, _ = strconv.ParseInt(fsp.String, 10, 64)
		if c.DataType == "enum" || c.DataType == "set" {
			if c.Elems, err = parseElems(c.ColumnType); err != nil {
				return fmt.Errorf("reading the members of %s.%s.%s: %w", t.Schema, t.Name, c.Name, err)
			}
		}
		t.Columns = append(t.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading columns of %s.%s: %w", t.Schema, t.Name, err)
	}
	return nil
}

func (t *Table) readIndexes(ctx context.Context, db *sql.DB) error {
	// EXPRESSION exists on MySQL 8.0.13+ only; functional key parts show COLUMN_NAME NULL everywhere.
	rows, err := db.QueryContext(ctx, `SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE, INDEX_COMMENT, COLLATION
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`, t.Schema, t.Name)
	if err != nil {
		return fmt.Errorf("reading indexes of %s.%s: %w", t.Schema, t.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, kind, comment string
		var nonUnique int
		var column, subPart, collation sql.NullString
		if err := rows.Scan(&name, &nonUnique, &column, &subPart, &kind, &comment, &collation); err != nil {
			return fmt.Errorf("reading indexes of %s.%s: %w", t.Schema, t.Name, err)
		}
		n := len(t.Indexes)
		if n == 0 || t.Indexes[n-1].Name != name {
			t.Indexes = append(t.Indexes, Index{Name: name, Kind: kind, Comment: comment, Unique: nonUnique == 0})
			n++
		}
		ix := &t.Indexes[n-1]
		if !column.Valid {
			ix.Expression = true
			continue
		}
		sp, _ := strconv.Atoi(subPart.String)
		ix.Columns = append(ix.Columns, IndexColumn{Name: column.String, SubPart: sp, Desc: collation.String == "D"})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading indexes of %s.%s: %w", t.Schema, t.Name, err)
	}
	return nil
}

// readExtra reads a column's EXTRA, as information_schema.COLUMNS and SHOW COLUMNS show it, word by
// word: a generated column shows "VIRTUAL GENERATED" or "STORED GENERATED", while MySQL 8 marks a
// column with an expression DEFAULT (CURRENT_TIMESTAMP among them) "DEFAULT_GENERATED": such a
// column holds values of its own, which the copy must carry over.
func (c *Column) readExtra(extra string) {
	words := strings.Fields(strings.ToUpper(extra))
	c.Generated = slices.Contains(words, "GENERATED")
	c.Stored = c.Generated && (slices.Contains(words, "STORED") || slices.Contains(words, "PERSISTENT"))
	c.Invisible = slices.Contains(words, "INVISIBLE")
	c.AutoInc = slices.Contains(words, "AUTO_INCREMENT")
}
