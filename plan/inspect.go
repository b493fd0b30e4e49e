package plan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/doppel-sql/doppel/sqlbuild"
)

// ErrNoTable is wrapped by Build's error when the table does not exist.
var ErrNoTable = errors.New("table does not exist")

// readTable reads the table's definition and size from information_schema. Every query names the
// schema and table as parameters, so nothing is built from user input.
func readTable(ctx context.Context, db *sql.DB, database, table string) (TableInfo, Size, error) {
	t := TableInfo{Name: table}
	var size Size
	var engine, rowFormat, collation sql.NullString
	var rows, data, index sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT t.ENGINE, t.ROW_FORMAT, t.TABLE_COLLATION, t.TABLE_ROWS, t.DATA_LENGTH, t.INDEX_LENGTH
		FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = ? AND t.TABLE_NAME = ? AND t.TABLE_TYPE = 'BASE TABLE'`,
		database, table).Scan(&engine, &rowFormat, &collation, &rows, &data, &index)
	if errors.Is(err, sql.ErrNoRows) {
		return t, size, fmt.Errorf("reading %s: %w", sqlbuild.QualifiedName(database, table), ErrNoTable)
	}
	if err != nil {
		return t, size, fmt.Errorf("reading %s from information_schema.TABLES: %w", sqlbuild.QualifiedName(database, table), err)
	}
	t.Engine, t.RowFormat, t.Collation = engine.String, strings.ToUpper(rowFormat.String), collation.String
	t.Charset = charsetOfCollation(t.Collation)
	size = Size{Rows: rows.Int64, DataBytes: data.Int64, IndexBytes: index.Int64}

	if t.Columns, err = readColumns(ctx, db, database, table); err != nil {
		return t, size, err
	}
	if t.Indexes, err = readIndexes(ctx, db, database, table); err != nil {
		return t, size, err
	}
	counts := []struct {
		what  string
		query string
		dst   *int
	}{
		// Looking for foreign keys pointing at the table opens every table of every schema. The system
		// schemas are left out by name, which the server checks before opening anything: opening the
		// views of the sys schema this way crashed MariaDB 10.11.19 now and then in our tests, and
		// system tables never reference user tables.
		{"foreign keys", `SELECT COUNT(DISTINCT CONSTRAINT_NAME) FROM information_schema.KEY_COLUMN_USAGE
			WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND REFERENCED_TABLE_NAME IS NOT NULL`, &t.ForeignKeys},
		{"foreign keys pointing at it", `SELECT COUNT(DISTINCT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME) FROM information_schema.KEY_COLUMN_USAGE
			WHERE REFERENCED_TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME = ?
			AND TABLE_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema')`, &t.ReferencedBy},
		{"triggers", `SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?`, &t.Triggers},
	}
	for _, c := range counts {
		if err := db.QueryRowContext(ctx, c.query, database, table).Scan(c.dst); err != nil {
			return t, size, fmt.Errorf("counting the %s of %s: %w", c.what, sqlbuild.QualifiedName(database, table), err)
		}
	}
	return t, size, nil
}

func readColumns(ctx context.Context, db *sql.DB, database, table string) ([]Column, error) {
	rows, err := db.QueryContext(ctx, `SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, CHARACTER_SET_NAME,
			COLLATION_NAME, COLUMN_COMMENT, EXTRA
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, database, table)
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", sqlbuild.QualifiedName(database, table), err)
	}
	defer rows.Close()
	var cols []Column
	for rows.Next() {
		var c Column
		var nullable, extra string
		var dflt, charset, collation sql.NullString
		if err := rows.Scan(&c.Name, &c.Type, &nullable, &dflt, &charset, &collation, &c.Comment, &extra); err != nil {
			return nil, fmt.Errorf("reading the columns of %s: %w", sqlbuild.QualifiedName(database, table), err)
		}
		c.Nullable = nullable == "YES"
		c.HasDefault, c.Default = dflt.Valid, dflt.String
		c.Charset, c.Collation = normCharset(charset.String), collation.String
		extra = strings.ToUpper(extra)
		c.AutoIncrement = strings.Contains(extra, "AUTO_INCREMENT")
		switch {
		case strings.Contains(extra, "VIRTUAL"):
			c.Generated = "virtual"
		case strings.Contains(extra, "STORED"), strings.Contains(extra, "PERSISTENT"):
			c.Generated = "stored"
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", sqlbuild.QualifiedName(database, table), err)
	}
	return cols, nil
}

func readIndexes(ctx context.Context, db *sql.DB, database, table string) ([]Index, error) {
	rows, err := db.QueryContext(ctx, `SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`, database, table)
	if err != nil {
		return nil, fmt.Errorf("reading the indexes of %s: %w", sqlbuild.QualifiedName(database, table), err)
	}
	defer rows.Close()
	var out []Index
	for rows.Next() {
		var name, kind string
		var nonUnique int
		var column sql.NullString // NULL for expression key parts
		var subPart sql.NullInt64
		if err := rows.Scan(&name, &nonUnique, &column, &subPart, &kind); err != nil {
			return nil, fmt.Errorf("reading the indexes of %s: %w", sqlbuild.QualifiedName(database, table), err)
		}
		if n := len(out); n == 0 || out[n-1].Name != name {
			out = append(out, Index{Name: name, Primary: name == "PRIMARY", Unique: nonUnique == 0, Kind: kind})
		}
		ix := &out[len(out)-1]
		ix.Columns = append(ix.Columns, IndexColumn{Name: column.String, SubPart: int(subPart.Int64)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the indexes of %s: %w", sqlbuild.QualifiedName(database, table), err)
	}
	return out, nil
}
