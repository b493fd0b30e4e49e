package migration

import (
	"fmt"
	"strings"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/internal/applier"
	"github.com/doppel-sql/doppel/internal/binlog"
	"github.com/doppel-sql/doppel/internal/changelog"
	"github.com/doppel-sql/doppel/internal/cutover"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// onChangelog is the applier's OnOther: heartbeats tell how far the replay is behind the primary,
// markers tell their waiters that everything before them is applied.
func (r *run) onChangelog(ch binlog.Change) error {
	hint, value, ok := r.changelog.Decode(ch)
	switch {
	case !ok:
	case hint == changelog.HintHeartbeat:
		if beat, err := changelog.ParseHeartbeat(value); err == nil {
			r.binlogLag.Store(int64(max(time.Since(beat), time.Nanosecond)))
		}
	case hint == changelog.HintMarker:
		r.markers.Seen(value)
	}
	return nil
}

// ddlWatch stops the migration when someone else changes the original table while it runs, and
// stops the apply loop quietly at doppel's own RENAME during the cut-over.
type ddlWatch struct {
	schema, table string
	server        *alter.Server  // the primary, whose rules (executable comments, syntax) the statements follow
	guard         *cutover.Guard // knows doppel's own RENAME
	warn          func(msg string, err error)
	// ownTrigger, when set, knows the triggers doppel creates and drops on the ghost (triggers.go):
	// the trigger schema.name, on table when a CREATE says it.
	ownTrigger func(schema, name, table string) bool
}

func (w *ddlWatch) onDDL(d binlog.DDL) error {
	if schema, name, table, ok := alter.TriggerDDL(d.Query, w.server); ok && w.ownTrigger != nil {
		if schema == "" {
			schema = d.Schema
		}
		if w.ownTrigger(schema, name, table) {
			return nil
		}
	}
	stmts, err := alter.ParseLogged(d.Query, w.server)
	if err != nil {
		// A statement the parser cannot read is judged by the names it holds: one that names the
		// migrated table may have changed it.
		if alter.Mentions(d.Query, w.table, w.server) {
			return fmt.Errorf("a statement doppel cannot read names %s (%w): another session may have changed the table during the migration, and doppel stopped; the original table was not touched by doppel. Run doppel again once that change is done: %w",
				sqlbuild.QualifiedName(w.schema, w.table), err, errTableChanged)
		}
		w.warn("a DDL statement in the binlog could not be parsed; it does not name the migrated table", err)
		return nil
	}
	for _, stmt := range stmts {
		if !w.touches(stmt, d.Schema) {
			continue
		}
		if rename, ok := stmt.(*ast.RenameTableStmt); ok && w.guard.OwnRename(renamePairs(rename, d.Schema)) {
			return applier.ErrStop
		}
		return fmt.Errorf("another session changed %s during the migration (%s): doppel stopped; the original table was not touched. Run doppel again once that change is done: %w",
			sqlbuild.QualifiedName(w.schema, w.table), statementKind(stmt), errTableChanged)
	}
	return nil
}

// touches reports whether stmt changes the original table: its definition (ALTER, DROP, RENAME,
// TRUNCATE, CREATE or DROP INDEX, CREATE of the same name) or, for DML logged as a statement, its
// rows. A statement that only reads it, such as CREATE TABLE … LIKE it, does not count: doppel's
// own ghost table is created that way, and on a replica the stream may see that statement.
func (w *ddlWatch) touches(stmt ast.StmtNode, defaultSchema string) bool {
	var targets []*ast.TableName
	switch s := stmt.(type) {
	case *ast.AlterTableStmt:
		targets = []*ast.TableName{s.Table}
	case *ast.DropTableStmt:
		targets = s.Tables
	case *ast.RenameTableStmt:
		for _, tt := range s.TableToTables {
			targets = append(targets, tt.OldTable, tt.NewTable)
		}
	case *ast.TruncateTableStmt:
		targets = []*ast.TableName{s.Table}
	case *ast.CreateTableStmt:
		targets = []*ast.TableName{s.Table}
	case *ast.CreateIndexStmt:
		targets = []*ast.TableName{s.Table}
	case *ast.DropIndexStmt:
		targets = []*ast.TableName{s.Table}
	case *ast.InsertStmt, *ast.UpdateStmt, *ast.DeleteStmt:
		// Row changes logged as statements cannot be replayed: any table they name counts.
		v := &tableNames{}
		stmt.Accept(v)
		targets = v.names
	}
	for _, tn := range targets {
		if tn == nil {
			continue
		}
		schema := tn.Schema.O
		if schema == "" {
			schema = defaultSchema
		}
		if schema == w.schema && tn.Name.O == w.table {
			return true
		}
	}
	return false
}

// renamePairs returns the (from, to) pairs of a RENAME TABLE, each as (schema, name), the schema
// defaulted to the statement's.
func renamePairs(s *ast.RenameTableStmt, defaultSchema string) [][2][2]string {
	qualify := func(tn *ast.TableName) [2]string {
		if tn.Schema.O == "" {
			return [2]string{defaultSchema, tn.Name.O}
		}
		return [2]string{tn.Schema.O, tn.Name.O}
	}
	var out [][2][2]string
	for _, tt := range s.TableToTables {
		out = append(out, [2][2]string{qualify(tt.OldTable), qualify(tt.NewTable)})
	}
	return out
}

type tableNames struct{ names []*ast.TableName }

func (v *tableNames) Enter(n ast.Node) (ast.Node, bool) {
	if tn, ok := n.(*ast.TableName); ok {
		v.names = append(v.names, tn)
	}
	return n, false
}

func (v *tableNames) Leave(n ast.Node) (ast.Node, bool) { return n, true }

func statementKind(stmt ast.StmtNode) string {
	kind := fmt.Sprintf("%T", stmt)
	kind = strings.TrimPrefix(kind, "*ast.")
	return strings.TrimSuffix(kind, "Stmt")
}
