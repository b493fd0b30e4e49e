package workflow

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/doppel-sql/doppel/alter"
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

// Split reads a migration script into its statements with the TiDB parser, as the server srv reads
// them (package alter: its character sets and collations, its executable comments, the MariaDB
// syntax the parser lacks read as the nearest it knows). A statement ends at the first ";" up to
// which the text parses as one whole statement ending there: a ";" in a string, a quoted name or a
// comment never ends one. A statement the parser cannot read stops the whole file, with its line,
// before anything runs.
func Split(name string, text string, srv *alter.Server) ([]Statement, error) {
	var out []Statement
	for start := 0; start < len(text); {
		end, node, err := nextStatement(text, start, srv)
		line := 1 + strings.Count(text[:start], "\n")
		if err != nil {
			line += leadingBlankLines(text[start:])
			return nil, fmt.Errorf("%s cannot be read at line %d: %w. doppel splits migration files with the TiDB SQL parser, which knows MySQL's syntax and the common MariaDB types and attributes; write the statement in syntax it knows", name, line, err)
		}
		if node == nil {
			break // only comments are left
		}
		s, err := statement(node, text[start:end])
		if err != nil {
			return nil, fmt.Errorf("%s, line %d: %w", name, line+s.Line, err)
		}
		s.Line += line
		out = append(out, s)
		start = end
	}
	return out, nil
}

// nextStatement finds the statement that starts at text[start:]: where it ends and the parser's
// reading of it; a nil node when only comments and blanks are left.
func nextStatement(text string, start int, srv *alter.Server) (int, ast.StmtNode, error) {
	for from := start; ; {
		i := strings.IndexByte(text[from:], ';')
		if i < 0 {
			break
		}
		end := from + i + 1
		from = end
		nodes, err := alter.ParseLogged(text[start:end], srv)
		if err == nil && len(nodes) == 1 && strings.HasSuffix(strings.TrimSpace(nodes[0].Text()), ";") {
			return end, nodes[0], nil
		}
	}
	// The last statement may lack its ";".
	nodes, err := alter.ParseLogged(text[start:], srv)
	switch {
	case err != nil:
		return 0, nil, err
	case len(nodes) == 0:
		return len(text), nil, nil
	case len(nodes) > 1:
		return 0, nil, fmt.Errorf("%q is not one statement", excerpt(text[start:]))
	}
	return len(text), nodes[0], nil
}

// leadingBlankLines counts the blank and comment lines s starts with: an error is at the statement.
func leadingBlankLines(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "--") && !strings.HasPrefix(l, "#") {
			break
		}
		n++
	}
	return n
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
