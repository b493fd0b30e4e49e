package binlog

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions for the parser
	"go.uber.org/zap"
)

// assembler turns the events of one binlog connection, in order, into transactions. It does no I/O:
// Run feeds it what go-mysql decodes, and tests feed it events they build.
//
// Every event group (transaction, DDL statement) the server wrote ends in an event whose end
// position is a safe place to resume: an XID event, a COMMIT or ROLLBACK query event, a DDL query
// event, an XA PREPARE. The assembler calls emit at each of them, with a Txn that holds the
// watched changes of the group (often none) and that end position. Positions are never taken from
// events inside a group: resuming there would replay half a transaction.
type assembler struct {
	schema string
	tables map[string]bool
	log    *zap.Logger

	file    string   // binlog file the events come from, set by rotate events
	gtid    string   // the GTID of the open group, "" when it has none
	changes []Change // watched changes of the open group
	// savepoints of the open group, with how many changes existed when each was set, so that a
	// ROLLBACK TO SAVEPOINT can drop the changes made after it.
	savepoints []savepoint
}

type savepoint struct {
	name string
	n    int
}

func newAssembler(schema string, tables map[string]bool, file string, log *zap.Logger) *assembler {
	return &assembler{schema: schema, tables: tables, file: file, log: log}
}

// frame is where an event ends in the binlog and when it was written. Events decoded from inside a
// compressed transaction payload are in the frame of the payload event: the payload is one unit
// in the binlog, and the only place to resume near them is its end.
type frame struct {
	pos  uint32
	time uint32
}

// feed processes one event; emit is called for every event group that ends with it. An error
// means the stream cannot go on safely: a table's changes would be missed or be wrong.
func (a *assembler) feed(ev *replication.BinlogEvent, emit func(Txn) error) error {
	return a.feedIn(ev, frame{pos: ev.Header.LogPos, time: ev.Header.Timestamp}, emit)
}

func (a *assembler) feedIn(ev *replication.BinlogEvent, f frame, emit func(Txn) error) error {
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		// A real rotate ends a file; a fake one (timestamp 0) is sent when a dump starts or moves to
		// the next file, to say which file follows. Both only name the file: the position they
		// carry is where the next event starts, not the end of a transaction, so it is not saved.
		a.discardOpen("rotate")
		a.file = string(e.NextLogName)

	case *replication.FormatDescriptionEvent:
		// Starts every binlog file, so also every restart of the server: a group still open was
		// never committed.
		a.discardOpen("format description")

	case *replication.GTIDEvent, *replication.GtidTaggedLogEvent, *replication.MariadbGTIDEvent:
		// A GTID event (MySQL's anonymous one too) opens the next group. MariaDB writes no BEGIN
		// after it.
		a.discardOpen("gtid")
		a.gtid = gtidOf(ev)

	case *replication.TransactionPayloadEvent:
		// MySQL 8 binlog_transaction_compression: a whole transaction (BEGIN … XID) compressed in
		// one event, decoded by go-mysql into Events. Skipping it would lose every change in it.
		// Its end is the only place to resume near its events, so it must hold one transaction:
		// a second would end at the same position, and a resume there would skip it.
		ended := 0
		once := func(t Txn) error {
			if ended++; ended > 1 {
				return fmt.Errorf("the compressed transaction payload ending at %s holds more than one transaction; MySQL writes one per payload, so the binlog is not what doppel can follow", a.pos(f))
			}
			return emit(t)
		}
		for _, in := range e.Events {
			if err := a.feedIn(in, f, once); err != nil {
				return err
			}
		}

	case *replication.TableMapEvent:
		// go-mysql keeps table maps itself to decode the rows events that follow.

	case *replication.RowsEvent:
		return a.rows(ev.Header.EventType, e)

	case *replication.XIDEvent:
		return a.end(f, emit)

	case *replication.QueryEvent:
		return a.query(e, f, emit)

	case *replication.GenericEvent:
		return a.generic(ev.Header.EventType, f, emit)

	case *replication.ExecuteLoadQueryEvent:
		// LOAD DATA logged as a statement (a session with binlog_format=STATEMENT): the rows it
		// loads are not in the binlog, and the event does not say which table they went to.
		return fmt.Errorf("statement-based LOAD DATA at %s: its rows are not in the binlog (a session wrote with binlog_format other than ROW)", a.at(f))

	case *replication.PreviousGTIDsEvent, *replication.MariadbGTIDListEvent,
		*replication.MariadbBinlogCheckPointEvent, *replication.HeartbeatEvent,
		*replication.IntVarEvent, *replication.BeginLoadQueryEvent:
		// Housekeeping: GTID bookkeeping, keep-alives, and the context of statement-based events.

	case *replication.RowsQueryEvent, *replication.MariadbAnnotateRowsEvent:
		// The SQL text that produced the next rows events: the rows themselves follow. Never logged,
		// it holds user data.

	default:
		a.log.Debug("ignoring an unknown binlog event", zap.Stringer("type", ev.Header.EventType), zap.Stringer("at", a.pos(f)))
	}
	return nil
}

// rows records the changes of a rows event of a watched table.
func (a *assembler) rows(typ replication.EventType, e *replication.RowsEvent) error {
	if e.Table == nil {
		return fmt.Errorf("%s event for table id %d has no table map", typ, e.TableID)
	}
	if string(e.Table.Schema) != a.schema || !a.tables[string(e.Table.Table)] {
		return nil
	}
	table := string(e.Table.Table)
	kind, err := rowsKind(typ)
	if err != nil {
		return fmt.Errorf("table `%s`.`%s`: %w", a.schema, table, err)
	}
	for i := range e.Rows {
		if i < len(e.SkippedColumns) && len(e.SkippedColumns[i]) > 0 {
			// With binlog_row_image MINIMAL or NOBLOB (set by some session), missing columns would
			// read as NULL.
			return fmt.Errorf("table `%s`.`%s`: a %s row image lacks %d of its %d columns: doppel needs binlog_row_image=FULL in every session writing to it",
				a.schema, table, kind, len(e.SkippedColumns[i]), e.ColumnCount)
		}
	}
	if kind == Update {
		if len(e.Rows)%2 != 0 {
			return fmt.Errorf("table `%s`.`%s`: update rows event holds %d images, not before/after pairs", a.schema, table, len(e.Rows))
		}
		for i := 0; i < len(e.Rows); i += 2 {
			a.changes = append(a.changes, Change{Table: table, Kind: Update, Before: e.Rows[i], After: e.Rows[i+1]})
		}
		return nil
	}
	for _, row := range e.Rows {
		c := Change{Table: table, Kind: kind}
		if kind == Insert {
			c.After = row
		} else {
			c.Before = row
		}
		a.changes = append(a.changes, c)
	}
	return nil
}

// rowsKind maps the event types go-mysql decodes into a RowsEvent to the kind of change.
func rowsKind(typ replication.EventType) (Kind, error) {
	switch typ {
	case replication.WRITE_ROWS_EVENTv0, replication.WRITE_ROWS_EVENTv1, replication.WRITE_ROWS_EVENTv2,
		replication.MARIADB_WRITE_ROWS_COMPRESSED_EVENT_V1:
		return Insert, nil
	case replication.UPDATE_ROWS_EVENTv0, replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2,
		replication.MARIADB_UPDATE_ROWS_COMPRESSED_EVENT_V1:
		return Update, nil
	case replication.DELETE_ROWS_EVENTv0, replication.DELETE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv2,
		replication.MARIADB_DELETE_ROWS_COMPRESSED_EVENT_V1:
		return Delete, nil
	case replication.PARTIAL_UPDATE_ROWS_EVENT:
		return 0, errPartialJSON
	}
	return 0, fmt.Errorf("unexpected rows event type %s", typ)
}

// errPartialJSON: with binlog_row_value_options=PARTIAL_JSON, MySQL logs a JSON update as a diff,
// not the full after image.
var errPartialJSON = errors.New("a partial JSON update (binlog_row_value_options=PARTIAL_JSON) has no full after image: doppel needs binlog_row_value_options empty")

// query handles a statement logged as text.
func (a *assembler) query(e *replication.QueryEvent, f frame, emit func(Txn) error) error {
	q := string(e.Query)
	switch verb := firstWords(q); verb {
	case "BEGIN", "XA START":
		a.discardOpen("begin")
	case "COMMIT", "XA COMMIT", "XA ROLLBACK":
		// COMMIT ends a group of non-transactional tables; XA COMMIT / XA ROLLBACK are groups of
		// their own, whose changes came with the XA PREPARE.
		return a.end(f, emit)
	case "ROLLBACK":
		// Written when a transaction that also changed a non-transactional table rolls back: its
		// transactional changes never happened.
		a.changes = nil
		return a.end(f, emit)
	case "SAVEPOINT":
		a.savepoints = append(a.savepoints, savepoint{name: savepointName(q), n: len(a.changes)})
	case "ROLLBACK TO":
		name := savepointName(q)
		for i := len(a.savepoints) - 1; i >= 0; i-- {
			if strings.EqualFold(a.savepoints[i].name, name) {
				a.changes = a.changes[:a.savepoints[i].n]
				a.savepoints = a.savepoints[:i+1]
				return nil
			}
		}
		return fmt.Errorf("ROLLBACK TO SAVEPOINT at %s names a savepoint not set in its transaction", a.at(f))
	case "XA END":
		// The XA transaction's rows are all logged; its group ends with the XA PREPARE event (or
		// the XA COMMIT … ONE PHASE statement) that follows.
	default:
		// DDL, and anything else logged as a statement (account management, FLUSH, ANALYZE, or DML
		// of a session that set binlog_format=STATEMENT, whose rows are not in the binlog). Reported
		// when it ran in the watched schema or names it, so the consumer can tell whether it touches
		// its tables. Others are not an end: a statement can be one of several in a group.
		schema := string(e.Schema)
		if schema != a.schema && !strings.Contains(strings.ToLower(q), strings.ToLower(a.schema)) {
			return nil
		}
		t, err := a.txn(f)
		if err != nil {
			return err
		}
		t.DDL = &DDL{Schema: schema, Query: q}
		// MySQL commits any open transaction before DDL, so a group holds no change before its
		// DDL; should one ever, it goes with the DDL rather than being lost.
		t.Changes = a.changes
		a.reset()
		return emit(t)
	}
	return nil
}

// generic handles the events go-mysql does not decode.
func (a *assembler) generic(typ replication.EventType, f frame, emit func(Txn) error) error {
	switch typ {
	case replication.XA_PREPARE_LOG_EVENT:
		// An XA transaction's changes are logged at XA PREPARE, but it may still roll back (XA
		// ROLLBACK, logged later as a group of its own): they cannot be passed on as committed.
		if len(a.changes) > 0 {
			return fmt.Errorf("XA transaction prepared at %s changed a watched table: XA transactions on the migrated table are not supported", a.at(f))
		}
		return a.end(f, emit)
	case replication.INCIDENT_EVENT:
		// The server lost events here (a replica would stop too): changes may be missing.
		return fmt.Errorf("the binlog records an incident (lost events) at %s: changes may be missing", a.at(f))
	case replication.STOP_EVENT:
		// The server shut down; a group cannot be open.
		a.discardOpen("stop")
	case replication.IGNORABLE_EVENT, replication.TRANSACTION_CONTEXT_EVENT, replication.VIEW_CHANGE_EVENT,
		replication.USER_VAR_EVENT, replication.RAND_EVENT, replication.MARIADB_START_ENCRYPTION_EVENT:
		// Group replication and statement-based context, or nothing the stream needs.
	default:
		a.log.Debug("ignoring an unknown binlog event", zap.Stringer("type", typ), zap.Stringer("at", a.pos(f)))
	}
	return nil
}

// end closes the open group at f and emits it.
func (a *assembler) end(f frame, emit func(Txn) error) error {
	t, err := a.txn(f)
	if err != nil {
		return err
	}
	t.Changes = a.changes
	a.reset()
	return emit(t)
}

// txn is a transaction ending at f, without its contents.
func (a *assembler) txn(f frame) (Txn, error) {
	if f.pos == 0 {
		// MariaDB 11.4+ writes 0 as the end of events inside a transaction; only its group ends
		// carry positions. A 0 here would make the saved position wrong.
		return Txn{}, fmt.Errorf("the binlog event ending a transaction in %s has no end position", a.file)
	}
	t := Txn{End: a.pos(f), Time: time.Unix(int64(f.time), 0).UTC(), GTID: a.gtid}
	a.gtid = ""
	return t, nil
}

// gtidOf is the GTID a GTID event gives its group: "" for MySQL's anonymous ones (gtid_mode OFF).
func gtidOf(ev *replication.BinlogEvent) string {
	switch e := ev.Event.(type) {
	case *replication.MariadbGTIDEvent:
		return e.GTID.String()
	case mysql.BinlogGTIDEvent:
		if ev.Header.EventType == replication.ANONYMOUS_GTID_EVENT {
			return ""
		}
		if next, err := e.GTIDNext(); err == nil {
			return next.String()
		}
	}
	return ""
}

// discardOpen drops the changes of a group that never ended. A new group, a new binlog file or a
// server start means its end was never written: the server crashed while writing it, and the
// transaction was rolled back on recovery.
func (a *assembler) discardOpen(why string) {
	if len(a.changes) > 0 {
		a.log.Warn("discarding the changes of a transaction whose end is not in the binlog",
			zap.Int("changes", len(a.changes)), zap.String("file", a.file), zap.String("next", why))
	}
	a.reset()
}

func (a *assembler) reset() {
	a.changes = nil
	a.savepoints = a.savepoints[:0]
}

func (a *assembler) pos(f frame) Position { return Position{File: a.file, Pos: f.pos} }

func (a *assembler) at(f frame) string { return a.pos(f).String() }

// firstWords returns the upper-cased keyword(s) that say what a statement does to a transaction:
// one word, or two for "XA …" and "ROLLBACK [WORK] TO".
func firstWords(q string) string {
	if len(q) > 64 {
		q = q[:64] // the keywords are at the start; a statement can be megabytes long
	}
	fields := strings.Fields(strings.ToUpper(q))
	if len(fields) == 0 {
		return ""
	}
	w := strings.TrimSuffix(fields[0], ";")
	switch {
	case w == "XA" && len(fields) > 1:
		return "XA " + fields[1]
	case w == "ROLLBACK" && len(fields) > 1 && fields[1] == "TO",
		w == "ROLLBACK" && len(fields) > 2 && fields[1] == "WORK" && fields[2] == "TO":
		return "ROLLBACK TO"
	}
	return w
}

// savepointName returns the savepoint a SAVEPOINT or ROLLBACK TO statement names, read with the SQL
// parser; "" when the statement is neither.
func savepointName(q string) string {
	stmts, _, err := parser.New().Parse(q, "", "")
	if err != nil || len(stmts) != 1 {
		return ""
	}
	switch s := stmts[0].(type) {
	case *ast.SavepointStmt:
		return s.Name
	case *ast.RollbackStmt:
		return s.SavepointName
	}
	return ""
}
