// Package alter reads the ALTER clause a user gives doppel the way the server will read it: executable
// comments expanded by the server's own rules, every other comment removed, then parsed with the TiDB
// SQL parser. It refuses what doppel must not run on a ghost table, and says which columns the clause
// renames and drops. What the change does to keys and columns is decided later by comparing the
// original and the altered ghost table, which is exact whatever the syntax.
package alter

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions for the parser

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// Alter is a parsed ALTER clause.
type Alter struct {
	// Clause is the text that follows "ALTER TABLE <name> " as the server reads it: the executable
	// comments that run on it replaced by their content, every other comment removed. doppel runs
	// this text, never the one the user wrote, so the checks see everything that runs.
	Clause string
	// Renames maps a renamed column's old name to its new one (CHANGE COLUMN a b, RENAME COLUMN a TO b).
	Renames map[string]string
	// Dropped are the original columns the clause drops (DROP COLUMN). A column of the altered table
	// by the same name is another column: it is added again, or another column renamed into the name.
	Dropped []string
	// SetsAutoIncrement is true when the clause sets the AUTO_INCREMENT counter itself.
	SetsAutoIncrement bool
	// AtSwap is true when the clause deletes rows by partition (DROP or TRUNCATE PARTITION): the
	// ghost is then a copy of the table as it is, and the clause runs on it under the cut-over's
	// lock, when it holds exactly what the original holds, so it deletes what a native ALTER would.
	AtSwap bool
	// Specs are the clauses as the parser read them. Rewritten is true when it read MariaDB syntax
	// it lacks as forParser rewrites it: the specs then show what it read, not what runs.
	Specs     []*ast.AlterTableSpec
	Rewritten bool
}

// Parse reads text, either the clause alone ("ADD COLUMN x INT") or a whole statement ("ALTER TABLE t
// ADD COLUMN x INT") naming database.table, for the server srv that will run it, and refuses what
// doppel does not run on a ghost table.
func Parse(text, database, table string, srv *Server) (*Alter, error) {
	return parse(text, database, table, srv, true)
}

// Read reads text as Parse does, but refuses nothing that parses: the pre-flight plan reports on
// every clause, those doppel would refuse included.
func Read(text, database, table string, srv *Server) (*Alter, error) {
	return parse(text, database, table, srv, false)
}

func parse(text, database, table string, srv *Server, refusing bool) (*Alter, error) {
	canon, err := canonical(text, srv)
	if err != nil {
		return nil, err
	}
	if canon, err = oneStatement(canon); err != nil {
		return nil, err
	}
	stmtText, clause := "ALTER TABLE t "+canon, canon
	named, rest, hasPrefix, err := alterTablePrefix(canon)
	if err != nil {
		return nil, err
	}
	if hasPrefix {
		same := strings.EqualFold
		if srv.TableNamesCaseSensitive {
			same = func(a, b string) bool { return a == b }
		}
		if named.schema != "" && !same(named.schema, database) {
			return nil, fmt.Errorf("--alter names table %s but --database is %q: give the ALTER clause only (such as --alter=\"ADD COLUMN ...\"), or name the same table",
				sqlbuild.QualifiedName(named.schema, named.name), database)
		}
		if !same(named.name, table) {
			return nil, fmt.Errorf("--alter names table %q but --table is %q: give the ALTER clause only (such as --alter=\"ADD COLUMN ...\"), or name the same table", named.name, table)
		}
		stmtText, clause = canon, rest
	}
	if clause == "" {
		return nil, errors.New("--alter is empty: give the change to make, such as --alter=\"ADD COLUMN note VARCHAR(100) NULL\"")
	}
	native := "ALTER TABLE " + sqlbuild.QualifiedName(database, table) + " " + clause
	stmt, err := parseStatement(stmtText, srv)
	rewrote := false
	if err != nil {
		// MariaDB syntax the parser does not know is read as syntax it knows (the clause runs as
		// written); a clause the parser reads as it is is never rewritten.
		rewritten, rerr := forParser(stmtText)
		if rerr != nil {
			return nil, rerr
		}
		if rewritten != stmtText {
			stmt, err = parseStatement(rewritten, srv)
			rewrote = true
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot parse --alter %q: %w. doppel reads the ALTER with the TiDB SQL parser, which knows MySQL syntax, the server's character sets and collations and the common MariaDB column attributes and types; check the statement, or run this change natively: %s", clause, err, native)
	}
	alterStmt, ok := stmt.(*ast.AlterTableStmt)
	if !ok {
		if _, analyze := stmt.(*ast.AnalyzeTableStmt); analyze {
			return nil, fmt.Errorf("--alter analyzes partitions, a maintenance operation that changes neither the schema nor the rows: there is nothing to copy; run it natively: %s", native)
		}
		return nil, errors.New("--alter is not an ALTER TABLE clause: give the change to make, such as --alter=\"ADD COLUMN note VARCHAR(100) NULL\"")
	}
	if len(alterStmt.Specs) == 0 {
		// What is left is not a change, such as a "--" the parser takes for a comment.
		return nil, fmt.Errorf("--alter holds no change (%q): give the change to make, such as --alter=\"ADD COLUMN note VARCHAR(100) NULL\"", clause)
	}
	if hasPrefix && !sameName(alterStmt.Table, named) {
		return nil, fmt.Errorf("--alter names table %s, which doppel reads as %s: quote the name with backticks", sqlbuild.QualifiedName(alterStmt.Table.Schema.O, alterStmt.Table.Name.O), sqlbuild.QualifiedName(named.schema, named.name))
	}
	a, err := read(alterStmt.Specs, clause, native, refusing)
	if err != nil {
		return nil, err
	}
	a.Specs, a.Rewritten = alterStmt.Specs, rewrote
	return a, nil
}

// read collects what the specs rename and drop and, when refusing, refuses what doppel must not run.
func read(specs []*ast.AlterTableSpec, clause, native string, refusing bool) (*Alter, error) {
	a := &Alter{Clause: clause, Renames: map[string]string{}}
	renamed := map[string]bool{}
	rename := func(from, to string) error {
		if strings.EqualFold(from, to) {
			return nil // the same column, its values stay
		}
		if renamed[strings.ToLower(from)] && refusing {
			return fmt.Errorf("--alter renames column %s twice: rename it once", sqlbuild.QuoteIdent(from))
		}
		renamed[strings.ToLower(from)] = true
		a.Renames[from] = to
		return nil
	}
	for _, spec := range specs {
		if err := refuse(spec, native); err != nil && refusing {
			return nil, err
		}
		switch spec.Tp {
		case ast.AlterTableChangeColumn:
			if err := rename(spec.OldColumnName.Name.O, spec.NewColumns[0].Name.Name.O); err != nil {
				return nil, err
			}
		case ast.AlterTableRenameColumn:
			if err := rename(spec.OldColumnName.Name.O, spec.NewColumnName.Name.O); err != nil {
				return nil, err
			}
		case ast.AlterTableDropColumn:
			a.Dropped = append(a.Dropped, spec.OldColumnName.Name.O)
		case ast.AlterTableDropPartition, ast.AlterTableTruncatePartition:
			a.AtSwap = true
		case ast.AlterTableOption:
			for _, opt := range spec.Options {
				if opt.Tp == ast.TableOptionAutoIncrement {
					a.SetsAutoIncrement = true
				}
			}
		}
	}
	if a.AtSwap && len(specs) > 1 && refusing {
		return nil, fmt.Errorf("--alter drops or truncates partitions together with other changes. The rows of those partitions are deleted at the swap, the other changes made by the copy: run the DROP or TRUNCATE PARTITION as an ALTER of its own (doppel runs it too), and the other changes in another")
	}
	return a, nil
}

// GhostClause is the clause the ghost table is altered with before the copy: the whole clause, or
// none when it runs at the swap (AtSwap).
func (a *Alter) GhostClause() string {
	if a.AtSwap {
		return ""
	}
	return a.Clause
}

func parseStatement(sql string, srv *Server) (ast.StmtNode, error) {
	stmts, err := parseLocked(sql, srv)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, errors.New("--alter must be one statement")
	}
	return stmts[0], nil
}

// parseLocked parses sql knowing srv's character sets and collations.
func parseLocked(sql string, srv *Server) ([]ast.StmtNode, error) {
	parserMu.Lock()
	defer parserMu.Unlock()
	registerLocked(srv)
	stmts, _, err := parser.New().Parse(sql, "", "")
	return stmts, err
}

// oneStatement drops a final ";" and refuses a second statement after it.
func oneStatement(s string) (string, error) {
	for _, t := range tokenize(s) {
		if t.kind == punct && s[t.start] == ';' {
			if rest := strings.TrimSpace(s[t.end:]); rest != "" {
				return "", fmt.Errorf("--alter must be one statement, but %q follows a \";\": give one ALTER", excerpt(rest, 0))
			}
			return strings.TrimSpace(s[:t.start]), nil
		}
	}
	return s, nil
}

type tableName struct{ schema, name string }

func sameName(t *ast.TableName, n tableName) bool {
	return t.Schema.O == n.schema && t.Name.O == n.name
}

// alterTablePrefix splits "ALTER TABLE [db.]name rest" of s (comments already removed). It only finds
// where the name ends; the parser checks the rest, and that it reads the same name.
func alterTablePrefix(s string) (named tableName, rest string, ok bool, err error) {
	toks := tokenize(s)
	if len(toks) == 0 || !toks[0].isWord(s, "ALTER") {
		return tableName{}, "", false, nil
	}
	if len(toks) > 1 && (toks[1].isWord(s, "ONLINE") || toks[1].isWord(s, "IGNORE")) {
		return tableName{}, "", false, fmt.Errorf("--alter is ALTER %s TABLE: doppel decides how the change runs, and IGNORE would delete rows; give the ALTER clause only, such as --alter=\"ADD COLUMN ...\"",
			strings.ToUpper(s[toks[1].start:toks[1].end]))
	}
	if len(toks) < 3 || !toks[1].isWord(s, "TABLE") {
		return tableName{}, "", false, nil // a clause such as ALTER COLUMN
	}
	i := 2
	name, ok := toks[i].ident(s)
	if ok && i+2 < len(toks) && toks[i+1].kind == punct && s[toks[i+1].start] == '.' {
		named.schema = name
		i += 2
		name, ok = toks[i].ident(s)
	}
	if !ok {
		return tableName{}, "", false, fmt.Errorf("--alter: cannot read the table name at %q: write it bare or quoted with backticks", excerpt(s, toks[i].start))
	}
	named.name = name
	return named, strings.TrimSpace(s[toks[i].end:]), true, nil
}

type tokenKind int

const (
	word  tokenKind = iota // a keyword, name or number
	quote                  // '…', "…" or `…`
	punct                  // any other character
)

type token struct {
	kind       tokenKind
	start, end int
}

// tokenize splits s, which holds no comments (see canonical), into the tokens this package needs to
// tell apart: words, quoted strings and names, and single characters.
func tokenize(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isSpace(c):
			i++
		case c == '\'' || c == '"' || c == '`':
			end, err := quoted(s, i)
			if err != nil {
				end = len(s) // canonical has refused it already
			}
			toks = append(toks, token{quote, i, end})
			i = end
		case isIdentChar(c):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			toks = append(toks, token{word, i, j})
			i = j
		default:
			toks = append(toks, token{punct, i, i + 1})
			i++
		}
	}
	return toks
}

func (t token) isWord(s, w string) bool {
	return t.kind == word && strings.EqualFold(s[t.start:t.end], w)
}

// ident returns the name a bare or backtick-quoted identifier token stands for.
func (t token) ident(s string) (string, bool) {
	text := s[t.start:t.end]
	switch {
	case t.kind == word:
		return text, true
	case t.kind == quote && text[0] == '`' && len(text) >= 2:
		return strings.ReplaceAll(text[1:len(text)-1], "``", "`"), true
	}
	return "", false
}

// isIdentChar reports whether c may be part of an unquoted name: ASCII letters, digits, _ and $, and
// any byte of a non-ASCII character.
func isIdentChar(c byte) bool {
	return c >= 0x80 || c == '_' || c == '$' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}
