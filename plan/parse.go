package plan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions (DEFAULT 'x') for the parser

	"github.com/doppel-sql/doppel/sqlbuild"
)

// ErrSyntax is wrapped by the error for an ALTER the TiDB parser cannot read.
var ErrSyntax = errors.New("cannot parse the ALTER")

// parseAlter parses the ALTER clause a user gives doppel ("ADD COLUMN c INT, DROP INDEX i"), or a whole
// "ALTER TABLE t ..." statement, into its clauses.
func parseAlter(table, alter string) ([]*ast.AlterTableSpec, error) {
	p := parser.New()
	text := strings.TrimSpace(alter)
	text = strings.TrimSuffix(text, ";")
	// A whole statement parses on its own; a bare clause list needs the ALTER TABLE in front.
	stmts, _, err := p.Parse(text, "", "")
	if err != nil || len(stmts) != 1 {
		stmts, _, err = p.Parse("ALTER TABLE "+sqlbuild.QuoteIdent(table)+" "+text, "", "")
	}
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v; doppel reads MySQL syntax with the TiDB parser, so MariaDB-only syntax "+
			"(INVISIBLE columns, WITH SYSTEM VERSIONING, IGNORED indexes) and SPATIAL indexes are not understood", ErrSyntax, alter, err)
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("%w %q: expected one ALTER TABLE, got %d statements", ErrSyntax, alter, len(stmts))
	}
	st, ok := stmts[0].(*ast.AlterTableStmt)
	if !ok {
		return nil, fmt.Errorf("%w %q: not an ALTER TABLE", ErrSyntax, alter)
	}
	if name := st.Table.Name.O; !strings.EqualFold(name, table) {
		return nil, fmt.Errorf("the ALTER names table %q, but the plan is for %q", name, table)
	}
	if len(st.Specs) == 0 {
		return nil, fmt.Errorf("%w %q: no clause", ErrSyntax, alter)
	}
	return st.Specs, nil
}

// restoreFlags render clauses readably: upper-case keywords, back-quoted names, no charset introducers.
const restoreFlags = format.RestoreStringSingleQuotes | format.RestoreKeyWordUppercase |
	format.RestoreNameBackQuotes | format.RestoreStringWithoutCharset

// clauseSQL renders one clause back to SQL for the server's flavour, as the report shows it and as
// doppel would run it.
func clauseSQL(spec *ast.AlterTableSpec, flavor string) string {
	switch {
	case spec.Tp == ast.AlterTableForce:
		return "FORCE" // the TiDB restorer adds a comment saying TiDB does not support it
	case spec.Tp == ast.AlterTableDropCheck && flavor == "mariadb" && spec.Constraint != nil:
		return "DROP CONSTRAINT " + sqlbuild.QuoteIdent(spec.Constraint.Name) // MariaDB has no DROP CHECK
	}
	var b strings.Builder
	if err := spec.Restore(format.NewRestoreCtx(restoreFlags, &b)); err != nil {
		return fmt.Sprintf("<clause %d>", spec.Tp)
	}
	if spec.Tp == ast.AlterTableAddConstraint && spec.Constraint != nil && spec.Constraint.Tp == ast.ConstraintCheck && spec.Constraint.Enforced {
		// ENFORCED is the default, and MariaDB does not know the word.
		return strings.TrimSuffix(b.String(), " ENFORCED")
	}
	return b.String()
}

// exprSQL renders an expression such as a DEFAULT value.
func exprSQL(e ast.ExprNode) string {
	var b strings.Builder
	if err := e.Restore(format.NewRestoreCtx(restoreFlags, &b)); err != nil {
		return "?"
	}
	return b.String()
}
