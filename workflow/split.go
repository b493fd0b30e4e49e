package workflow

import (
	"fmt"
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions for the parser
)

// BackfillDirective on a line of its own just before a data statement (UPDATE, or INSERT … SELECT)
// makes it a backfill: it runs through the Backfiller, in throttled chunks, instead of as one
// statement.
const BackfillDirective = "-- doppel:backfill"

// Kind is what a statement does, which decides how it may run.
type Kind int

const (
	// KindAlter is an ALTER TABLE of one table: it may run online.
	KindAlter Kind = iota
	// KindCreate, KindDrop and KindRename create, drop and rename tables (and other objects).
	KindCreate
	KindDrop
	KindRename
	// KindData reads or writes rows: INSERT, UPDATE, DELETE, REPLACE.
	KindData
	// KindOther is anything else the server runs: SET, a view, a procedure.
	KindOther
)

var kindNames = [...]string{"alter", "create", "drop", "rename", "data", "other"}

func (k Kind) String() string { return kindNames[k] }

// MarshalText makes a Kind a JSON string.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Statement is one statement of a migration file.
type Statement struct {
	// SQL is the statement as written, its leading comments and final ";" left out.
	SQL string
	// Line is the line of the file the statement starts on, for messages.
	Line int
	Kind Kind
	// Backfill: a BackfillDirective line precedes it.
	Backfill bool
	// DropsData: a DROP TABLE, TRUNCATE or DROP DATABASE.
	DropsData bool
	// Table is the table an ALTER changes; Tables every table the statement names, for the
	// order in which statements are planned.
	Table  string
	Tables []string
}

// parserMu serializes the TiDB parser, whose character set registry is global (package alter
// parses under its own lock; the two never parse charsets the other registers).
var parserMu sync.Mutex

func newParser() *parser.Parser {
	p := parser.New()
	p.SetMariaDB(true)
	return p
}

// Split reads a migration script into its statements with the TiDB parser, MariaDB's syntax
// included. A statement the parser cannot read stops the whole file, with its line, before
// anything runs.
func Split(name, text string) ([]Statement, error) {
	parserMu.Lock()
	nodes, _, err := newParser().Parse(text, "", "")
	parserMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%s cannot be read: %w. doppel splits migration files with the TiDB SQL parser, which knows MySQL's syntax and most of MariaDB's; write the statement in syntax it knows", name, err)
	}
	var out []Statement
	offset := 0
	for _, n := range nodes {
		raw := n.Text()
		at := strings.Index(text[offset:], raw)
		if at < 0 {
			return nil, fmt.Errorf("%s: the parser's statement text %q is not in the file", name, excerpt(raw))
		}
		start := offset + at
		offset = start + len(raw)
		s, err := statement(n, raw)
		if err != nil {
			return nil, fmt.Errorf("%s, line %d: %w", name, 1+strings.Count(text[:start], "\n")+s.Line, err)
		}
		s.Line += 1 + strings.Count(text[:start], "\n")
		out = append(out, s)
	}
	return out, nil
}

// statement reads one parsed statement. raw is its text with its leading comments; its comment lines
// are read line by line for the directive. s.Line is the line within raw the statement starts on.
func statement(n ast.StmtNode, raw string) (Statement, error) {
	var s Statement
	lines := strings.Split(raw, "\n")
	i := 0
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == BackfillDirective {
			s.Backfill = true
		}
		if l != "" && !strings.HasPrefix(l, "--") && !strings.HasPrefix(l, "#") {
			break
		}
	}
	s.Line = i
	s.SQL = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.Join(lines[i:], "\n")), ";"))
	s.Tables = tablesOf(n)
	switch st := n.(type) {
	case *ast.AlterTableStmt:
		s.Kind, s.Table = KindAlter, st.Table.Name.O
		if st.Table.Schema.O != "" {
			s.Kind = KindOther // another database's table: the plan and the engine work in --database
		}
	case *ast.CreateTableStmt, *ast.CreateIndexStmt, *ast.CreateViewStmt, *ast.CreateDatabaseStmt, *ast.CreateSequenceStmt:
		s.Kind = KindCreate
	case *ast.DropTableStmt, *ast.DropDatabaseStmt, *ast.TruncateTableStmt:
		s.Kind, s.DropsData = KindDrop, true
	case *ast.DropIndexStmt, *ast.DropSequenceStmt:
		s.Kind = KindDrop
	case *ast.RenameTableStmt:
		s.Kind = KindRename
	case *ast.InsertStmt, *ast.UpdateStmt, *ast.DeleteStmt:
		s.Kind = KindData
	default:
		s.Kind = KindOther
	}
	if _, txn := n.(*ast.BeginStmt); txn {
		return s, fmt.Errorf("transaction control (%s) in a migration: the server commits every DDL statement by itself, so doppel runs each statement on its own; leave BEGIN/COMMIT out", excerpt(s.SQL))
	}
	if s.Backfill {
		switch n.(type) {
		case *ast.UpdateStmt, *ast.InsertStmt:
		default:
			return s, fmt.Errorf("%s precedes %q, which is not an UPDATE or an INSERT … SELECT: a backfill changes rows in chunks", BackfillDirective, excerpt(s.SQL))
		}
	}
	return s, nil
}

// tablesOf lists the tables a statement names, without their database.
func tablesOf(n ast.Node) []string {
	v := &tableNames{seen: map[string]bool{}}
	n.Accept(v)
	return v.names
}

type tableNames struct {
	names []string
	seen  map[string]bool
}

func (v *tableNames) Enter(n ast.Node) (ast.Node, bool) {
	if t, ok := n.(*ast.TableName); ok && t.Name.O != "" && !v.seen[t.Name.L] {
		v.seen[t.Name.L] = true
		v.names = append(v.names, t.Name.O)
	}
	return n, false
}

func (v *tableNames) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// excerpt shortens a statement for a message.
func excerpt(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
