// Package alter reads the ALTER clause a user gives doppel with the TiDB SQL parser: it checks that
// the clause is one doppel can run on a ghost table and says which columns it renames. What the
// change does to keys and columns is decided later by comparing the original and the altered ghost
// table, which is exact whatever the syntax.
package alter

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions for the parser
)

// Alter is a parsed ALTER clause.
type Alter struct {
	// Clause is the text that follows "ALTER TABLE <name> ", as the user wrote it.
	Clause string
	// Renames maps a renamed column's old name to its new one (CHANGE COLUMN a b, RENAME COLUMN a TO b).
	Renames map[string]string
	// Recreated are columns the clause drops and adds again under the same name: their values are not
	// carried over, the new column starts from its default like any added column.
	Recreated []string
	// SetsAutoIncrement is true when the clause sets the AUTO_INCREMENT counter itself.
	SetsAutoIncrement bool
}

// Parse reads alterText, either the clause alone ("ADD COLUMN x INT") or a whole statement
// ("ALTER TABLE t ADD COLUMN x INT") naming table.
func Parse(alterText, table string) (*Alter, error) {
	clause := strings.TrimSpace(alterText)
	clause = strings.TrimSpace(strings.TrimSuffix(clause, ";"))
	if clause == "" {
		return nil, errors.New("--alter is empty: give the change to make, such as --alter=\"ADD COLUMN note VARCHAR(100) NULL\"")
	}
	if rest, named, ok := stripAlterTable(clause); ok {
		if !strings.EqualFold(named, table) {
			return nil, fmt.Errorf("--alter names table %q but --table is %q: give the ALTER clause only (such as --alter=\"ADD COLUMN ...\"), or name the same table", named, table)
		}
		clause = rest
	}
	stmt, err := parseStatement("ALTER TABLE t " + clause)
	if err != nil {
		return nil, fmt.Errorf("cannot parse --alter %q: %w. doppel reads the ALTER with the TiDB SQL parser, which knows MySQL syntax; MariaDB-only syntax (such as INVISIBLE columns) is not understood. Check the statement, or run this change with a native ALTER TABLE", clause, err)
	}
	a := &Alter{Clause: clause, Renames: map[string]string{}}
	dropped := map[string]bool{}
	for _, spec := range stmt.Specs {
		if err := refuse(spec); err != nil {
			return nil, err
		}
		switch spec.Tp {
		case ast.AlterTableChangeColumn:
			oldName := spec.OldColumnName.Name.O
			newName := spec.NewColumns[0].Name.Name.O
			if !strings.EqualFold(oldName, newName) {
				a.Renames[oldName] = newName
			}
		case ast.AlterTableOption:
			for _, opt := range spec.Options {
				if opt.Tp == ast.TableOptionAutoIncrement {
					a.SetsAutoIncrement = true
				}
			}
		case ast.AlterTableRenameColumn:
			a.Renames[spec.OldColumnName.Name.O] = spec.NewColumnName.Name.O
		case ast.AlterTableDropColumn:
			dropped[strings.ToLower(spec.OldColumnName.Name.O)] = true
		case ast.AlterTableAddColumns:
			for _, col := range spec.NewColumns {
				if dropped[strings.ToLower(col.Name.Name.O)] {
					a.Recreated = append(a.Recreated, col.Name.Name.O)
				}
			}
		}
	}
	return a, nil
}

func parseStatement(sql string) (*ast.AlterTableStmt, error) {
	stmts, _, err := parser.New().Parse(sql, "", "")
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, errors.New("--alter must be one statement")
	}
	stmt, ok := stmts[0].(*ast.AlterTableStmt)
	if !ok {
		return nil, errors.New("not an ALTER TABLE clause")
	}
	return stmt, nil
}

// refuse returns an error for clauses doppel must not run on a ghost table.
func refuse(spec *ast.AlterTableSpec) error {
	switch spec.Tp {
	case ast.AlterTableRenameTable:
		return errors.New("--alter renames the table (RENAME TO). doppel changes a table in place and keeps its name; rename it separately with RENAME TABLE, which is instant")
	case ast.AlterTableAddConstraint:
		if spec.Constraint != nil && spec.Constraint.Tp == ast.ConstraintForeignKey {
			return errors.New("--alter adds a FOREIGN KEY. doppel does not migrate tables with foreign keys: after the swap the constraint would point from or to the wrong table. Add the foreign key with a native ALTER TABLE")
		}
	case ast.AlterTableAlgorithm, ast.AlterTableLock:
		return errors.New("--alter sets ALGORITHM= or LOCK=. doppel decides how the change runs (online, through a ghost table); remove those options from --alter")
	case ast.AlterTableDiscardTablespace, ast.AlterTableImportTablespace, ast.AlterTableDiscardPartitionTablespace,
		ast.AlterTableImportPartitionTablespace, ast.AlterTableExchangePartition, ast.AlterTableTruncatePartition,
		ast.AlterTableCheckPartitions, ast.AlterTableOptimizePartition, ast.AlterTableRepairPartition,
		ast.AlterTableSecondaryLoad, ast.AlterTableSecondaryUnload, ast.AlterTableSetTiFlashReplica:
		return errors.New("--alter holds a table maintenance operation (tablespace, partition exchange, truncate or repair), not a schema change: run it natively")
	}
	return nil
}

// stripAlterTable splits "ALTER TABLE [db.]name rest" into rest and name. It only finds where the
// table name ends; the rest is then checked by the parser.
func stripAlterTable(s string) (rest, table string, ok bool) {
	r := s
	for _, word := range []string{"alter", "table"} {
		r = strings.TrimLeft(r, " \t\r\n")
		if len(r) <= len(word) || !strings.EqualFold(r[:len(word)], word) || !isSpace(r[len(word)]) {
			return "", "", false
		}
		r = r[len(word):]
	}
	r = strings.TrimLeft(r, " \t\r\n")
	name, r, ok := readIdent(r)
	if !ok {
		return "", "", false
	}
	if strings.HasPrefix(r, ".") {
		if name, r, ok = readIdent(r[1:]); !ok {
			return "", "", false
		}
	}
	return strings.TrimSpace(r), name, true
}

// readIdent reads a bare or backtick-quoted identifier from the start of s.
func readIdent(s string) (name, rest string, ok bool) {
	if strings.HasPrefix(s, "`") {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != '`' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '`' {
				b.WriteByte('`')
				i++
				continue
			}
			return b.String(), s[i+1:], true
		}
		return "", "", false
	}
	i := 0
	for i < len(s) && !isSpace(s[i]) && s[i] != '.' && s[i] != '`' {
		i++
	}
	return s[:i], s[i:], i > 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
