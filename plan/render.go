package plan

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

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
