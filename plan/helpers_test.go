package plan

import (
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/doppel-sql/doppel/dbconn"
)

// flavor returns the flavor for a @@version string such as "8.0.35" or "10.11.6-MariaDB".
func flavor(t testing.TB, version string) dbconn.Flavor {
	t.Helper()
	f, err := dbconn.NewFlavor(version)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// tableFromCreate turns a CREATE TABLE into the TableInfo information_schema would give for it, so that
// test cases state their table as SQL. Strings default to utf8mb4_general_ci, InnoDB and DYNAMIC.
func tableFromCreate(t testing.TB, create string) TableInfo {
	t.Helper()
	stmts, _, err := parser.New().Parse(create, "", "")
	if err != nil {
		t.Fatalf("parsing %q: %v", create, err)
	}
	ct := stmts[0].(*ast.CreateTableStmt)
	ti := TableInfo{Name: ct.Table.Name.O, Engine: "InnoDB", RowFormat: "DYNAMIC", Charset: "utf8mb4", Collation: "utf8mb4_general_ci"}
	for _, o := range ct.Options {
		switch o.Tp {
		case ast.TableOptionEngine:
			ti.Engine = o.StrValue
		case ast.TableOptionCharset:
			ti.Charset = normCharset(o.StrValue)
			ti.Collation = ti.Charset + "_general_ci"
			if ti.Charset == "latin1" {
				ti.Collation = "latin1_swedish_ci"
			}
		case ast.TableOptionCollate:
			ti.Collation = o.StrValue
		case ast.TableOptionRowFormat:
			ti.RowFormat = map[uint64]string{ast.RowFormatDynamic: "DYNAMIC", ast.RowFormatCompressed: "COMPRESSED",
				ast.RowFormatRedundant: "REDUNDANT", ast.RowFormatCompact: "COMPACT"}[o.UintValue]
		}
	}
	p := parser.New()
	for _, def := range ct.Cols {
		typ := strings.ToLower(def.Tp.InfoSchemaStr())
		c := Column{Name: def.Name.Name.O, Type: typ}
		ctype := fromFieldType(def.Tp)
		if ctype.fam == famString {
			c.Charset, c.Collation = ti.Charset, ti.Collation
			if cs := def.Tp.GetCharset(); cs != "" {
				c.Charset, c.Collation = normCharset(cs), normCharset(cs)+"_general_ci"
			}
			if coll := optionCollate(def); coll != "" {
				c.Collation = coll
			}
			// COLUMN_TYPE has no charset: strip it as information_schema would.
			c.Type = parseColumnType(p, strings.Fields(typ)[0], "", "").text
		}
		c.Nullable = !hasOption(def, ast.ColumnOptionNotNull) && !hasOption(def, ast.ColumnOptionPrimaryKey)
		if e := optionExpr(def, ast.ColumnOptionDefaultValue); e != nil {
			c.HasDefault, c.Default = true, unquote(exprSQL(e))
		}
		if e := optionExpr(def, ast.ColumnOptionComment); e != nil {
			c.Comment = unquote(exprSQL(e))
		}
		c.AutoIncrement = hasOption(def, ast.ColumnOptionAutoIncrement)
		if gen, stored := generatedOption(def); gen {
			c.Generated = "virtual"
			if stored {
				c.Generated = "stored"
			}
		}
		if hasOption(def, ast.ColumnOptionPrimaryKey) {
			ti.Indexes = append(ti.Indexes, Index{Name: "PRIMARY", Primary: true, Unique: true, Kind: "BTREE", Columns: []IndexColumn{{Name: c.Name}}})
		}
		ti.Columns = append(ti.Columns, c)
	}
	for _, con := range ct.Constraints {
		ix := Index{Name: con.Name, Kind: "BTREE"}
		switch con.Tp {
		case ast.ConstraintPrimaryKey:
			ix.Name, ix.Primary, ix.Unique = "PRIMARY", true, true
		case ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex:
			ix.Unique = true
		case ast.ConstraintFulltext:
			ix.Kind = "FULLTEXT"
		case ast.ConstraintKey, ast.ConstraintIndex:
		default:
			continue
		}
		for _, k := range con.Keys {
			ix.Columns = append(ix.Columns, IndexColumn{Name: k.Column.Name.O, SubPart: max(k.Length, 0)})
		}
		if ix.Name == "" {
			ix.Name = ix.Columns[0].Name
		}
		ti.Indexes = append(ti.Indexes, ix)
	}
	return ti
}
