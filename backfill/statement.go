package backfill

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// Kind is what a backfill statement does.
type Kind string

const (
	// Update is UPDATE t SET … [WHERE …].
	Update Kind = "UPDATE"
	// InsertSelect is INSERT [IGNORE] INTO other … SELECT … FROM t [WHERE …] [ON DUPLICATE KEY UPDATE …]
	// (or REPLACE INTO other … SELECT …).
	InsertSelect Kind = "INSERT … SELECT"
)

// Statement is a backfill statement as doppel runs it, one key range at a time.
type Statement struct {
	Kind Kind
	// Schema and Table name the table the statement reads and is chunked along (Schema is the
	// --database when the statement does not qualify the name).
	Schema, Table string
	// Target is the table an INSERT … SELECT writes ("" for an UPDATE, which writes Table).
	TargetSchema, Target string
	// Assigned are the columns an UPDATE sets: none may be a column of the key the chunks follow.
	Assigned []string
	// Text is the statement without its comments, as it runs with the range added.
	Text string
	// Where is the statement's own condition, "" when it has none.
	Where string

	// The key range goes at whereAt, before the statement's own condition (which ends at whereEnd),
	// or, when there is none, a WHERE is inserted at whereAt.
	whereAt, whereEnd int
	hasWhere          bool
	alias             string // the table's alias in the statement, "" when none
	canonical         string // for the hash: the parse tree restored, so spacing and case do not matter
}

// Parse reads a backfill statement for the server srv (its character sets; alter.ReadServer) and
// refuses, before anything runs, what cannot be run in key-range chunks with the same result as
// the whole statement: several tables, ORDER BY or LIMIT (they pick rows across the whole table),
// GROUP BY, DISTINCT and aggregates (they combine rows of several chunks), a statement that is not
// an UPDATE or an INSERT … SELECT. database is the schema of an unqualified table name.
// The key's own refusal (an UPDATE of the key's columns) needs the table: CheckKey.
func Parse(text, database string, srv *alter.Server) (*Statement, error) {
	clean, toks, err := scan(text)
	if err != nil {
		return nil, err
	}
	// Token offsets follow the text: shift them past the blanks (a comment, a directive line) cut
	// from its start.
	trimmed := strings.TrimLeft(clean, " \t\r\n")
	for i := range toks {
		toks[i].start -= len(clean) - len(trimmed)
		toks[i].end -= len(clean) - len(trimmed)
	}
	clean = strings.TrimRight(trimmed, "; \t\r\n")
	if clean == "" {
		return nil, errors.New("the backfill statement is empty: give an UPDATE or an INSERT … SELECT, such as --sql=\"UPDATE t SET c = a + 1 WHERE c IS NULL\"")
	}
	for len(toks) > 0 && toks[len(toks)-1].start >= len(clean) {
		toks = toks[:len(toks)-1]
	}
	stmts, err := alter.ParseLogged(clean, srv)
	if err != nil {
		return nil, fmt.Errorf("cannot parse the backfill statement: %w. doppel reads it with the TiDB SQL parser, which knows MySQL syntax; check the statement", err)
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("the backfill holds %d statements: give one UPDATE or INSERT … SELECT per backfill", len(stmts))
	}
	s := &Statement{Text: clean, canonical: restore(stmts[0], clean)}
	switch st := stmts[0].(type) {
	case *ast.UpdateStmt:
		err = s.readUpdate(st, toks, database)
	case *ast.InsertStmt:
		err = s.readInsert(st, toks, database)
	case *ast.DeleteStmt:
		err = errors.New("doppel backfill runs an UPDATE or an INSERT … SELECT; a DELETE is not supported yet: delete in batches natively, or with pt-archiver")
	default:
		err = errors.New("a backfill is an UPDATE of one table (UPDATE t SET … WHERE …) or an INSERT … SELECT from one (INSERT INTO other … SELECT … FROM t WHERE …); this statement is neither")
	}
	if err != nil {
		return nil, err
	}
	if s.hasWhere {
		s.Where = strings.TrimSpace(clean[s.whereAt:s.whereEnd])
	}
	return s, nil
}

func (s *Statement) readUpdate(st *ast.UpdateStmt, toks []token, database string) error {
	s.Kind = Update
	switch {
	case st.With != nil:
		return errors.New("the UPDATE has a WITH clause: doppel cannot tell what a common table expression reads in each chunk; write the condition as a subquery in the WHERE clause")
	case st.MultipleTable || st.TableRefs == nil || st.TableRefs.TableRefs == nil || st.TableRefs.TableRefs.Right != nil:
		return errors.New("the UPDATE names several tables: doppel chunks one table along its key; write it as UPDATE t SET … WHERE … with the other tables in subqueries, or run it natively")
	case st.Order != nil:
		return errors.New("the UPDATE has ORDER BY: the order runs across the whole table, not within a chunk; leave it out (each chunk is one range of the key, done in key order)")
	case st.Limit != nil:
		return errors.New("the UPDATE has LIMIT: a limit would apply to every chunk, not to the statement; leave it out and narrow the WHERE clause instead")
	}
	if err := s.readSource(st.TableRefs.TableRefs.Left, database); err != nil {
		return err
	}
	for _, a := range st.List {
		if a.Column.Table.O != "" && !strings.EqualFold(a.Column.Table.O, s.Table) && !strings.EqualFold(a.Column.Table.O, s.alias) {
			return fmt.Errorf("the UPDATE sets %s.%s, a column of another table: doppel chunks one table", a.Column.Table.O, a.Column.Name.O)
		}
		s.Assigned = append(s.Assigned, a.Column.Name.O)
	}
	set := find(toks, 0, "SET", "")
	if set < 0 {
		return errors.New("cannot find the SET of the UPDATE")
	}
	return s.locateWhere(toks, set, st.Where != nil, -1)
}

func (s *Statement) readInsert(st *ast.InsertStmt, toks []token, database string) error {
	s.Kind = InsertSelect
	if st.Select == nil {
		return errors.New("the INSERT has no SELECT: a backfill INSERT copies rows of one table into another (INSERT INTO other … SELECT … FROM t WHERE …); run an INSERT … VALUES natively")
	}
	sel, ok := st.Select.(*ast.SelectStmt)
	switch {
	case !ok:
		return errors.New("the INSERT selects with UNION, INTERSECT or EXCEPT: doppel chunks one table; run one backfill per SELECT")
	case sel.IsInBraces:
		return errors.New("the INSERT's SELECT is in parentheses: write it without them, so doppel can add the key range to its WHERE clause")
	case sel.Kind != ast.SelectStmtKindSelect:
		return errors.New("the INSERT does not read a table with SELECT … FROM: a backfill copies rows of one table")
	case sel.With != nil:
		return errors.New("the SELECT has a WITH clause: doppel cannot tell what a common table expression reads in each chunk; write the condition as a subquery in the WHERE clause")
	case sel.From == nil || sel.From.TableRefs == nil:
		return errors.New("the SELECT reads no table: a backfill copies rows of one table (… SELECT … FROM t WHERE …)")
	case sel.From.TableRefs.Right != nil:
		return errors.New("the SELECT joins several tables: doppel chunks one table along its key; put the other tables in subqueries, or run it natively")
	case sel.Distinct:
		return errors.New("the SELECT has DISTINCT: rows of different chunks are not compared with each other, so duplicates across chunks would be inserted; leave it out, or run it natively")
	case sel.GroupBy != nil || sel.Having != nil || hasAggregate(sel.Fields):
		return errors.New("the SELECT groups rows (GROUP BY, HAVING or an aggregate function): each chunk would make its own groups; run it natively")
	case sel.OrderBy != nil:
		return errors.New("the SELECT has ORDER BY: the order runs across the whole table, not within a chunk; leave it out (chunks are done in key order)")
	case sel.Limit != nil:
		return errors.New("the SELECT has LIMIT: a limit would apply to every chunk, not to the statement; leave it out and narrow the WHERE clause instead")
	case len(sel.WindowSpecs) > 0 || hasWindow(sel.Fields):
		return errors.New("the SELECT uses window functions: each chunk would see only its own rows; run it natively")
	case sel.LockInfo != nil && sel.LockInfo.LockType != ast.SelectLockNone:
		return errors.New("the SELECT has a locking clause (FOR UPDATE, LOCK IN SHARE MODE): leave it out; each chunk is its own transaction")
	case sel.SelectIntoOpt != nil:
		return errors.New("the SELECT writes INTO a file or variables: a backfill inserts into a table")
	}
	if err := s.readSource(sel.From.TableRefs.Left, database); err != nil {
		return err
	}
	target, ok := st.Table.TableRefs.Left.(*ast.TableSource)
	var name *ast.TableName
	if ok {
		name, ok = target.Source.(*ast.TableName)
	}
	if !ok {
		return errors.New("cannot read the table the INSERT writes")
	}
	s.TargetSchema, s.Target = name.Schema.O, name.Name.O
	if s.TargetSchema == "" {
		s.TargetSchema = database
	}
	if strings.EqualFold(s.TargetSchema, s.Schema) && strings.EqualFold(s.Target, s.Table) {
		return errors.New("the INSERT … SELECT writes the table it reads: chunks would read rows earlier chunks inserted; insert into another table")
	}
	// The SELECT is the first SELECT at depth 0; its WHERE ends where ON DUPLICATE KEY UPDATE starts.
	sel0 := find(toks, 0, "SELECT", "")
	if sel0 < 0 {
		return errors.New("cannot find the SELECT of the INSERT")
	}
	return s.locateWhere(toks, sel0, sel.Where != nil, find(toks, sel0, "ON", "DUPLICATE"))
}

// readSource reads the one table the statement reads and is chunked along.
func (s *Statement) readSource(node ast.ResultSetNode, database string) error {
	src, ok := node.(*ast.TableSource)
	if !ok {
		return errors.New("the statement does not read one plain table: doppel chunks one table along its key")
	}
	name, ok := src.Source.(*ast.TableName)
	if !ok {
		return errors.New("the statement reads a derived table or a subquery in FROM: doppel chunks one base table along its key; name the table itself")
	}
	s.Schema, s.Table, s.alias = name.Schema.O, name.Name.O, src.AsName.O
	if s.Schema == "" {
		s.Schema = database
	}
	if s.Schema == "" {
		return fmt.Errorf("the statement names table %s without a database: give --database, or qualify the name", sqlbuild.QuoteIdent(s.Table))
	}
	return nil
}

// locateWhere finds, from token from on, the statement's own top-level WHERE (the parser says
// whether there is one) and where its condition ends: at token end (ON DUPLICATE KEY UPDATE), or
// at the end of the text when end < 0.
func (s *Statement) locateWhere(toks []token, from int, parsed bool, end int) error {
	s.whereEnd = len(s.Text)
	if end >= 0 {
		s.whereEnd = toks[end].start
	}
	w := find(toks, from, "WHERE", "")
	if w >= 0 && end >= 0 && w > end {
		w = -1
	}
	if (w >= 0) != parsed {
		return errors.New("cannot find the statement's WHERE clause in its text: write the statement without unusual quoting, or run it natively")
	}
	s.hasWhere = parsed
	if parsed {
		s.whereAt = toks[w].end
	} else {
		s.whereAt = s.whereEnd
	}
	return nil
}

// CheckKey refuses an UPDATE that sets a column of the key the chunks follow: a row whose key
// changes moves to another chunk, which may be done already (it would be missed) or still to come
// (it would be updated twice).
func (s *Statement) CheckKey(key []string) error {
	for _, a := range s.Assigned {
		for _, k := range key {
			if strings.EqualFold(a, k) {
				return fmt.Errorf("the UPDATE sets %s, a column of the key doppel chunks %s along (%s): a row whose key changes moves into another chunk, where it would be missed or updated twice; update the key natively, or in a migration", sqlbuild.QuoteIdent(a), sqlbuild.QualifiedName(s.Schema, s.Table), sqlbuild.QuoteIdents(key))
			}
		}
	}
	return nil
}

// Chunk returns the statement limited to the rows for which rng (a condition over the key's
// columns, as sqlbuild writes it) holds, ANDed before the statement's own condition.
func (s *Statement) Chunk(rng string) string {
	if !s.hasWhere {
		return strings.TrimSpace(s.Text[:s.whereAt]) + " WHERE " + rng + tail(s.Text[s.whereAt:])
	}
	return s.Text[:s.whereAt] + " (" + rng + ") AND (" + strings.TrimSpace(s.Text[s.whereAt:s.whereEnd]) + ")" + tail(s.Text[s.whereEnd:])
}

// Count returns the SELECT COUNT(*) of the rows of a range that the statement would touch (UPDATE)
// or read (INSERT … SELECT): the rows its WHERE clause matches.
func (s *Statement) Count(rng string) string {
	from := sqlbuild.QualifiedName(s.Schema, s.Table)
	if s.alias != "" {
		from += " AS " + sqlbuild.QuoteIdent(s.alias)
	}
	q := "SELECT COUNT(*) FROM " + from + " WHERE "
	if rng == "" && !s.hasWhere {
		return "SELECT COUNT(*) FROM " + from
	}
	switch {
	case rng == "":
		return q + s.Where
	case !s.hasWhere:
		return q + rng
	}
	return q + "(" + rng + ") AND (" + s.Where + ")"
}

func tail(s string) string {
	if s = strings.TrimSpace(s); s == "" {
		return ""
	}
	return " " + s
}

// Hash identifies the statement for its checkpoint: the same statement on the same table, however
// spaced, commented or capitalised, has the same hash.
func (s *Statement) Hash() string {
	sum := sha256.Sum256([]byte(s.Schema + "\x00" + s.canonical))
	return hex.EncodeToString(sum[:8])
}

// restore renders the parse tree back to SQL, only to compare statements; doppel never runs it.
func restore(node ast.Node, fallback string) string {
	var b strings.Builder
	flags := format.RestoreStringSingleQuotes | format.RestoreKeyWordUppercase | format.RestoreNameBackQuotes
	if err := node.Restore(format.NewRestoreCtx(flags, &b)); err != nil {
		return fallback
	}
	return b.String()
}

// hasAggregate reports whether a selected expression aggregates rows (outside subqueries, which
// aggregate their own rows).
func hasAggregate(fields *ast.FieldList) bool {
	return anyField(fields, func(n ast.Node) bool { _, ok := n.(*ast.AggregateFuncExpr); return ok })
}

// hasWindow reports whether a selected expression is a window function.
func hasWindow(fields *ast.FieldList) bool {
	return anyField(fields, func(n ast.Node) bool { _, ok := n.(*ast.WindowFuncExpr); return ok })
}

func anyField(fields *ast.FieldList, match func(ast.Node) bool) bool {
	if fields == nil {
		return false
	}
	v := &finder{match: match}
	for _, f := range fields.Fields {
		if f.Expr != nil {
			f.Expr.Accept(v)
		}
	}
	return v.found
}

// finder looks for a node match accepts, not descending into subqueries.
type finder struct {
	match func(ast.Node) bool
	found bool
}

func (f *finder) Enter(n ast.Node) (ast.Node, bool) {
	if _, sub := n.(*ast.SubqueryExpr); sub {
		return n, true
	}
	if f.match(n) {
		f.found = true
	}
	return n, f.found
}

func (f *finder) Leave(n ast.Node) (ast.Node, bool) { return n, true }
