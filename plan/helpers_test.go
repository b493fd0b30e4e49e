package plan

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/table"
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

// readAlter reads text for table in database shop as the server of flavour f would.
func readAlter(t testing.TB, f dbconn.Flavor, tbl, text string) *alter.Alter {
	t.Helper()
	srv := &alter.Server{MariaDB: f.Name() == "mariadb", Version: alter.VersionID(f.Version())}
	a, err := alter.Read(text, "shop", tbl, srv)
	if err != nil {
		t.Fatalf("reading %q: %v", text, err)
	}
	return a
}

// classifyText classifies the ALTER text for the table a CREATE TABLE describes, on server version.
func classifyText(t testing.TB, version, create, text string, opts Options) *Report {
	t.Helper()
	f := flavor(t, version)
	tbl := tableFromCreate(t, create)
	return Classify(f, tbl, readAlter(t, f, tbl.Name, text), opts)
}

// tableFromCreate turns a CREATE TABLE into the table table.Inspect would read for it in database shop,
// so that test cases state their table as SQL. Strings default to utf8mb4_general_ci, InnoDB and
// DYNAMIC.
func tableFromCreate(t testing.TB, create string) *table.Table {
	t.Helper()
	stmts, _, err := parser.New().Parse(create, "", "")
	if err != nil {
		t.Fatalf("parsing %q: %v", create, err)
	}
	ct := stmts[0].(*ast.CreateTableStmt)
	ti := &table.Table{Schema: "shop", Name: ct.Table.Name.O, Engine: "InnoDB", RowFormat: "DYNAMIC", Collation: "utf8mb4_general_ci"}
	for _, o := range ct.Options {
		switch o.Tp {
		case ast.TableOptionEngine:
			ti.Engine = o.StrValue
		case ast.TableOptionCharset:
			ti.Collation = normCharset(o.StrValue) + "_general_ci"
			if normCharset(o.StrValue) == "latin1" {
				ti.Collation = "latin1_swedish_ci"
			}
		case ast.TableOptionCollate:
			ti.Collation = o.StrValue
		case ast.TableOptionRowFormat:
			ti.RowFormat = map[uint64]string{ast.RowFormatDynamic: "DYNAMIC", ast.RowFormatCompressed: "COMPRESSED",
				ast.RowFormatRedundant: "REDUNDANT", ast.RowFormatCompact: "COMPACT"}[o.UintValue]
		}
	}
	for _, def := range ct.Cols {
		typ := strings.ToLower(def.Tp.InfoSchemaStr())
		c := table.Column{Name: def.Name.Name.O, ColumnType: typ}
		ctype := fromFieldType(def.Tp)
		if ctype.fam == famString {
			c.Charset, c.Collation = tableCharset(ti), ti.Collation
			if cs := def.Tp.GetCharset(); cs != "" {
				c.Charset, c.Collation = normCharset(cs), normCharset(cs)+"_general_ci"
			}
			if coll := optionCollate(def); coll != "" {
				c.Collation = coll
			}
			// COLUMN_TYPE has no charset: strip it as information_schema would.
			c.ColumnType = parseColumnType(strings.Fields(typ)[0], "", "").text
		}
		c.Nullable = !hasOption(def, ast.ColumnOptionNotNull) && !hasOption(def, ast.ColumnOptionPrimaryKey)
		if e := optionExpr(def, ast.ColumnOptionDefaultValue); e != nil {
			c.Default = sql.NullString{String: unquote(exprSQL(e)), Valid: true}
		}
		if e := optionExpr(def, ast.ColumnOptionComment); e != nil {
			c.Comment = unquote(exprSQL(e))
		}
		c.AutoInc = hasOption(def, ast.ColumnOptionAutoIncrement)
		c.Generated, c.Stored = generatedOption(def)
		if hasOption(def, ast.ColumnOptionPrimaryKey) {
			ti.Indexes = append(ti.Indexes, table.Index{Name: "PRIMARY", Unique: true, Kind: "BTREE", Columns: []table.IndexColumn{{Name: c.Name}}})
		}
		ti.Columns = append(ti.Columns, c)
	}
	for _, con := range ct.Constraints {
		ix := table.Index{Name: con.Name, Kind: "BTREE"}
		switch con.Tp {
		case ast.ConstraintPrimaryKey:
			ix.Name, ix.Unique = "PRIMARY", true
		case ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex:
			ix.Unique = true
		case ast.ConstraintFulltext:
			ix.Kind = "FULLTEXT"
		case ast.ConstraintKey, ast.ConstraintIndex:
		default:
			continue
		}
		for _, k := range con.Keys {
			ix.Columns = append(ix.Columns, table.IndexColumn{Name: k.Column.Name.O, SubPart: max(k.Length, 0)})
		}
		if ix.Name == "" {
			ix.Name = ix.Columns[0].Name
		}
		ti.Indexes = append(ti.Indexes, ix)
	}
	return ti
}
