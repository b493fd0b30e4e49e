package plan

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// ClauseReport is the plan for one clause of the ALTER.
type ClauseReport struct {
	SQL string `json:"sql"`
	// Operations are the kinds of change the server's online DDL rules were looked up for.
	Operations []string  `json:"operations"`
	Algorithm  Algorithm `json:"algorithm"`
	// Rebuild: the server would rebuild the table, which takes about as long as a copy.
	Rebuild bool     `json:"rebuildsTable"`
	Risk    Risk     `json:"risk"`
	Reasons []string `json:"reasons,omitempty"`
	Order   Order    `json:"deployOrder"`
	// Phases spell out the deployment when Order is ExpandContract or CodeFirst.
	Phases []string `json:"phases,omitempty"`
	// Check is what the plan measured on the server for this clause, when it measured anything.
	Check *Check `json:"check,omitempty"`
	// Ignored clauses (ALGORITHM=, LOCK=) change nothing: doppel decides how the change runs.
	Ignored bool `json:"ignored,omitempty"`

	unique  *uniqueCheck // a new UNIQUE or PRIMARY key to look for duplicates of
	notNull string       // a column becoming NOT NULL, to look for NULLs in
}

// Check is the outcome of a query the plan ran for a clause. Found is nil when the check could not run;
// Note says why, or what was found. The values of the rows are never shown.
type Check struct {
	Kind  string `json:"kind"` // "duplicates" or "nulls"
	Found *bool  `json:"found"`
	Note  string `json:"note,omitempty"`
}

// uniqueCheck describes the key a duplicate check groups by, as the new key will compare values.
type uniqueCheck struct {
	parts []keyPart
	skip  string // why the check cannot run
}

type keyPart struct {
	column string
	prefix int // characters, 0 for the whole column
	// charset and collation are those the new key compares with; empty for non-string columns.
	charset, collation string
}

// classifier walks the clauses of one ALTER with the table as it is before it.
type classifier struct {
	f dbconn.Flavor
	t *table.Table
	// What earlier clauses of the same ALTER did, by lower-case column name.
	added   map[string]*ast.ColumnDef
	dropped map[string]bool
	// redefined holds the MODIFY/CHANGE definitions by old name; renamed maps new names to old ones.
	redefined map[string]*ast.ColumnDef
	renamed   map[string]string
	// lastColumn is the name of the table's last column as the clauses so far leave it.
	lastColumn string
	dropsPK    bool
	addsPK     bool
}

func newClassifier(f dbconn.Flavor, t *table.Table, specs []*ast.AlterTableSpec) *classifier {
	c := &classifier{f: f, t: t, added: map[string]*ast.ColumnDef{}, dropped: map[string]bool{},
		redefined: map[string]*ast.ColumnDef{}, renamed: map[string]string{}}
	if n := len(t.Columns); n > 0 {
		c.lastColumn = t.Columns[n-1].Name
	}
	// Primary key replacement is one operation to the server, whichever clause comes first.
	for _, s := range specs {
		switch {
		case s.Tp == ast.AlterTableDropPrimaryKey, s.Tp == ast.AlterTableDropIndex && strings.EqualFold(s.Name, "PRIMARY"):
			c.dropsPK = true
		case s.Tp == ast.AlterTableAddConstraint && s.Constraint != nil && s.Constraint.Tp == ast.ConstraintPrimaryKey:
			c.addsPK = true
		case s.Tp == ast.AlterTableAddColumns:
			for _, col := range s.NewColumns {
				if hasOption(col, ast.ColumnOptionPrimaryKey) {
					c.addsPK = true
				}
			}
		case s.Tp == ast.AlterTableModifyColumn:
			c.redefined[strings.ToLower(s.NewColumns[0].Name.Name.O)] = s.NewColumns[0]
		case s.Tp == ast.AlterTableChangeColumn:
			c.redefined[strings.ToLower(s.OldColumnName.Name.O)] = s.NewColumns[0]
			c.renamed[strings.ToLower(s.NewColumns[0].Name.Name.O)] = s.OldColumnName.Name.O
		case s.Tp == ast.AlterTableRenameColumn:
			c.renamed[strings.ToLower(s.NewColumnName.Name.O)] = s.OldColumnName.Name.O
		}
	}
	return c
}

// clause classifies one ALTER clause.
func (c *classifier) clause(spec *ast.AlterTableSpec) ClauseReport {
	cr := ClauseReport{SQL: clauseSQL(spec, c.f.Name())}
	switch spec.Tp {
	case ast.AlterTableAddColumns:
		c.addColumns(&cr, spec)
	case ast.AlterTableDropColumn:
		c.dropColumn(&cr, spec)
	case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
		c.changeColumn(&cr, spec)
	case ast.AlterTableRenameColumn:
		c.renameColumn(&cr, spec)
	case ast.AlterTableAlterColumn:
		c.alterColumnDefault(&cr, spec)
	case ast.AlterTableAddConstraint:
		c.addConstraint(&cr, spec.Constraint)
	case ast.AlterTableDropPrimaryKey:
		c.dropPrimaryKey(&cr)
	case ast.AlterTableDropIndex:
		c.dropIndex(&cr, spec)
	case ast.AlterTableDropForeignKey:
		c.resolve(&cr, []op{opDropForeignKey}, true)
		cr.Order = CodeFirst
		cr.Reasons = append(cr.Reasons, "the database stops enforcing the relation")
	case ast.AlterTableDropCheck:
		c.resolve(&cr, []op{opDropCheck}, true)
		cr.Reasons = append(cr.Reasons, "the database stops enforcing the condition")
	case ast.AlterTableRenameIndex:
		c.resolve(&cr, []op{opRenameIndex}, true)
		cr.Reasons = append(cr.Reasons, "index hints naming the old name stop working")
	case ast.AlterTableIndexInvisible:
		c.resolve(&cr, []op{opIndexVisibility}, true)
		cr.Risk = NeedsCare
		cr.Reasons = append(cr.Reasons, "queries that use the index change plans when it turns invisible")
	case ast.AlterTableRenameTable:
		c.resolve(&cr, []op{opRenameTable}, true)
		cr.raise(Refused, "doppel does not rename tables: run RENAME TABLE on its own")
	case ast.AlterTableOption:
		c.tableOptions(&cr, spec.Options)
	case ast.AlterTableForce:
		c.resolve(&cr, []op{opRebuild}, true)
	case ast.AlterTableDropPartition, ast.AlterTableTruncatePartition:
		c.deletePartitions(&cr)
	case ast.AlterTableAddPartitions:
		if addsRangePartitions(spec) {
			c.resolve(&cr, []op{opAddRangePartition}, true)
		} else {
			c.resolve(&cr, []op{opMovePartitionRows}, true)
		}
	case ast.AlterTableCoalescePartitions, ast.AlterTableReorganizePartition, ast.AlterTableRebuildPartition:
		c.resolve(&cr, []op{opMovePartitionRows}, true)
	case ast.AlterTablePartition, ast.AlterTableRemovePartitioning:
		c.resolve(&cr, []op{opPartitionBy}, true)
	case ast.AlterTableAlgorithm, ast.AlterTableLock:
		cr.Ignored = true
		cr.Reasons = append(cr.Reasons, "ignored: doppel decides how the change runs")
	default:
		cr.Algorithm, cr.Rebuild = Copy, true
		cr.raise(NeedsCare, "the plan has no rule for this clause; assumed to copy the table")
	}
	return cr
}

// raise records a reason, lifting the clause's risk to r if r is higher.
func (cr *ClauseReport) raise(r Risk, reason string) {
	cr.Risk = max(cr.Risk, r)
	cr.Reasons = append(cr.Reasons, reason)
}

// order lifts the clause's deployment order: expand-contract wins, and code-first plus migration-first
// together need expand-contract too.
func (cr *ClauseReport) order(o Order) { cr.Order = combineOrders(cr.Order, o) }

func combineOrders(a, b Order) Order {
	switch {
	case a == b || b == AnyOrder:
		return a
	case a == AnyOrder:
		return b
	default:
		return ExpandContract
	}
}

// resolve looks the ops up in the rules table and sets the clause's algorithm to the dearest of them.
// instantOK false means a precondition of INSTANT fails for this table.
func (c *classifier) resolve(cr *ClauseReport, ops []op, instantOK bool) {
	for _, o := range ops {
		cr.Operations = append(cr.Operations, string(o))
		r, ok := lookup(o, c.f, instantOK)
		if !ok {
			cr.Algorithm, cr.Rebuild = Copy, true
			c.noRule(cr, o)
			continue
		}
		cr.Algorithm = max(cr.Algorithm, r.algo)
		cr.Rebuild = cr.Rebuild || r.rebuild
	}
}

// noRule explains a missing rule: the server is older than the table, or it lacks the feature.
func (c *classifier) noRule(cr *ClauseReport, o op) {
	name, ver := c.f.Name(), c.f.Version()
	if (name == "mysql" && !ver.AtLeast(5, 7, 0)) || (name == "mariadb" && !ver.AtLeast(10, 0, 0)) || (name != "mysql" && name != "mariadb") {
		cr.raise(NeedsCare, fmt.Sprintf("no rule for %s on %s %s; assumed to copy the table", o, name, ver))
		return
	}
	var first *dbconn.Version
	for _, r := range rules {
		if r.op == o && r.flavor == name && (first == nil || first.AtLeast(r.since.Major, r.since.Minor, r.since.Patch)) {
			first = &r.since
		}
	}
	if first == nil {
		cr.raise(Refused, fmt.Sprintf("%s does not support %s", name, o))
		return
	}
	cr.raise(Refused, fmt.Sprintf("%s supports %s only from %s; this server is %s", name, o, first, ver))
}

// columnBlocker says why INSTANT cannot add, drop or move columns in this table, or "" when it can.
func (c *classifier) columnBlocker() string {
	switch {
	case strings.EqualFold(c.t.RowFormat, "COMPRESSED"):
		return "INSTANT cannot change columns of a ROW_FORMAT=COMPRESSED table"
	case hasFulltext(c.t):
		return "INSTANT cannot change columns of a table with a FULLTEXT index"
	}
	return ""
}

func (c *classifier) dropPrimaryKey(cr *ClauseReport) {
	if primaryKey(c.t) == nil {
		cr.raise(Refused, "the table has no PRIMARY KEY to drop")
		return
	}
	if c.addsPK {
		cr.raise(NeedsCare, "replaces the PRIMARY KEY: rows are reorganized by the new key")
		cr.order(CodeFirst)
		c.resolve(cr, []op{opReplacePrimaryKey}, true)
		return
	}
	cr.raise(NeedsCare, "drops the PRIMARY KEY: rows can no longer be found by it, and InnoDB falls back to a hidden row id")
	cr.order(CodeFirst)
	c.resolve(cr, []op{opDropPrimaryKey}, true)
}

func (c *classifier) dropIndex(cr *ClauseReport, spec *ast.AlterTableSpec) {
	if strings.EqualFold(spec.Name, "PRIMARY") {
		c.dropPrimaryKey(cr)
		return
	}
	ix := c.t.Index(spec.Name)
	if ix == nil {
		if spec.IfExists {
			cr.Reasons = append(cr.Reasons, fmt.Sprintf("index %s does not exist: IF EXISTS makes this a no-op", sqlbuild.QuoteIdent(spec.Name)))
			return
		}
		cr.raise(Refused, fmt.Sprintf("index %s does not exist", sqlbuild.QuoteIdent(spec.Name)))
		return
	}
	if ix.Unique {
		cr.raise(NeedsCare, fmt.Sprintf("drops UNIQUE key %s: the database stops rejecting duplicates", sqlbuild.QuoteIdent(ix.Name)))
		cr.order(CodeFirst)
	} else {
		cr.Reasons = append(cr.Reasons, "queries that use the index may get slower")
	}
	c.resolve(cr, []op{opDropIndex}, true)
}

func (c *classifier) primaryKeyOp(cr *ClauseReport) op {
	if c.dropsPK {
		return opReplacePrimaryKey
	}
	if primaryKey(c.t) != nil {
		cr.raise(Refused, "the table already has a PRIMARY KEY")
	}
	return opAddPrimaryKey
}

func (c *classifier) addConstraint(cr *ClauseReport, con *ast.Constraint) {
	switch con.Tp {
	case ast.ConstraintPrimaryKey:
		o := c.primaryKeyOp(cr)
		c.newKey(cr, "PRIMARY", con.Keys)
		c.resolve(cr, []op{o}, true)
	case ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex:
		c.newKey(cr, con.Name, con.Keys)
		c.resolve(cr, []op{opAddIndex}, true)
	case ast.ConstraintKey, ast.ConstraintIndex:
		cr.Reasons = append(cr.Reasons, "adds an index; writes get a little slower")
		cr.order(MigrationFirst)
		c.resolve(cr, []op{opAddIndex}, true)
	case ast.ConstraintFulltext:
		cr.Reasons = append(cr.Reasons, "adds a FULLTEXT index")
		cr.order(MigrationFirst)
		c.resolve(cr, []op{opAddFulltext}, true)
		if !hasFulltext(c.t) {
			cr.Rebuild = true
			cr.Reasons = append(cr.Reasons, "the first FULLTEXT index rebuilds the table to add FTS_DOC_ID")
		}
	case ast.ConstraintForeignKey:
		c.resolve(cr, []op{opAddForeignKey}, true)
		cr.raise(Refused, "doppel does not carry foreign keys through the table swap")
	case ast.ConstraintCheck:
		c.resolve(cr, []op{opAddCheck}, true)
		cr.raise(NeedsCare, "every existing row must satisfy the CHECK or the change fails")
		cr.order(CodeFirst)
	default:
		cr.Algorithm, cr.Rebuild = Copy, true
		cr.raise(NeedsCare, "the plan has no rule for this constraint; assumed to copy the table")
	}
}

// newKey records a new UNIQUE or PRIMARY key: risk, deployment order and the duplicate check to run.
func (c *classifier) newKey(cr *ClauseReport, name string, keys []*ast.IndexPartSpecification) {
	kind := "UNIQUE key"
	if name == "PRIMARY" {
		kind = "PRIMARY KEY"
	}
	uc := &uniqueCheck{}
	cols := make([]string, 0, len(keys))
	onlyNew, sameValue := true, false
	for _, k := range keys {
		if k.Column == nil {
			uc.skip, onlyNew = "the key has an expression part", false
			continue
		}
		colName := k.Column.Name.O
		q := sqlbuild.QuoteIdent(colName)
		cols = append(cols, q)
		if def := c.added[strings.ToLower(colName)]; def != nil {
			// Every existing row gets the new column's default, unless it is NULL or AUTO_INCREMENT.
			dflt := optionExpr(def, ast.ColumnOptionDefaultValue)
			if !hasOption(def, ast.ColumnOptionAutoIncrement) &&
				(hasOption(def, ast.ColumnOptionNotNull) || dflt != nil && !isNullDefault(exprSQL(dflt))) {
				sameValue = true
			}
			uc.skip = fmt.Sprintf("the key uses %s, which this ALTER adds", q)
			continue
		}
		onlyNew = false
		col := c.t.Column(colName)
		if old, ok := c.renamed[strings.ToLower(colName)]; ok && (col == nil || c.dropped[strings.ToLower(colName)]) {
			col = c.t.Column(old)
		}
		if col == nil {
			cr.raise(Refused, fmt.Sprintf("column %s does not exist", q))
			continue
		}
		uc.parts = append(uc.parts, c.keyPart(col, k.Length))
	}
	if onlyNew && len(cols) > 0 {
		if sameValue {
			cr.raise(NeedsCare, fmt.Sprintf("adds a %s on new columns every existing row gets the same value of: it fails, or drops rows, once the table holds two rows", kind))
		} else {
			cr.Reasons = append(cr.Reasons, fmt.Sprintf("adds a %s on new columns: existing rows get NULL or new AUTO_INCREMENT values", kind))
		}
		cr.order(MigrationFirst)
		return
	}
	cr.raise(NeedsCare, fmt.Sprintf("adds a %s: rows that duplicate each other now make the copy drop all but one of them", kind))
	cr.order(CodeFirst)
	cr.unique = uc
	cr.Phases = append(cr.Phases,
		fmt.Sprintf("deploy: code never writes two rows with the same (%s)", strings.Join(cols, ", ")),
		"clean up: remove or merge the duplicates that exist now",
		"migration: this ALTER")
}

// keyPart is how a new key compares col: with the charset and collation the same ALTER gives it, if any.
func (c *classifier) keyPart(col *table.Column, prefix int) keyPart {
	p := keyPart{column: col.Name, prefix: prefix}
	if col.Charset == "" {
		return p
	}
	p.charset, p.collation = normCharset(col.Charset), col.Collation
	if def := c.redefined[strings.ToLower(col.Name)]; def != nil {
		old := parseColumnType(col.ColumnType, col.Charset, col.Collation)
		if nt := c.newColumnType(def, old); nt.fam == famString {
			p.charset, p.collation = nt.charset, nt.collation
		}
	}
	return p
}

func (c *classifier) tableOptions(cr *ClauseReport, options []*ast.TableOption) {
	var ops []op
	for _, o := range options {
		switch o.Tp {
		case ast.TableOptionEngine:
			if strings.EqualFold(o.StrValue, c.t.Engine) {
				ops = append(ops, opRebuild)
			} else {
				ops = append(ops, opChangeEngine)
				cr.raise(NeedsCare, fmt.Sprintf("changes the engine from %s to %s: locking, transactions and crash safety change", c.t.Engine, o.StrValue))
			}
		case ast.TableOptionCharset:
			if o.UintValue == ast.TableOptionCharsetWithConvertTo {
				ops = append(ops, opConvertCharset)
				c.convertCharset(cr, o.StrValue)
			} else {
				ops = append(ops, opTableCharset)
				cr.Reasons = append(cr.Reasons, "changes the table's default character set: only columns added later get it")
			}
		case ast.TableOptionCollate:
			ops = append(ops, opTableCharset)
		case ast.TableOptionRowFormat, ast.TableOptionKeyBlockSize:
			ops = append(ops, opRebuild)
		case ast.TableOptionAutoIncrement:
			ops = append(ops, opAutoIncrementValue)
		case ast.TableOptionComment:
			ops = append(ops, opTableComment)
		case ast.TableOptionStatsPersistent, ast.TableOptionStatsAutoRecalc, ast.TableOptionStatsSamplePages:
			ops = append(ops, opTableStats)
		default:
			cr.Algorithm, cr.Rebuild = Copy, true
			cr.raise(NeedsCare, "the plan has no rule for this table option; assumed to copy the table")
		}
	}
	c.resolve(cr, ops, true)
}

// convertCharset judges CONVERT TO CHARACTER SET cs against every string column.
func (c *classifier) convertCharset(cr *ClauseReport, cs string) {
	lossy := []string{}
	for _, col := range c.t.Columns {
		if col.Charset != "" && !charsetHolds(cs, col.Charset) {
			lossy = append(lossy, fmt.Sprintf("%s (%s)", sqlbuild.QuoteIdent(col.Name), normCharset(col.Charset)))
		}
	}
	if len(lossy) > 0 {
		cr.raise(DataLoss, fmt.Sprintf("converts to %s, which cannot store every character of %s", cs, strings.Join(lossy, ", ")))
		return
	}
	cr.raise(NeedsCare, fmt.Sprintf("converts every string column to %s: sorting and comparisons follow the new collation, and TEXT columns may become larger types", cs))
}

// deletePartitions classifies DROP and TRUNCATE PARTITION: the rows go, and the native ALTER is the
// lighter tool unless its metadata lock is the risk.
func (c *classifier) deletePartitions(cr *ClauseReport) {
	c.resolve(cr, []op{opDropPartition}, true)
	cr.raise(DataLoss, "deletes the rows the partitions hold")
	cr.order(CodeFirst)
	cr.Reasons = append(cr.Reasons, "natively no row is copied: the server drops the partitions' files under a short exclusive "+
		"metadata lock, which waits for the longest transaction on the table while every query queues behind it. doppel copies "+
		"the whole table and runs the clause on the copy at the swap, its lock waits bounded by --cut-over-lock-timeout-seconds: "+
		"prefer the native ALTER unless long transactions make that lock a risk")
}

// addsRangePartitions reports whether ADD PARTITION adds RANGE or LIST partitions (each with its
// VALUES), which need no row moved, rather than HASH or KEY ones, whose rows are redistributed.
func addsRangePartitions(spec *ast.AlterTableSpec) bool {
	if spec.Num > 0 || len(spec.PartDefinitions) == 0 {
		return false
	}
	for _, d := range spec.PartDefinitions {
		switch d.Clause.(type) {
		case *ast.PartitionDefinitionClauseLessThan, *ast.PartitionDefinitionClauseIn:
		default:
			return false
		}
	}
	return true
}
