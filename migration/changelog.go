package migration

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/applier"
	"github.com/doppel-sql/doppel/binlog"
	"github.com/doppel-sql/doppel/sqlbuild"
)

// The changelog table `_T_ghc` carries doppel's own signals through the binlog: a marker row
// written on the primary comes back through the stream after every change committed before it.
const (
	changelogDDL = `CREATE TABLE %s (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  last_update TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  hint VARCHAR(64) CHARACTER SET ascii NOT NULL,
  value MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY hint_uidx (hint)
) ENGINE=InnoDB COMMENT='doppel changelog'`
	changelogHintCol  = 2 // position of hint in a row image
	changelogValueCol = 3
	hintMarker        = "marker"
	// hintHeartbeat is the row the throttler writes its heartbeat to (RFC 3339 time, UTC).
	hintHeartbeat = "heartbeat"
)

// markers implements cutover.CatchUp: it writes a marker to the changelog and waits until the apply
// loop has passed it, which means everything committed before is in the ghost.
type markers struct {
	db        *sql.DB // the primary
	changelog string  // qualified name
	table     string  // unqualified, as the binlog names it
	seq       atomic.Int64

	mu      sync.Mutex
	waiting map[string]chan struct{}
}

func newMarkers(db *sql.DB, schema, changelog string) *markers {
	return &markers{db: db, changelog: sqlbuild.QualifiedName(schema, changelog), table: changelog, waiting: map[string]chan struct{}{}}
}

// CatchUp returns once the apply loop has applied every change committed before it was called.
func (m *markers) CatchUp(ctx context.Context) error {
	token := fmt.Sprintf("%d.%d", os.Getpid(), m.seq.Add(1))
	seen := make(chan struct{})
	m.mu.Lock()
	m.waiting[token] = seen
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.waiting, token)
		m.mu.Unlock()
	}()
	_, err := m.db.ExecContext(ctx, "INSERT INTO "+m.changelog+" (hint, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)", hintMarker, token)
	if err != nil {
		return fmt.Errorf("writing a marker to the changelog: %w", err)
	}
	select {
	case <-seen:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the replay to reach the marker: %w", ctx.Err())
	}
}

// onChange is the applier's OnOther: it is called, in binlog order, after every change before it
// has been applied.
func (m *markers) onChange(ch binlog.Change) error {
	if ch.Table != m.table || ch.After == nil || len(ch.After) <= changelogValueCol {
		return nil
	}
	if text(ch.After[changelogHintCol]) != hintMarker {
		return nil
	}
	token := text(ch.After[changelogValueCol])
	m.mu.Lock()
	defer m.mu.Unlock()
	if seen, ok := m.waiting[token]; ok {
		close(seen)
		delete(m.waiting, token)
	}
	return nil
}

// onChangelog is the applier's OnOther: heartbeats tell how far the replay is behind the primary,
// markers tell their waiters that everything before them is applied.
func (r *run) onChangelog(ch binlog.Change) error {
	if ch.Table == r.markers.table && len(ch.After) > changelogValueCol && text(ch.After[changelogHintCol]) == hintHeartbeat {
		if beat, err := time.Parse(time.RFC3339Nano, text(ch.After[changelogValueCol])); err == nil {
			r.binlogLag.Store(int64(max(time.Since(beat), time.Nanosecond)))
		}
		return nil
	}
	return r.markers.onChange(ch)
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

// ddlWatch stops the migration when someone else changes the original table while it runs, and
// stops the apply loop quietly at doppel's own RENAME during the cut-over.
type ddlWatch struct {
	schema, table string
	server        *alter.Server // the primary, whose rules (executable comments, syntax) the statements follow
	swapping      atomic.Bool   // set just before doppel's own RENAME
	warn          func(msg string, err error)
}

func (w *ddlWatch) onDDL(d binlog.DDL) error {
	stmts, err := alter.ParseLogged(d.Query, w.server)
	if err != nil {
		// A statement the parser cannot read is judged by the names it holds: one that names the
		// migrated table may have changed it.
		if alter.Mentions(d.Query, w.table, w.server) {
			return fmt.Errorf("a statement doppel cannot read names %s (%v): another session may have changed the table during the migration, and doppel stopped; the original table was not touched by doppel. Run doppel again once that change is done: %w",
				sqlbuild.QualifiedName(w.schema, w.table), err, errTableChanged)
		}
		w.warn("a DDL statement in the binlog could not be parsed; it does not name the migrated table", err)
		return nil
	}
	for _, stmt := range stmts {
		if !w.touches(stmt, d.Schema) {
			continue
		}
		if _, isRename := stmt.(*ast.RenameTableStmt); isRename && w.swapping.Load() {
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
