package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// addColumns classifies ADD COLUMN, which may add several columns at once: ADD (a INT, b INT).
func (c *classifier) addColumns(cr *ClauseReport, spec *ast.AlterTableSpec) {
	var ops []op
	instantOK := true
	if b := c.columnBlocker(); b != "" {
		instantOK = false
		cr.Reasons = append(cr.Reasons, b)
	}
	for _, def := range spec.NewColumns {
		name := def.Name.Name.O
		if existing := c.t.Column(name); existing != nil && !c.dropped[strings.ToLower(name)] {
			if spec.IfNotExists {
				cr.Reasons = append(cr.Reasons, fmt.Sprintf("column %s exists: IF NOT EXISTS makes this a no-op", sqlbuild.QuoteIdent(name)))
				continue
			}
			cr.raise(Refused, fmt.Sprintf("column %s already exists", sqlbuild.QuoteIdent(name)))
			continue
		}
		last := spec.Position == nil || spec.Position.Tp == ast.ColumnPositionNone ||
			(spec.Position.Tp == ast.ColumnPositionAfter && strings.EqualFold(spec.Position.RelativeColumn.Name.O, c.lastColumn))
		generated, stored := generatedOption(def)
		switch {
		case hasOption(def, ast.ColumnOptionAutoIncrement):
			ops = append(ops, opAddColumnAutoInc)
			cr.raise(NeedsCare, fmt.Sprintf("adds AUTO_INCREMENT column %s: existing rows are numbered in the order they are copied", sqlbuild.QuoteIdent(name)))
			cr.order(MigrationFirst)
		case generated && stored:
			ops = append(ops, opAddStoredColumn)
			cr.order(MigrationFirst)
		case generated:
			ops = append(ops, opAddVirtualColumn)
			cr.order(MigrationFirst)
		default:
			o, ok := c.addPlainColumn(cr, spec.Position, def, last)
			ops = append(ops, o)
			instantOK = instantOK && ok
		}
		c.added[strings.ToLower(name)] = def
		if hasOption(def, ast.ColumnOptionPrimaryKey) {
			ops = append(ops, c.primaryKeyOp(cr))
			c.newKey(cr, "PRIMARY", []*ast.IndexPartSpecification{{Column: def.Name}})
		}
		if hasOption(def, ast.ColumnOptionUniqKey) {
			ops = append(ops, opAddIndex)
			c.newKey(cr, name, []*ast.IndexPartSpecification{{Column: def.Name}})
		}
		if last {
			c.lastColumn = name
		}
	}
	if len(ops) > 0 && cr.Risk == Safe && len(cr.Reasons) == 0 {
		cr.Reasons = append(cr.Reasons, "adds a column; old code does not see it")
	}
	c.resolve(cr, ops, instantOK)
}

// addPlainColumn classifies adding a column that is neither generated nor AUTO_INCREMENT at position
// p (last: at the end). ok false means INSTANT cannot add it.
func (c *classifier) addPlainColumn(cr *ClauseReport, p *ast.ColumnPosition, def *ast.ColumnDef, last bool) (o op, ok bool) {
	q := sqlbuild.QuoteIdent(def.Name.Name.O)
	switch {
	case last:
		o = opAddColumnLast
	case c.virtualAfter(p):
		o = opAddColumnBeforeVirtual
		cr.Reasons = append(cr.Reasons, "the new column goes before a VIRTUAL generated column, which moves too")
	default:
		o = opAddColumnMiddle
	}
	ok = true
	dflt := optionExpr(def, ast.ColumnOptionDefaultValue)
	if dflt != nil && !isLiteral(dflt) && c.f.Name() == "mysql" {
		ok = false
		cr.Reasons = append(cr.Reasons, fmt.Sprintf("INSTANT cannot add %s with a DEFAULT that is an expression", q))
	}
	notNull := hasOption(def, ast.ColumnOptionNotNull) || hasOption(def, ast.ColumnOptionPrimaryKey)
	if !notNull || dflt != nil {
		cr.order(MigrationFirst)
		return o, ok
	}
	cr.raise(NeedsCare, fmt.Sprintf("adds %s NOT NULL without a DEFAULT: existing rows get the type's implicit default (0, '' or a zero date) and inserts that omit it fail", q))
	cr.order(ExpandContract)
	typ := def.Tp.InfoSchemaStr()
	cr.Phases = append(cr.Phases,
		fmt.Sprintf("migration: ADD COLUMN %s %s NULL", q, typ),
		fmt.Sprintf("deploy: code writes %s on every insert and update", q),
		fmt.Sprintf("backfill: UPDATE ... SET %s = <value> WHERE %s IS NULL, in batches", q, q),
		fmt.Sprintf("migration: MODIFY COLUMN %s %s NOT NULL", q, typ))
	return o, ok
}

// dropColumn classifies DROP COLUMN.
func (c *classifier) dropColumn(cr *ClauseReport, spec *ast.AlterTableSpec) {
	name := spec.OldColumnName.Name.O
	q := sqlbuild.QuoteIdent(name)
	col := c.t.Column(name)
	if col == nil || c.dropped[strings.ToLower(name)] {
		if spec.IfExists {
			cr.Reasons = append(cr.Reasons, fmt.Sprintf("column %s does not exist: IF EXISTS makes this a no-op", q))
			return
		}
		cr.raise(Refused, fmt.Sprintf("column %s does not exist", q))
		return
	}
	c.dropped[strings.ToLower(name)] = true
	instantOK := true
	if b := c.columnBlocker(); b != "" {
		instantOK = false
		cr.Reasons = append(cr.Reasons, b)
	}
	if indexed(c.t, name) {
		// The server drops the column from its indexes too, and that is not instant.
		instantOK = false
		cr.Reasons = append(cr.Reasons, fmt.Sprintf("an index uses %s, so the index changes too", q))
	}
	o := opDropColumn
	if isVirtual(col) {
		o = opDropVirtualColumn
		cr.raise(NeedsCare, fmt.Sprintf("drops virtual column %s: queries that read it fail", q))
	} else {
		cr.raise(DataLoss, fmt.Sprintf("drops column %s and the data in it", q))
	}
	cr.order(CodeFirst)
	cr.Phases = append(cr.Phases,
		fmt.Sprintf("deploy: code stops reading %s", q),
		fmt.Sprintf("deploy: code stops writing %s", q),
		"migration: this ALTER")
	c.resolve(cr, []op{o}, instantOK)
}

// renameColumn classifies RENAME COLUMN, which older servers do not know.
func (c *classifier) renameColumn(cr *ClauseReport, spec *ast.AlterTableSpec) {
	oldName, newName := spec.OldColumnName.Name.O, spec.NewColumnName.Name.O
	col := c.t.Column(oldName)
	if col == nil {
		cr.raise(Refused, fmt.Sprintf("column %s does not exist", sqlbuild.QuoteIdent(oldName)))
		return
	}
	ver := c.f.Version()
	if (c.f.Name() == "mysql" && !ver.AtLeast(8, 0, 0)) || (c.f.Name() == "mariadb" && !ver.AtLeast(10, 5, 2)) {
		cr.raise(Refused, fmt.Sprintf("%s %s has no RENAME COLUMN: write CHANGE COLUMN %s %s <definition>", c.f.Name(), ver,
			sqlbuild.QuoteIdent(oldName), sqlbuild.QuoteIdent(newName)))
	}
	c.rename(cr, col, newName)
	c.resolve(cr, []op{opRenameColumn}, true)
}

// rename records the risk and phases of renaming col to newName.
func (c *classifier) rename(cr *ClauseReport, col *table.Column, newName string) {
	o, n := sqlbuild.QuoteIdent(col.Name), sqlbuild.QuoteIdent(newName)
	if strings.EqualFold(col.Name, newName) {
		cr.Reasons = append(cr.Reasons, fmt.Sprintf("changes the case of %s only; column names are case-insensitive", o))
		return
	}
	cr.raise(NeedsCare, fmt.Sprintf("renames %s to %s: queries naming %s fail the moment it runs", o, n, o))
	cr.order(ExpandContract)
	cr.Phases = append(cr.Phases,
		fmt.Sprintf("migration: ADD COLUMN %s %s NULL", n, col.ColumnType),
		fmt.Sprintf("deploy: code writes both %s and %s, reads %s", o, n, o),
		fmt.Sprintf("backfill: UPDATE ... SET %s = %s, in batches", n, o),
		fmt.Sprintf("deploy: code reads %s, still writes both", n),
		fmt.Sprintf("deploy: code stops writing %s", o),
		fmt.Sprintf("migration: DROP COLUMN %s", o))
}

// alterColumnDefault classifies ALTER COLUMN ... SET DEFAULT and DROP DEFAULT.
func (c *classifier) alterColumnDefault(cr *ClauseReport, spec *ast.AlterTableSpec) {
	def := spec.NewColumns[0]
	name := def.Name.Name.O
	q := sqlbuild.QuoteIdent(name)
	col := c.t.Column(name)
	if col == nil {
		cr.raise(Refused, fmt.Sprintf("column %s does not exist", q))
		return
	}
	if len(def.Options) == 0 { // DROP DEFAULT
		if !col.Nullable {
			cr.raise(NeedsCare, fmt.Sprintf("drops the default of NOT NULL column %s: inserts that omit it fail", q))
			cr.order(CodeFirst)
			cr.Phases = append(cr.Phases, fmt.Sprintf("deploy: code writes %s on every insert", q), "migration: this ALTER")
		} else {
			cr.Reasons = append(cr.Reasons, fmt.Sprintf("inserts that omit %s store NULL", q))
		}
	} else {
		cr.Reasons = append(cr.Reasons, "only new rows get the new default")
	}
	c.resolve(cr, []op{opSetDefault}, true)
}

// changeColumn classifies MODIFY and CHANGE: a new full definition that may rename, retype, move and
// change nullability, default and comment all at once. What the definition leaves out is reset: no
// NULL/NOT NULL means NULL, no DEFAULT means none, no CHARACTER SET means the table's.
func (c *classifier) changeColumn(cr *ClauseReport, spec *ast.AlterTableSpec) {
	def := spec.NewColumns[0]
	oldName := def.Name.Name.O
	if spec.Tp == ast.AlterTableChangeColumn {
		oldName = spec.OldColumnName.Name.O
	}
	col := c.t.Column(oldName)
	if col == nil {
		if spec.IfExists {
			cr.Reasons = append(cr.Reasons, fmt.Sprintf("column %s does not exist: IF EXISTS makes this a no-op", sqlbuild.QuoteIdent(oldName)))
			return
		}
		cr.raise(Refused, fmt.Sprintf("column %s does not exist", sqlbuild.QuoteIdent(oldName)))
		return
	}
	var ops []op
	if def.Name.Name.O != col.Name {
		ops = append(ops, opRenameColumn)
		c.rename(cr, col, def.Name.Name.O)
	}
	if c.moves(position(c.t, col.Name), spec.Position) {
		ops = append(ops, opReorderColumn)
		cr.Reasons = append(cr.Reasons, fmt.Sprintf("moves %s: only SELECT * and INSERT without a column list notice", sqlbuild.QuoteIdent(def.Name.Name.O)))
	}
	ops = append(ops, c.changeType(cr, def, col)...)
	nullOps, newNullable := c.changeNullability(cr, def, col)
	ops = append(ops, nullOps...)
	ops = append(ops, changeDefault(cr, def, col, newNullable)...)
	if len(ops) == 0 {
		ops = append(ops, opColumnComment)
		cr.Reasons = append(cr.Reasons, "changes nothing the plan can see")
	}
	instantOK := true
	if slices.Contains(ops, opReorderColumn) {
		if b := c.columnBlocker(); b != "" {
			instantOK = false
			cr.Reasons = append(cr.Reasons, b)
		}
	}
	c.resolve(cr, ops, instantOK)
}

// changeType classifies what a MODIFY/CHANGE definition does to the column's type, generation and
// AUTO_INCREMENT.
func (c *classifier) changeType(cr *ClauseReport, def *ast.ColumnDef, col *table.Column) []op {
	var ops []op
	q := sqlbuild.QuoteIdent(def.Name.Name.O)
	oldType := parseColumnType(col.ColumnType, col.Charset, col.Collation)
	newType := c.newColumnType(def, oldType)
	if tc := compareTypes(oldType, newType, indexed(c.t, col.Name), c.t.RowFormat); tc.ops != nil {
		ops = append(ops, tc.ops...)
		cr.raise(tc.risk, tc.reason)
		switch {
		case tc.incompatible:
			cr.order(ExpandContract)
			n := sqlbuild.QuoteIdent(def.Name.Name.O + "_new")
			cr.Phases = append(cr.Phases,
				fmt.Sprintf("migration: ADD COLUMN %s %s NULL", n, newType.text),
				fmt.Sprintf("deploy: code writes both %s and %s (converted), reads %s", q, n, q),
				fmt.Sprintf("backfill: copy %s into %s converting each value, in batches; fix the rows that do not convert", q, n),
				fmt.Sprintf("deploy: code reads %s, then stops writing %s", n, q),
				fmt.Sprintf("migration: DROP COLUMN %s (rename %s afterwards the same way, if the name matters)", q, n))
		case tc.risk == Safe:
			cr.order(MigrationFirst)
		}
	}
	if isGen, _ := generatedOption(def); isGen || col.Generated {
		// Generated columns are outside the rules table: assume the expensive path.
		ops = append(ops, opChangeType)
		cr.raise(NeedsCare, fmt.Sprintf("redefines generated column %s", q))
	}
	if autoInc := hasOption(def, ast.ColumnOptionAutoIncrement); autoInc != col.AutoInc {
		ops = append(ops, opChangeType)
		verb := "removes AUTO_INCREMENT from"
		if autoInc {
			verb = "adds AUTO_INCREMENT to"
		}
		cr.raise(NeedsCare, fmt.Sprintf("%s %s", verb, q))
	}
	return ops
}

// changeNullability classifies NULL and NOT NULL in a MODIFY/CHANGE definition, where leaving both
// out means NULL.
func (c *classifier) changeNullability(cr *ClauseReport, def *ast.ColumnDef, col *table.Column) (ops []op, newNullable bool) {
	q := sqlbuild.QuoteIdent(def.Name.Name.O)
	newNullable = !hasOption(def, ast.ColumnOptionNotNull) && !hasOption(def, ast.ColumnOptionPrimaryKey)
	switch {
	case col.Nullable && !newNullable:
		ops = append(ops, opMakeNotNull)
		cr.raise(NeedsCare, fmt.Sprintf("makes %s NOT NULL: rows holding NULL now would get the implicit default", q))
		cr.notNull = col.Name
		cr.order(CodeFirst)
		cr.Phases = append(cr.Phases,
			fmt.Sprintf("deploy: code never writes NULL into %s", q),
			fmt.Sprintf("backfill: UPDATE ... SET %s = <value> WHERE %s IS NULL, in batches", q, q),
			"migration: this ALTER")
	case !col.Nullable && newNullable:
		if strings.EqualFold(c.t.RowFormat, "REDUNDANT") {
			ops = append(ops, opMakeNullableRedund)
		} else {
			ops = append(ops, opMakeNullable)
		}
		cr.Reasons = append(cr.Reasons, fmt.Sprintf("allows NULL in %s (a definition without NOT NULL means NULL)", q))
		cr.order(MigrationFirst)
	}
	return ops, newNullable
}

// changeDefault classifies the DEFAULT and COMMENT of a MODIFY/CHANGE definition, where leaving the
// DEFAULT out means none.
func changeDefault(cr *ClauseReport, def *ast.ColumnDef, col *table.Column, newNullable bool) []op {
	var ops []op
	q := sqlbuild.QuoteIdent(def.Name.Name.O)
	dflt := optionExpr(def, ast.ColumnOptionDefaultValue)
	switch {
	case dflt == nil && col.Default.Valid && !isNullDefault(col.Default.String):
		ops = append(ops, opSetDefault)
		r := Safe
		if !newNullable {
			r = NeedsCare
			cr.order(CodeFirst)
		}
		cr.raise(r, fmt.Sprintf("drops the default of %s: a definition without DEFAULT has none", q))
	case dflt != nil && !sameDefault(col, dflt):
		ops = append(ops, opSetDefault)
		cr.Reasons = append(cr.Reasons, "only new rows get the new default")
	}
	if comment := optionExpr(def, ast.ColumnOptionComment); (comment == nil && col.Comment != "") || (comment != nil && unquote(exprSQL(comment)) != col.Comment) {
		ops = append(ops, opColumnComment)
	}
	return ops
}

// virtualAfter reports whether a VIRTUAL generated column comes after the position a column is added at.
func (c *classifier) virtualAfter(p *ast.ColumnPosition) bool {
	from := 0
	if p.Tp == ast.ColumnPositionAfter {
		from = position(c.t, p.RelativeColumn.Name.O) + 1
	}
	for _, col := range c.t.Columns[max(from, 0):] {
		if isVirtual(&col) {
			return true
		}
	}
	return false
}

// moves reports whether a FIRST/AFTER position moves the column at index pos.
func (c *classifier) moves(pos int, p *ast.ColumnPosition) bool {
	if p == nil {
		return false
	}
	switch p.Tp {
	case ast.ColumnPositionFirst:
		return pos != 0
	case ast.ColumnPositionAfter:
		return pos == 0 || !strings.EqualFold(c.t.Columns[pos-1].Name, p.RelativeColumn.Name.O)
	}
	return false
}

// newColumnType resolves the type a MODIFY/CHANGE gives, with the charset and collation the server
// would pick for it.
func (c *classifier) newColumnType(def *ast.ColumnDef, old colType) colType {
	nt := fromFieldType(def.Tp)
	if nt.fam != famString {
		return nt
	}
	cs := normCharset(def.Tp.GetCharset())
	coll := def.Tp.GetCollate()
	if e := optionCollate(def); e != "" {
		coll = e
	}
	switch {
	case cs == "" && coll != "":
		cs = charsetOfCollation(coll)
	case cs == "" && coll == "":
		cs, coll = tableCharset(c.t), c.t.Collation
	case coll == "" && cs == old.charset:
		coll = old.collation // the charset's default collation is only known to the server; assume unchanged
	}
	if mysql.HasBinaryFlag(def.Tp.GetFlag()) { // VARCHAR(n) BINARY: the charset's binary collation
		coll = cs + "_bin"
	}
	nt.charset, nt.collation = cs, coll
	return nt
}

func hasOption(def *ast.ColumnDef, tp ast.ColumnOptionType) bool {
	return slices.ContainsFunc(def.Options, func(o *ast.ColumnOption) bool { return o.Tp == tp })
}

func optionExpr(def *ast.ColumnDef, tp ast.ColumnOptionType) ast.ExprNode {
	for _, o := range def.Options {
		if o.Tp == tp {
			return o.Expr
		}
	}
	return nil
}

func optionCollate(def *ast.ColumnDef) string {
	for _, o := range def.Options {
		if o.Tp == ast.ColumnOptionCollate {
			return o.StrValue
		}
	}
	return ""
}

// generatedOption reports whether the column is generated and, if so, whether it is STORED.
func generatedOption(def *ast.ColumnDef) (generated, stored bool) {
	for _, o := range def.Options {
		if o.Tp == ast.ColumnOptionGenerated {
			return true, o.Stored
		}
	}
	return false, false
}

// isLiteral reports whether a DEFAULT is a constant rather than an expression such as CURRENT_TIMESTAMP.
func isLiteral(e ast.ExprNode) bool {
	switch x := e.(type) {
	case ast.ValueExpr:
		return true
	case *ast.UnaryOperationExpr: // DEFAULT -1
		return isLiteral(x.V)
	}
	return false
}

func isNullDefault(d string) bool { return strings.EqualFold(d, "NULL") }

// sameDefault compares a column's current default with a new DEFAULT expression as text, the way both
// servers print them: MariaDB quotes string defaults, MySQL does not, and functions lose "()".
func sameDefault(col *table.Column, e ast.ExprNode) bool {
	newText := unquote(exprSQL(e))
	if !col.Default.Valid {
		return isNullDefault(newText)
	}
	norm := func(s string) string { return strings.TrimSuffix(strings.ToLower(unquote(s)), "()") }
	return norm(col.Default.String) == norm(newText)
}

// unquote strips one pair of single quotes.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'")
	}
	return s
}
