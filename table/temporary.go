package table

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/types"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// InspectTemporary reads the definition of a TEMPORARY table on conn, the session that created it.
// information_schema does not show temporary tables, so this reads SHOW FULL COLUMNS and SHOW INDEX.
// doppel uses it to see what an ALTER produces before creating anything other sessions can see:
// temporary tables are private to the session, dropped when it ends, and not written to a ROW binlog.
func InspectTemporary(ctx context.Context, conn *sql.Conn, schema, name string) (*Table, error) {
	t := &Table{Schema: schema, Name: name}
	qualified := sqlbuild.QualifiedName(schema, name)
	collations, err := t.readShowColumns(ctx, conn, qualified)
	if err != nil {
		return nil, fmt.Errorf("reading columns of %s: %w", qualified, err)
	}
	charsets, err := charsetsOf(ctx, conn, collations)
	if err != nil {
		return nil, err
	}
	for i := range t.Columns {
		t.Columns[i].Charset = charsets[t.Columns[i].Collation]
	}
	if err := t.readShowIndex(ctx, conn, qualified); err != nil {
		return nil, err
	}
	t.sortIndexes()
	return t, nil
}

// readShowColumns reads the columns, and returns their collations.
func (t *Table) readShowColumns(ctx context.Context, conn *sql.Conn, qualified string) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx, "SHOW FULL COLUMNS FROM "+qualified)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	collations := map[string]bool{}
	for rows.Next() {
		var field, typ, null, key, extra, privileges, comment string
		var collation, def sql.NullString
		if err := rows.Scan(&field, &typ, &collation, &null, &key, &def, &extra, &privileges, &comment); err != nil {
			return nil, err
		}
		c := columnFromType(typ)
		c.Name = field
		c.Ordinal = len(t.Columns) + 1
		c.Nullable = null == "YES"
		c.Collation = collation.String
		c.Comment = comment
		c.readExtra(extra)
		c.HasDefault = def.Valid || c.Nullable
		if c.Collation != "" {
			collations[c.Collation] = true
		}
		t.Columns = append(t.Columns, c)
	}
	return collations, rows.Err()
}

func (t *Table) readShowIndex(ctx context.Context, conn *sql.Conn, qualified string) error {
	rows, err := conn.QueryContext(ctx, "SHOW INDEX FROM "+qualified)
	if err != nil {
		return fmt.Errorf("reading indexes of %s: %w", qualified, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("reading indexes of %s: %w", qualified, err)
		}
		get := func(name string) sql.NullString {
			for i, c := range cols {
				if strings.EqualFold(c, name) {
					return vals[i]
				}
			}
			return sql.NullString{}
		}
		name := get("Key_name").String
		n := len(t.Indexes)
		if n == 0 || t.Indexes[n-1].Name != name {
			t.Indexes = append(t.Indexes, Index{Name: name, Kind: get("Index_type").String, Comment: get("Index_comment").String,
				Unique: get("Non_unique").String == "0"})
			n++
		}
		ix := &t.Indexes[n-1]
		column := get("Column_name")
		if !column.Valid {
			ix.Expression = true
			continue
		}
		var sub int
		if s := get("Sub_part"); s.Valid {
			var err error
			if sub, err = strconv.Atoi(s.String); err != nil {
				return fmt.Errorf("reading the prefix length of index %s: %w", ix.Name, err)
			}
		}
		ix.Columns = append(ix.Columns, IndexColumn{Name: column.String, SubPart: sub, Desc: get("Collation").String == "D"})
	}
	return rows.Err()
}

// columnFromType fills what a column type such as "decimal(10,2) unsigned" says about a column. A
// type the parser does not know (MariaDB's UUID, INET6) keeps its name only.
func columnFromType(typ string) Column {
	c := Column{ColumnType: typ}
	c.DataType = strings.ToLower(typ)
	if i := strings.IndexAny(c.DataType, "( "); i >= 0 {
		c.DataType = c.DataType[:i]
	}
	c.Unsigned = strings.Contains(strings.ToLower(typ), "unsigned")
	ft := FieldType(typ)
	if ft == nil {
		return c
	}
	c.Elems = ft.GetElems()
	switch ft.GetType() {
	case mysql.TypeNewDecimal:
		c.Precision, c.Scale = int64(ft.GetFlen()), int64(ft.GetDecimal())
	case mysql.TypeDatetime, mysql.TypeTimestamp, mysql.TypeDuration:
		if ft.GetDecimal() > 0 {
			c.FSP = int64(ft.GetDecimal())
		}
	case mysql.TypeString:
		if c.DataType == "binary" {
			c.OctetLen = int64(ft.GetFlen())
		}
	case mysql.TypeVarchar, mysql.TypeVarString:
		if c.DataType == "varbinary" {
			c.OctetLen = int64(ft.GetFlen())
		}
	}
	return c
}

// FieldType reads a column type as the server shows it (COLUMN_TYPE, such as "varchar(50)" or
// "int(10) unsigned") with the SQL parser, or returns nil for a type the parser does not know
// (GEOMETRY, MariaDB's UUID and INET6).
func FieldType(columnType string) *types.FieldType {
	stmts, _, err := parser.New().Parse("CREATE TABLE t (c "+columnType+")", "", "")
	if err != nil || len(stmts) != 1 {
		return nil
	}
	ct, ok := stmts[0].(*ast.CreateTableStmt)
	if !ok || len(ct.Cols) != 1 {
		return nil
	}
	return ct.Cols[0].Tp
}

func charsetsOf(ctx context.Context, conn *sql.Conn, collations map[string]bool) (map[string]string, error) {
	out := map[string]string{}
	for coll := range collations {
		var cs string
		err := conn.QueryRowContext(ctx, "SELECT CHARACTER_SET_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME = ?", coll).Scan(&cs)
		if errors.Is(err, sql.ErrNoRows) {
			// MariaDB 10.10 and later list a collation named with its character set, such as
			// utf8mb4_uca1400_ai_ci, only there.
			err = conn.QueryRowContext(ctx, "SELECT CHARACTER_SET_NAME FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY WHERE FULL_COLLATION_NAME = ?", coll).Scan(&cs)
		}
		if err != nil {
			return nil, fmt.Errorf("reading the character set of collation %s: %w", coll, err)
		}
		out[coll] = cs
	}
	return out, nil
}

// IndexOrder returns the names of a table's indexes in the server's own order (SHOW INDEX), the
// order SHOW CREATE TABLE lists them in. Inspect sorts them by name instead.
func IndexOrder(ctx context.Context, db *sql.DB, schema, name string) ([]string, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	t := &Table{Schema: schema, Name: name}
	if err := t.readShowIndex(ctx, conn, sqlbuild.QualifiedName(schema, name)); err != nil {
		return nil, err
	}
	names := make([]string, len(t.Indexes))
	for i, ix := range t.Indexes {
		names[i] = ix.Name
	}
	return names, nil
}
