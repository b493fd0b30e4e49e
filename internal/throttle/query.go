package throttle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // the parser's value expressions
)

// CheckQuery reports why q cannot be a throttle query, or nil (an empty q turns the check off).
// The query runs every second on the primary, so it must only read: one SELECT (a UNION, WITH …
// SELECT, TABLE or VALUES statement too), without INTO (which writes a file or variables) and
// without FOR UPDATE or LOCK IN SHARE MODE (which lock rows of the application's tables).
//
// The parser is the check, not the read-only transaction the query runs in: a DDL statement
// commits the transaction implicitly and runs anyway. So an executable comment is refused too:
// the server runs what is inside /*M! … */ (the parser skips it) and /*!NNNNN … */ depending on
// its version (the parser always reads it), so what runs could differ from what was checked.
func CheckQuery(q string) error {
	if strings.TrimSpace(q) == "" {
		return nil
	}
	if hasExecutableComment(q) {
		return errors.New("an executable comment (/*! … */ or /*M! … */) is not allowed: the server may run more than doppel checked. Write the query without it")
	}
	stmts, _, err := parser.New().Parse(q, "", "")
	if err != nil {
		return fmt.Errorf("not a statement doppel can read (%w): give one SELECT returning a number", err)
	}
	if len(stmts) != 1 {
		return fmt.Errorf("%d statements: give one SELECT returning a number", len(stmts))
	}
	switch stmts[0].(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
	default:
		return fmt.Errorf("a %s statement: the throttle query runs every second on the primary and must only read; give one SELECT returning a number", kindOf(stmts[0]))
	}
	v := &readOnlyVisitor{}
	stmts[0].Accept(v)
	return v.err
}

// kindOf names a statement for an error message: its first word.
func kindOf(stmt ast.StmtNode) string {
	text := strings.TrimSpace(stmt.Text())
	if word, _, _ := strings.Cut(text, " "); word != "" {
		return strings.ToUpper(word)
	}
	return fmt.Sprintf("%T", stmt)
}

// readOnlyVisitor finds the parts of a SELECT that do more than read, in subqueries too.
type readOnlyVisitor struct{ err error }

func (v *readOnlyVisitor) Enter(n ast.Node) (ast.Node, bool) {
	s, ok := n.(*ast.SelectStmt)
	if !ok || v.err != nil {
		return n, v.err != nil
	}
	switch {
	case s.SelectIntoOpt != nil:
		v.err = errors.New("SELECT … INTO writes a file or variables; the throttle query must only return its number")
	case s.LockInfo != nil && s.LockInfo.LockType != ast.SelectLockNone:
		v.err = fmt.Errorf("%s locks rows of the tables it reads; the throttle query must not", s.LockInfo.LockType)
	}
	return n, v.err != nil
}

func (v *readOnlyVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// hasExecutableComment reports whether q holds a /*! or /*M! comment outside quoted strings and
// identifiers and outside other comments.
func hasExecutableComment(q string) bool {
	for i := 0; i < len(q); i++ {
		switch {
		case q[i] == '\'' || q[i] == '"' || q[i] == '`':
			i = closingQuote(q, i)
		case q[i] == '#' || strings.HasPrefix(q[i:], "--") && (i+2 == len(q) || strings.ContainsRune(" \t\r\n", rune(q[i+2]))):
			if end := strings.IndexByte(q[i:], '\n'); end >= 0 {
				i += end
			} else {
				i = len(q)
			}
		case strings.HasPrefix(q[i:], "/*"):
			if strings.HasPrefix(q[i+2:], "!") || strings.HasPrefix(q[i+2:], "M!") {
				return true
			}
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return false // unclosed: the parser refuses it
			}
			i += 2 + end + 1
		}
	}
	return false
}

// closingQuote returns the index of the quote that closes the one at q[start] (a backslash escapes
// in strings, not in identifiers; a doubled quote reads as a closing and an opening one), or len(q).
func closingQuote(q string, start int) int {
	quote := q[start]
	for i := start + 1; i < len(q); i++ {
		switch {
		case q[i] == '\\' && quote != '`':
			i++
		case q[i] == quote:
			return i
		}
	}
	return len(q)
}

// runQuery runs the throttle query in a read-only transaction, so that even a function it calls
// cannot write a table (the server refuses with error 1792), and reads its one number.
func runQuery(ctx context.Context, db *sql.DB, q string) (sql.NullFloat64, error) {
	var n sql.NullFloat64
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return n, err
	}
	defer func() { _ = tx.Rollback() }()
	err = tx.QueryRowContext(ctx, q).Scan(&n)
	return n, err
}
