// Package fkeys reads the foreign keys a table takes part in and builds the statements that move
// them: the ghost's copies of the table's own constraints (the table is a child) and the
// re-pointing of other tables' constraints at the ghost under the cut-over's lock (the table is a
// parent). It is pure but for Read; the SQL is built here and tested table-driven.
//
// # Names
//
// InnoDB keeps foreign-key constraint names unique per schema, so the ghost cannot carry the
// original's names while the original exists. The ghost's constraint is named by GhostName,
// pt-online-schema-change's rule: a leading underscore is added, or removed when the name has one
// (`fk` ↔ `_fk`). Migrating a table twice gives the names back. A re-pointed child constraint keeps
// its name: it is dropped and added again in two statements (MariaDB refuses a DROP and an ADD of
// one name in one ALTER, error 1826).
package fkeys

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// FK is one foreign-key constraint: the child table's columns referencing the parent's.
type FK struct {
	Name          string
	Schema, Table string // the child, which declares the constraint
	Columns       []string
	RefSchema     string // the parent
	RefTable      string
	RefColumns    []string
	OnDelete      string // as information_schema says: RESTRICT, CASCADE, SET NULL, NO ACTION, SET DEFAULT
	OnUpdate      string
}

// Querier is what Read needs of a *sql.DB or *sql.Conn.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// maxName is the longest identifier MySQL and MariaDB accept.
const maxName = 64

// actions are the referential actions the server reports; anything else is refused rather than
// written into SQL unquoted.
var actions = map[string]bool{"RESTRICT": true, "CASCADE": true, "SET NULL": true, "NO ACTION": true, "SET DEFAULT": true}

// Read returns the foreign keys declared on schema.name (it is the child) and those of other
// tables that reference it (it is the parent), each ordered by child and name, columns in order.
// A self-referencing constraint is in both.
func Read(ctx context.Context, db Querier, schema, name string) (declared, referencing []FK, err error) {
	const q = `SELECT k.CONSTRAINT_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME,
		k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE
		FROM information_schema.KEY_COLUMN_USAGE k
		JOIN information_schema.REFERENTIAL_CONSTRAINTS r
		  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
		WHERE k.REFERENCED_TABLE_NAME IS NOT NULL AND %s
		  AND k.CONSTRAINT_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema')
		ORDER BY k.CONSTRAINT_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`
	if declared, err = read(ctx, db, fmt.Sprintf(q, "k.TABLE_SCHEMA = ? AND k.TABLE_NAME = ?"), schema, name); err != nil {
		return nil, nil, err
	}
	referencing, err = read(ctx, db, fmt.Sprintf(q, "k.REFERENCED_TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME = ?"), schema, name)
	return declared, referencing, err
}

func read(ctx context.Context, db Querier, query string, args ...any) ([]FK, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FK
	for rows.Next() {
		var f FK
		var col, refCol string
		if err := rows.Scan(&f.Schema, &f.Table, &f.Name, &col, &f.RefSchema, &f.RefTable, &refCol, &f.OnDelete, &f.OnUpdate); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].Schema == f.Schema && out[n-1].Table == f.Table && out[n-1].Name == f.Name {
			out[n-1].Columns = append(out[n-1].Columns, col)
			out[n-1].RefColumns = append(out[n-1].RefColumns, refCol)
			continue
		}
		f.Columns, f.RefColumns = []string{col}, []string{refCol}
		out = append(out, f)
	}
	return out, rows.Err()
}

// String names the constraint for messages: `name` on `schema`.`table`.
func (f FK) String() string {
	return sqlbuild.QuoteIdent(f.Name) + " on " + sqlbuild.QualifiedName(f.Schema, f.Table)
}

// SelfReferencing reports whether the constraint references the table that declares it.
func (f FK) SelfReferencing() bool { return f.Schema == f.RefSchema && f.Table == f.RefTable }

// Check refuses a constraint whose actions doppel would not write back as it read them.
func (f FK) Check() error {
	if !actions[f.OnDelete] || !actions[f.OnUpdate] {
		return fmt.Errorf("foreign key %s has actions doppel does not know (ON DELETE %q, ON UPDATE %q)", f, f.OnDelete, f.OnUpdate)
	}
	if len(f.Columns) == 0 || len(f.Columns) != len(f.RefColumns) {
		return fmt.Errorf("foreign key %s has %d columns referencing %d", f, len(f.Columns), len(f.RefColumns))
	}
	return nil
}

// Clause is the constraint's definition, as ALTER TABLE … ADD takes it, under the name name and
// referencing refSchema.refTable (always qualified: a cross-schema reference stays one).
func (f FK) Clause(name, refSchema, refTable string) string {
	return fmt.Sprintf("CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s) ON DELETE %s ON UPDATE %s",
		sqlbuild.QuoteIdent(name), sqlbuild.QuoteIdents(f.Columns), sqlbuild.QualifiedName(refSchema, refTable),
		sqlbuild.QuoteIdents(f.RefColumns), f.OnDelete, f.OnUpdate)
}

// AddTo is the ALTER that gives schema.table (the ghost) the constraint under name, referencing the
// same parent, with columns renamed by rename (the ALTER's renames; nil keeps them).
func (f FK) AddTo(schema, table, name string, rename func(string) string) string {
	g := f
	if rename != nil {
		g.Columns = make([]string, len(f.Columns))
		for i, c := range f.Columns {
			g.Columns[i] = rename(c)
		}
	}
	return "ALTER TABLE " + sqlbuild.QualifiedName(schema, table) + " ADD " + g.Clause(name, f.RefSchema, f.RefTable)
}

// Drop is the ALTER that drops the constraint from the table named schema.table (the table that
// declares it, or the name it has now).
func (f FK) Drop(schema, table string) string {
	return "ALTER TABLE " + sqlbuild.QualifiedName(schema, table) + " DROP FOREIGN KEY " + sqlbuild.QuoteIdent(f.Name)
}

// Repoint are the two statements that make the child's constraint reference refTable in the
// parent's schema instead, under the same name: a DROP, then an ADD. They are run with
// foreign_key_checks=0, which makes the ADD in place (no copy, no check of the rows: the new parent
// holds the same rows).
func (f FK) Repoint(refTable string) []string {
	child := sqlbuild.QualifiedName(f.Schema, f.Table)
	return []string{
		f.Drop(f.Schema, f.Table),
		"ALTER TABLE " + child + " ADD " + f.Clause(f.Name, f.RefSchema, refTable),
	}
}

// GhostName is the name the ghost's copy of constraint name gets: name with a leading underscore
// added, or removed when it has one. It fails when the result would be empty or too long.
func GhostName(name string) (string, error) {
	g := "_" + name
	if strings.HasPrefix(name, "_") {
		g = name[1:]
	}
	if g == "" || len([]rune(g)) > maxName {
		return "", fmt.Errorf("the foreign key %s cannot get a name for the ghost table (a leading underscore added or removed gives %q; names are at most %d characters)", sqlbuild.QuoteIdent(name), g, maxName)
	}
	return g, nil
}
