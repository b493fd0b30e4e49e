package table

import (
	"fmt"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions for the parser
)

// parseElems returns the members of an ENUM or SET column type such as enum('a','b'), read
// with the SQL parser so quoting and escapes are handled as the server does.
func parseElems(columnType string) ([]string, error) {
	stmts, _, err := parser.New().Parse("CREATE TABLE t (c "+columnType+")", "", "")
	if err != nil {
		return nil, fmt.Errorf("parsing column type %q: %w", columnType, err)
	}
	ct, ok := stmts[0].(*ast.CreateTableStmt)
	if !ok || len(ct.Cols) != 1 {
		return nil, fmt.Errorf("parsing column type %q: unexpected statement", columnType)
	}
	return ct.Cols[0].Tp.GetElems(), nil
}
