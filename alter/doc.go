// Package alter parses the ALTER clause a user gives doppel with the TiDB SQL parser and says what it
// does to the table: which columns it renames, whether it renames the table, which keys it adds.
package alter

import (
	"github.com/pingcap/tidb/pkg/parser"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions for the parser
)

var _ = parser.New
