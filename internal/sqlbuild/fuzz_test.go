package sqlbuild

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions for the parser
)

// names is what a statement names, as the parser reads it back.
type names struct {
	tables, columns []string
	params          int
	comments        []string
}

func (n *names) Enter(in ast.Node) (ast.Node, bool) {
	switch x := in.(type) {
	case *ast.TableName:
		n.tables = append(n.tables, x.Schema.O+"."+x.Name.O)
	case *ast.ColumnName:
		n.columns = append(n.columns, x.Name.O)
	case *ast.IndexPartSpecification:
		if x.Column != nil {
			n.columns = append(n.columns, x.Column.Name.O)
		}
	case ast.ParamMarkerExpr:
		n.params++
	case *ast.IndexOption:
		n.comments = append(n.comments, x.Comment)
	}
	return in, false
}

func (n *names) Leave(in ast.Node) (ast.Node, bool) { return in, true }

func readBack(t *testing.T, sql string) *names {
	t.Helper()
	stmts, _, err := parser.New().Parse(sql, "", "")
	if err != nil || len(stmts) != 1 {
		t.Fatalf("%s\ndoes not parse back as one statement: %v", sql, err)
	}
	n := &names{}
	stmts[0].Accept(n)
	return n
}

// identifier reports whether s can name a column or table in MySQL: not empty, valid UTF-8, no NUL,
// no trailing space (the server refuses those), at most 64 characters.
func identifier(s string) bool {
	return s != "" && utf8.ValidString(s) && !strings.ContainsRune(s, 0) && !strings.HasSuffix(s, " ") && utf8.RuneCountInString(s) <= 64
}

// FuzzStatements: the builders' statements parse back to the names they were given and to one
// placeholder per bound value, whatever the names hold (backticks, quotes, comments, unicode).
func FuzzStatements(f *testing.F) {
	f.Add("id", "v`x", "t", "a comment", uint8(2))
	f.Add("select", "-- c", "we'ird", "it's \\ 'quoted'", uint8(1))
	f.Add("/*!50000 x*/", "ü€😀", "#t", "\n\x1a", uint8(3))
	f.Fuzz(func(t *testing.T, col1, col2, tbl, comment string, rows uint8) {
		if !identifier(col1) || !identifier(col2) || !identifier(tbl) || !utf8.ValidString(comment) || strings.ContainsRune(comment, 0) {
			return
		}
		n := int(rows%4) + 1
		table := QualifiedName("db", tbl)
		key := []KeyCol{{Name: col1, Bind: "?"}, {Name: col2, Bind: "?"}}

		where := After(key, false)
		got := readBack(t, SelectBoundary(table, "PRIMARY", key, where, 9))
		if got.params != len(where.Args) {
			t.Fatalf("SelectBoundary: %d placeholders, %d arguments", got.params, len(where.Args))
		}
		wantTables(t, got, "db."+tbl)
		wantColumns(t, got, col1, col2)

		got = readBack(t, DeleteByKeys(table, key, n))
		if got.params != 2*n {
			t.Fatalf("DeleteByKeys: %d placeholders for %d rows of 2 columns", got.params, n)
		}
		wantTables(t, got, "db."+tbl)
		wantColumns(t, got, col1, col2)

		got = readBack(t, InsertValues(table, []string{col1, col2}, []string{"?", "?"}, n))
		if got.params != 2*n {
			t.Fatalf("InsertValues: %d placeholders for %d rows of 2 columns", got.params, n)
		}
		wantColumns(t, got, col1, col2)

		got = readBack(t, "ALTER TABLE "+table+" "+AddIndex(col1, []IndexPart{{Column: col1, SubPart: n}, {Column: col2, Desc: true}}, comment))
		wantColumns(t, got, col1, col2)
		if comment == "" && len(got.comments) == 0 {
			return // no COMMENT clause for no comment
		}
		if len(got.comments) != 1 || got.comments[0] != comment {
			t.Fatalf("AddIndex: comment %q read back as %q", comment, got.comments)
		}
	})
}

func wantTables(t *testing.T, got *names, want string) {
	t.Helper()
	for _, tb := range got.tables {
		if tb != want {
			t.Fatalf("table %q read back as %q", want, tb)
		}
	}
}

func wantColumns(t *testing.T, got *names, allowed ...string) {
	t.Helper()
	for _, c := range got.columns {
		if c != allowed[0] && c != allowed[1] {
			t.Fatalf("column %q read back, want only %q", c, allowed)
		}
	}
	if len(got.columns) == 0 {
		t.Fatal("no column read back")
	}
}
