package table

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// The small lookups of information_schema a migration makes about a table besides its definition.
// Each names the schema and table as parameters, never in the SQL text.

// Querier is what a one-row lookup needs: a *sql.DB, or a *sql.Conn when the session's settings
// matter.
type Querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Kind returns what information_schema.TABLES says schema.name is ("BASE TABLE", "VIEW", MariaDB's
// "SEQUENCE", ...) and its engine ("" for a view). The error wraps ErrNotFound when nothing has that
// name.
func Kind(ctx context.Context, db Querier, schema, name string) (kind, engine string, err error) {
	var k, e sql.NullString
	if err := lookup(ctx, db, "TABLE_TYPE, ENGINE", schema, name, &k, &e); err != nil {
		return "", "", err
	}
	return k.String, e.String, nil
}

// Comment returns the table's comment. The error wraps ErrNotFound when the table does not exist.
func Comment(ctx context.Context, db Querier, schema, name string) (string, error) {
	var c sql.NullString
	err := lookup(ctx, db, "TABLE_COMMENT", schema, name, &c)
	return c.String, err
}

// Size is what information_schema.TABLES says of a table's size: the storage engine's estimates,
// not counts.
type Size struct {
	Rows       int64
	DataBytes  int64
	IndexBytes int64
}

// SizeOf returns the table's size. The error wraps ErrNotFound when the table does not exist.
func SizeOf(ctx context.Context, db Querier, schema, name string) (Size, error) {
	var rows, data, index sql.NullInt64
	err := lookup(ctx, db, "TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH", schema, name, &rows, &data, &index)
	return Size{Rows: rows.Int64, DataBytes: data.Int64, IndexBytes: index.Int64}, err
}

// AutoIncrement returns the table's next AUTO_INCREMENT value, 0 when it has no AUTO_INCREMENT
// column. MySQL 8 serves it from a cache (information_schema_stats_expiry): read it on a session
// that set the expiry to 0 when it must be current. The error wraps ErrNotFound when the table does
// not exist.
func AutoIncrement(ctx context.Context, db Querier, schema, name string) (int64, error) {
	var next sql.NullInt64
	err := lookup(ctx, db, "AUTO_INCREMENT", schema, name, &next)
	return next.Int64, err
}

// lookup reads columns of schema.name's row of information_schema.TABLES into dst.
func lookup(ctx context.Context, db Querier, columns, schema, name string, dst ...any) error {
	err := db.QueryRowContext(ctx, "SELECT "+columns+" FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		schema, name).Scan(dst...)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", sqlbuild.QualifiedName(schema, name), ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("reading %s of %s: %w", columns, sqlbuild.QualifiedName(schema, name), err)
	}
	return nil
}

// Exists reports whether schema.name exists (as a table or view).
func Exists(ctx context.Context, db Querier, schema, name string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
		schema, name).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("looking for table %s.%s: %w", schema, name, err)
	}
	return n > 0, nil
}

// SchemaExists reports whether the database exists.
func SchemaExists(ctx context.Context, db *sql.DB, schema string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`, schema).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("looking for database %s: %w", schema, err)
	}
	return n > 0, nil
}

// Triggers returns the names of the triggers defined on schema.name.
func Triggers(ctx context.Context, db *sql.DB, schema, name string) ([]string, error) {
	return queryStrings(ctx, db, `SELECT TRIGGER_NAME FROM information_schema.TRIGGERS
		WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? ORDER BY TRIGGER_NAME`, schema, name)
}

// TriggerLinks describes the table's triggers for a report: "name (AFTER INSERT)".
func TriggerLinks(ctx context.Context, db *sql.DB, schema, name string) ([]string, error) {
	return queryStrings(ctx, db, `SELECT CONCAT(TRIGGER_NAME, ' (', ACTION_TIMING, ' ', EVENT_MANIPULATION, ')') FROM information_schema.TRIGGERS
		WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? ORDER BY ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`, schema, name)
}

// ForeignKeyLinks describes the foreign keys declared on schema.name and those of other tables
// that reference it, for a report: "name on schema.child → schema.parent, ON DELETE CASCADE, ON
// UPDATE RESTRICT".
func ForeignKeyLinks(ctx context.Context, db *sql.DB, schema, name string) (declared, referencing []string, err error) {
	const q = `SELECT CONCAT(CONSTRAINT_NAME, ' on ', CONSTRAINT_SCHEMA, '.', TABLE_NAME, ' → ', UNIQUE_CONSTRAINT_SCHEMA, '.', REFERENCED_TABLE_NAME,
		', ON DELETE ', DELETE_RULE, ', ON UPDATE ', UPDATE_RULE)
		FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE %s
		AND CONSTRAINT_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema') ORDER BY CONSTRAINT_NAME`
	if declared, err = queryStrings(ctx, db, fmt.Sprintf(q, "CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?"), schema, name); err != nil {
		return nil, nil, err
	}
	referencing, err = queryStrings(ctx, db, fmt.Sprintf(q, "UNIQUE_CONSTRAINT_SCHEMA = ? AND REFERENCED_TABLE_NAME = ?"), schema, name)
	return declared, referencing, err
}

// ForeignKeys returns the foreign keys declared on schema.name (children) and those of other tables
// that reference it (parents), each as "constraint on schema.table".
func ForeignKeys(ctx context.Context, db *sql.DB, schema, name string) (declared, referencing []string, err error) {
	declared, err = queryStrings(ctx, db, `SELECT CONCAT(CONSTRAINT_NAME, ' on ', CONSTRAINT_SCHEMA, '.', TABLE_NAME)
		FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?
		ORDER BY CONSTRAINT_NAME`, schema, name)
	if err != nil {
		return nil, nil, err
	}
	// Referencing keys may live in any schema. The system schemas are left out by name: MariaDB 10.11
	// has been seen to crash opening the sys schema's views for such a scan.
	referencing, err = queryStrings(ctx, db, `SELECT CONCAT(CONSTRAINT_NAME, ' on ', CONSTRAINT_SCHEMA, '.', TABLE_NAME)
		FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE UNIQUE_CONSTRAINT_SCHEMA = ? AND REFERENCED_TABLE_NAME = ?
		AND CONSTRAINT_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema')
		ORDER BY CONSTRAINT_NAME`, schema, name)
	return declared, referencing, err
}

func queryStrings(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
