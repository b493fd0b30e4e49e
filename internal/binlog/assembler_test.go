package binlog

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
)

// Events as go-mysql delivers them, built by hand. Positions are end positions (LogPos); the
// timestamp is fixed unless a test says otherwise.

const evTime = 1700000000

func event(typ replication.EventType, pos uint32, e replication.Event) *replication.BinlogEvent {
	return &replication.BinlogEvent{Header: &replication.EventHeader{EventType: typ, LogPos: pos, Timestamp: evTime}, Event: e}
}

func fakeRotate(file string, pos uint64) *replication.BinlogEvent {
	ev := event(replication.ROTATE_EVENT, 0, &replication.RotateEvent{NextLogName: []byte(file), Position: pos})
	ev.Header.Timestamp = 0
	return ev
}

func realRotate(at uint32, next string) *replication.BinlogEvent {
	return event(replication.ROTATE_EVENT, at, &replication.RotateEvent{NextLogName: []byte(next), Position: 4})
}

func fde() *replication.BinlogEvent {
	return event(replication.FORMAT_DESCRIPTION_EVENT, 0, &replication.FormatDescriptionEvent{Version: 4})
}

func anonGTID(pos uint32) *replication.BinlogEvent {
	return event(replication.ANONYMOUS_GTID_EVENT, pos, &replication.GTIDEvent{})
}

func mariaGTID(pos uint32) *replication.BinlogEvent {
	return event(replication.MARIADB_GTID_EVENT, pos, &replication.MariadbGTIDEvent{})
}

func query(pos uint32, schema, q string) *replication.BinlogEvent {
	return event(replication.QUERY_EVENT, pos, &replication.QueryEvent{Schema: []byte(schema), Query: []byte(q)})
}

func xid(pos uint32) *replication.BinlogEvent {
	return event(replication.XID_EVENT, pos, &replication.XIDEvent{XID: 1})
}

func tableMap(pos uint32, schema, table string) *replication.BinlogEvent {
	return event(replication.TABLE_MAP_EVENT, pos, &replication.TableMapEvent{TableID: 1, Schema: []byte(schema), Table: []byte(table)})
}

func rowsEv(typ replication.EventType, pos uint32, schema, table string, rows ...[]any) *replication.BinlogEvent {
	return event(typ, pos, &replication.RowsEvent{
		Table:       &replication.TableMapEvent{Schema: []byte(schema), Table: []byte(table)},
		ColumnCount: uint64(len(rows[0])),
		Rows:        rows,
	})
}

func insertRows(pos uint32, table string, rows ...[]any) *replication.BinlogEvent {
	return rowsEv(replication.WRITE_ROWS_EVENTv2, pos, "db", table, rows...)
}

func row(v ...any) []any { return v }

func generic(typ replication.EventType, pos uint32) *replication.BinlogEvent {
	return event(typ, pos, &replication.GenericEvent{})
}

func payload(pos uint32, inner ...*replication.BinlogEvent) *replication.BinlogEvent {
	return event(replication.TRANSACTION_PAYLOAD_EVENT, pos, &replication.TransactionPayloadEvent{CompressionType: replication.ZSTD, Events: inner})
}

func at(file string, pos uint32) Position { return Position{File: file, Pos: pos} }

func txn(end Position, changes ...Change) Txn {
	return Txn{End: end, Changes: changes, Time: time.Unix(evTime, 0).UTC()}
}

func ins(table string, after ...any) Change {
	return Change{Table: table, Kind: Insert, After: after}
}

const f1, f2 = "binlog.000001", "binlog.000002"

func TestAssembler(t *testing.T) {
	tests := []struct {
		name    string
		events  []*replication.BinlogEvent
		want    []Txn  // every group end, with or without watched changes
		wantErr string // part of the error feed returns
	}{
		{
			name: "mysql insert, with the housekeeping of a new connection",
			events: []*replication.BinlogEvent{
				fakeRotate(f1, 4), fde(),
				event(replication.PREVIOUS_GTIDS_EVENT, 0, &replication.PreviousGTIDsEvent{}),
				anonGTID(200), query(280, "db", "BEGIN"), tableMap(330, "db", "t"),
				event(replication.ROWS_QUERY_EVENT, 360, &replication.RowsQueryEvent{Query: []byte("INSERT INTO t VALUES (1, 'secret')")}),
				insertRows(400, "t", row(int32(1), "a"), row(int32(2), nil)),
				xid(431),
			},
			want: []Txn{txn(at(f1, 431), ins("t", int32(1), "a"), ins("t", int32(2), nil))},
		},
		{
			name: "update rows come in before/after pairs, one change per row",
			events: []*replication.BinlogEvent{
				query(100, "db", "BEGIN"),
				rowsEv(replication.UPDATE_ROWS_EVENTv2, 200, "db", "t",
					row(int32(1), "a"), row(int32(1), "b"),
					row(int32(2), "c"), row(int32(20), "d")),
				xid(231),
			},
			want: []Txn{txn(at(f1, 231),
				Change{Table: "t", Kind: Update, Before: row(int32(1), "a"), After: row(int32(1), "b")},
				Change{Table: "t", Kind: Update, Before: row(int32(2), "c"), After: row(int32(20), "d")},
			)},
		},
		{
			name: "v1 rows events and deletes",
			events: []*replication.BinlogEvent{
				query(100, "db", "BEGIN"),
				rowsEv(replication.WRITE_ROWS_EVENTv1, 150, "db", "t", row(int32(3))),
				rowsEv(replication.UPDATE_ROWS_EVENTv1, 200, "db", "t", row(int32(3)), row(int32(4))),
				rowsEv(replication.DELETE_ROWS_EVENTv1, 250, "db", "t", row(int32(4))),
				xid(281),
			},
			want: []Txn{txn(at(f1, 281),
				ins("t", int32(3)),
				Change{Table: "t", Kind: Update, Before: row(int32(3)), After: row(int32(4))},
				Change{Table: "t", Kind: Delete, Before: row(int32(4))},
			)},
		},
		{
			name: "rows of other tables and of a same-named table in another schema are left out",
			events: []*replication.BinlogEvent{
				query(100, "db", "BEGIN"),
				insertRows(150, "other", row(int32(9))),
				rowsEv(replication.WRITE_ROWS_EVENTv2, 200, "db2", "t", row(int32(8))),
				rowsEv(replication.DELETE_ROWS_EVENTv2, 250, "db", "t3", row(int32(7))),
				insertRows(300, "t", row(int32(1))),
				xid(331),
			},
			want: []Txn{txn(at(f1, 331), ins("t", int32(1)))},
		},
		{
			name: "a second watched table",
			events: []*replication.BinlogEvent{
				query(100, "db", "BEGIN"),
				insertRows(150, "t", row(int32(1))),
				insertRows(200, "t2", row(int32(2))),
				xid(231),
			},
			want: []Txn{txn(at(f1, 231), ins("t", int32(1)), ins("t2", int32(2)))},
		},
		{
			name: "a transaction of other tables still ends, with no changes",
			events: []*replication.BinlogEvent{
				anonGTID(100), query(150, "db", "BEGIN"), insertRows(200, "other", row(int32(1))), xid(231),
			},
			want: []Txn{txn(at(f1, 231))},
		},
		{
			name: "mariadb: GTID opens the group, compressed rows, XID ends it",
			events: []*replication.BinlogEvent{
				fakeRotate(f1, 4), fde(),
				event(replication.MARIADB_GTID_LIST_EVENT, 0, &replication.MariadbGTIDListEvent{}),
				event(replication.MARIADB_BINLOG_CHECKPOINT_EVENT, 0, &replication.MariadbBinlogCheckPointEvent{Info: []byte(f1)}),
				mariaGTID(300),
				event(replication.MARIADB_ANNOTATE_ROWS_EVENT, 360, &replication.MariadbAnnotateRowsEvent{Query: []byte("UPDATE t SET secret = 1")}),
				tableMap(400, "db", "t"),
				rowsEv(replication.MARIADB_WRITE_ROWS_COMPRESSED_EVENT_V1, 450, "db", "t", row(int32(1))),
				rowsEv(replication.MARIADB_UPDATE_ROWS_COMPRESSED_EVENT_V1, 500, "db", "t", row(int32(1)), row(int32(2))),
				rowsEv(replication.MARIADB_DELETE_ROWS_COMPRESSED_EVENT_V1, 550, "db", "t", row(int32(2))),
				xid(581),
			},
			want: []Txn{txn(at(f1, 581),
				ins("t", int32(1)),
				Change{Table: "t", Kind: Update, Before: row(int32(1)), After: row(int32(2))},
				Change{Table: "t", Kind: Delete, Before: row(int32(2))},
			)},
		},
		{
			name: "non-transactional tables end with a COMMIT query",
			events: []*replication.BinlogEvent{
				mariaGTID(100), insertRows(200, "t", row(int32(1))), query(260, "db", "COMMIT"),
			},
			want: []Txn{txn(at(f1, 260), ins("t", int32(1)))},
		},
		{
			name: "mysql 8 compressed transaction: inner events as if inline, ending at the payload's end",
			events: []*replication.BinlogEvent{
				event(replication.GTID_EVENT, 200, &replication.GTIDEvent{GNO: 5}),
				payload(900,
					query(0, "db", "BEGIN"),
					tableMap(0, "db", "t"),
					insertRows(0, "t", row(int32(1)), row(int32(2))),
					rowsEv(replication.UPDATE_ROWS_EVENTv2, 0, "db", "t", row(int32(2)), row(int32(3))),
					insertRows(0, "other", row(int32(4))),
					xid(0),
				),
				anonGTID(950), query(1000, "db", "BEGIN"), insertRows(1100, "t", row(int32(5))), xid(1131),
			},
			want: []Txn{
				txn(at(f1, 900), ins("t", int32(1)), ins("t", int32(2)),
					Change{Table: "t", Kind: Update, Before: row(int32(2)), After: row(int32(3))}),
				txn(at(f1, 1131), ins("t", int32(5))),
			},
		},
		{
			name: "rotate changes the file of the positions that follow; a fake rotate only names the file",
			events: []*replication.BinlogEvent{
				query(100, "db", "BEGIN"), insertRows(200, "t", row(int32(1))), xid(231),
				realRotate(275, f2),
				fakeRotate(f2, 4), fde(),
				event(replication.PREVIOUS_GTIDS_EVENT, 155, &replication.PreviousGTIDsEvent{}),
				query(250, "db", "BEGIN"), insertRows(300, "t", row(int32(2))), xid(331),
			},
			want: []Txn{txn(at(f1, 231), ins("t", int32(1))), txn(at(f2, 331), ins("t", int32(2)))},
		},
		{
			name:   "a fake rotate alone ends nothing",
			events: []*replication.BinlogEvent{fakeRotate(f2, 4), fde(), fakeRotate(f2, 500)},
		},
		{
			name: "DDL in the watched schema",
			events: []*replication.BinlogEvent{
				anonGTID(100), query(700, "db", "ALTER TABLE t ADD COLUMN c INT"),
			},
			want: []Txn{{End: at(f1, 700), Time: time.Unix(evTime, 0).UTC(), DDL: &DDL{Schema: "db", Query: "ALTER TABLE t ADD COLUMN c INT"}}},
		},
		{
			name: "DDL run from another schema that names the watched one",
			events: []*replication.BinlogEvent{
				mariaGTID(100), query(700, "mysql", "RENAME TABLE `DB`.`t` TO `db`.`t_old`"),
			},
			want: []Txn{{End: at(f1, 700), Time: time.Unix(evTime, 0).UTC(), DDL: &DDL{Schema: "mysql", Query: "RENAME TABLE `DB`.`t` TO `db`.`t_old`"}}},
		},
		{
			name: "DDL elsewhere is neither sent nor an end",
			events: []*replication.BinlogEvent{
				anonGTID(100), query(700, "shop", "CREATE TABLE orders (id INT)"),
				anonGTID(750), query(800, "", "CREATE USER u"),
			},
		},
		{
			name: "CREATE TABLE … SELECT: the DDL, then the rows of the new table in the same group",
			events: []*replication.BinlogEvent{
				mariaGTID(100), query(300, "db", "CREATE TABLE copy SELECT * FROM t"),
				tableMap(350, "db", "copy"), insertRows(400, "copy", row(int32(1))), query(450, "db", "COMMIT"),
			},
			want: []Txn{
				{End: at(f1, 300), Time: time.Unix(evTime, 0).UTC(), DDL: &DDL{Schema: "db", Query: "CREATE TABLE copy SELECT * FROM t"}},
				txn(at(f1, 450)),
			},
		},
		{
			name: "ROLLBACK drops the transaction's changes but still ends it",
			events: []*replication.BinlogEvent{
				query(100, "db", "BEGIN"), insertRows(200, "t", row(int32(1))), query(260, "db", "ROLLBACK"),
			},
			want: []Txn{txn(at(f1, 260))},
		},
		{
			name: "ROLLBACK TO SAVEPOINT drops the changes made after the savepoint",
			events: []*replication.BinlogEvent{
				query(100, "db", "BEGIN"),
				insertRows(150, "t", row(int32(1))),
				query(200, "db", "SAVEPOINT `a`"),
				insertRows(250, "t", row(int32(2))),
				query(300, "db", "SAVEPOINT `b`"),
				insertRows(350, "t", row(int32(3))),
				query(400, "db", "ROLLBACK TO `a`"),
				insertRows(450, "t", row(int32(4))),
				query(500, "db", "SAVEPOINT `b`"),
				insertRows(550, "t", row(int32(5))),
				query(600, "db", "ROLLBACK TO SAVEPOINT `b`"),
				xid(631),
			},
			want: []Txn{txn(at(f1, 631), ins("t", int32(1)), ins("t", int32(4)))},
		},
		{
			name: "ROLLBACK TO an unknown savepoint",
			events: []*replication.BinlogEvent{
				query(100, "db", "BEGIN"), insertRows(150, "t", row(int32(1))), query(400, "db", "ROLLBACK TO `nope`"),
			},
			wantErr: "names a savepoint not set",
		},
		{
			name: "a group without its end is discarded at the next GTID",
			events: []*replication.BinlogEvent{
				mariaGTID(100), insertRows(200, "t", row(int32(1))),
				mariaGTID(300), insertRows(400, "t", row(int32(2))), xid(431),
			},
			want: []Txn{txn(at(f1, 431), ins("t", int32(2)))},
		},
		{
			name: "a group without its end is discarded at a rotate (server crash)",
			events: []*replication.BinlogEvent{
				query(100, "db", "BEGIN"), insertRows(200, "t", row(int32(1))),
				fakeRotate(f2, 4), fde(),
				query(250, "db", "BEGIN"), insertRows(300, "t", row(int32(2))), xid(331),
			},
			want: []Txn{txn(at(f2, 331), ins("t", int32(2)))},
		},
		{
			name: "XA: the prepared part of other tables ends; XA COMMIT is a group of its own",
			events: []*replication.BinlogEvent{
				anonGTID(100), query(150, "db", "XA START X'01',X'',1"), insertRows(200, "other", row(int32(1))),
				query(250, "db", "XA END X'01',X'',1"), generic(replication.XA_PREPARE_LOG_EVENT, 300),
				anonGTID(350), query(400, "db", "XA COMMIT X'01',X'',1"),
			},
			want: []Txn{txn(at(f1, 300)), txn(at(f1, 400))},
		},
		{
			name: "XA COMMIT … ONE PHASE commits the group it ends",
			events: []*replication.BinlogEvent{
				query(150, "db", "XA START X'01',X'',1"), insertRows(200, "t", row(int32(1))),
				query(250, "db", "XA END X'01',X'',1"), query(300, "db", "XA COMMIT X'01',X'',1 ONE PHASE"),
			},
			want: []Txn{txn(at(f1, 300), ins("t", int32(1)))},
		},
		{
			name: "XA PREPARE of a watched table is refused: it may still roll back",
			events: []*replication.BinlogEvent{
				query(150, "db", "XA START X'01',X'',1"), insertRows(200, "t", row(int32(1))),
				query(250, "db", "XA END X'01',X'',1"), generic(replication.XA_PREPARE_LOG_EVENT, 300),
			},
			wantErr: "XA transactions on the migrated table are not supported",
		},
		{
			name:    "an incident (lost events) stops the stream",
			events:  []*replication.BinlogEvent{generic(replication.INCIDENT_EVENT, 100)},
			wantErr: "incident (lost events) at binlog.000001:100",
		},
		{
			name: "partial JSON updates of a watched table are refused",
			events: []*replication.BinlogEvent{
				query(100, "db", "BEGIN"),
				rowsEv(replication.PARTIAL_UPDATE_ROWS_EVENT, 200, "db", "t", row(int32(1)), row(int32(2))),
			},
			wantErr: "binlog_row_value_options",
		},
		{
			name: "partial JSON updates of other tables are skipped",
			events: []*replication.BinlogEvent{
				query(100, "db", "BEGIN"),
				rowsEv(replication.PARTIAL_UPDATE_ROWS_EVENT, 200, "db", "other", row(int32(1)), row(int32(2))),
				xid(231),
			},
			want: []Txn{txn(at(f1, 231))},
		},
		{
			name: "a row image without every column is refused (binlog_row_image=MINIMAL)",
			events: func() []*replication.BinlogEvent {
				ev := rowsEv(replication.UPDATE_ROWS_EVENTv2, 200, "db", "t", row(int32(1), nil), row(int32(1), "b"))
				ev.Event.(*replication.RowsEvent).SkippedColumns = [][]int{{1}, {}}
				return []*replication.BinlogEvent{query(100, "db", "BEGIN"), ev}
			}(),
			wantErr: "binlog_row_image=FULL",
		},
		{
			name: "update images not in pairs",
			events: []*replication.BinlogEvent{
				query(100, "db", "BEGIN"), rowsEv(replication.UPDATE_ROWS_EVENTv2, 200, "db", "t", row(int32(1))),
			},
			wantErr: "not before/after pairs",
		},
		{
			name: "a rows event without its table map",
			events: []*replication.BinlogEvent{
				event(replication.WRITE_ROWS_EVENTv2, 200, &replication.RowsEvent{TableID: 42}),
			},
			wantErr: "table id 42 has no table map",
		},
		{
			name:    "a transaction end without a position (MariaDB 11.4 style log_pos 0)",
			events:  []*replication.BinlogEvent{mariaGTID(100), insertRows(0, "t", row(int32(1))), xid(0)},
			wantErr: "has no end position",
		},
		{
			name: "statement-based LOAD DATA cannot be followed",
			events: []*replication.BinlogEvent{
				event(replication.BEGIN_LOAD_QUERY_EVENT, 100, &replication.BeginLoadQueryEvent{}),
				event(replication.EXECUTE_LOAD_QUERY_EVENT, 200, &replication.ExecuteLoadQueryEvent{}),
			},
			wantErr: "statement-based LOAD DATA",
		},
		{
			name: "housekeeping and unknown events change nothing",
			events: []*replication.BinlogEvent{
				event(replication.HEARTBEAT_EVENT, 100, &replication.HeartbeatEvent{Version: 1}),
				event(replication.HEARTBEAT_LOG_EVENT_V2, 100, &replication.HeartbeatEvent{Version: 2}),
				event(replication.INTVAR_EVENT, 100, &replication.IntVarEvent{}),
				generic(replication.STOP_EVENT, 120),
				generic(replication.IGNORABLE_EVENT, 130),
				generic(replication.TRANSACTION_CONTEXT_EVENT, 140),
				generic(replication.EventType(250), 150),
				event(replication.EventType(251), 160, nil),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAssembler("db", map[string]bool{"t": true, "t2": true}, f1, zaptest.NewLogger(t))
			var got []Txn
			var err error
			for _, ev := range tt.events {
				if err = a.feed(ev, func(t Txn) error { got = append(got, t); return nil }); err != nil {
					break
				}
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalize(got), normalize(tt.want)) {
				t.Errorf("got\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

// normalize makes empty and nil change lists compare equal.
func normalize(txns []Txn) []Txn {
	out := make([]Txn, len(txns))
	for i, t := range txns {
		if len(t.Changes) == 0 {
			t.Changes = nil
		}
		out[i] = t
	}
	return out
}

func dump(txns []Txn) string {
	var b strings.Builder
	for _, t := range txns {
		b.WriteString(t.End.String())
		if t.DDL != nil {
			b.WriteString(" DDL[" + t.DDL.Schema + "] " + t.DDL.Query)
		}
		for _, c := range t.Changes {
			b.WriteString(" " + c.Kind.String() + ":" + c.Table)
		}
		b.WriteString(" @" + t.Time.String() + "\n")
	}
	return b.String()
}

func TestAssemblerTimeIsTheEndEventTimestamp(t *testing.T) {
	a := newAssembler("db", map[string]bool{"t": true}, f1, zap.NewNop())
	end := xid(231)
	end.Header.Timestamp = evTime + 60
	var got []Txn
	for _, ev := range []*replication.BinlogEvent{query(100, "db", "BEGIN"), insertRows(200, "t", row(int32(1))), end} {
		if err := a.feed(ev, func(t Txn) error { got = append(got, t); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 1 || !got[0].Time.Equal(time.Unix(evTime+60, 0)) {
		t.Fatalf("got %v, want one transaction at %v", got, time.Unix(evTime+60, 0))
	}
}

func TestAssemblerReturnsEmitErrors(t *testing.T) {
	a := newAssembler("db", map[string]bool{"t": true}, f1, zap.NewNop())
	stop := errors.New("consumer gone")
	err := a.feed(payload(900, query(0, "db", "BEGIN"), insertRows(0, "t", row(int32(1))), xid(0)),
		func(Txn) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("feed returned %v, want %v", err, stop)
	}
}

// A compressed payload holding two transactions would give both the payload's end as their
// position, and a resume there would skip the second: it is refused, after the first.
func TestAssemblerRefusesTwoTransactionsInOnePayload(t *testing.T) {
	a := newAssembler("db", map[string]bool{"t": true}, f1, zap.NewNop())
	var got []Txn
	err := a.feed(payload(900, query(0, "db", "BEGIN"), insertRows(0, "t", row(int32(1))), xid(0),
		query(0, "db", "BEGIN"), insertRows(0, "t", row(int32(2))), xid(0)),
		func(x Txn) error { got = append(got, x); return nil })
	if err == nil || !strings.Contains(err.Error(), "holds more than one transaction") || len(got) != 1 {
		t.Fatalf("feed returned %v after %d transactions, want a refusal after one", err, len(got))
	}
}

// Discarding an unterminated transaction is logged (it means a crash) without the rows.
func TestAssemblerDiscardLogsNoValues(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	a := newAssembler("db", map[string]bool{"t": true}, f1, zap.New(core))
	for _, ev := range []*replication.BinlogEvent{
		mariaGTID(100), insertRows(200, "t", row(int32(1), "secret value")), mariaGTID(300),
	} {
		if err := a.feed(ev, func(Txn) error { t.Fatal("nothing should end"); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	entries := logs.FilterMessageSnippet("discarding").All()
	if len(entries) != 1 || entries[0].Level != zap.WarnLevel {
		t.Fatalf("want one warning about the discarded transaction, got %v", logs.All())
	}
	assertNoSecret(t, logs, "secret value")
}

func assertNoSecret(t *testing.T, logs *observer.ObservedLogs, secret string) {
	t.Helper()
	for _, e := range logs.All() {
		if strings.Contains(e.Message, secret) {
			t.Errorf("log message %q holds row data", e.Message)
		}
		for k, v := range e.ContextMap() {
			if strings.Contains(fmt.Sprint(v), secret) {
				t.Errorf("log %q field %s holds row data", e.Message, k)
			}
		}
	}
}

func TestFirstWords(t *testing.T) {
	for q, want := range map[string]string{
		"BEGIN":                           "BEGIN",
		"  commit ":                       "COMMIT",
		"ROLLBACK":                        "ROLLBACK",
		"ROLLBACK TO `sp`":                "ROLLBACK TO",
		"rollback work to savepoint sp":   "ROLLBACK TO",
		"SAVEPOINT `sp`":                  "SAVEPOINT",
		"XA START X'01',X'',1":            "XA START",
		"XA COMMIT X'01',X'',1":           "XA COMMIT",
		"ALTER TABLE t ADD c INT":         "ALTER",
		"":                                "",
		"ROLLBACK;":                       "ROLLBACK",
		"CREATE TABLE `BEGIN` (id int)":   "CREATE",
		"/* comment */ ALTER TABLE t ...": "/*",
	} {
		if got := firstWords(q); got != want {
			t.Errorf("firstWords(%q) = %q, want %q", q, got, want)
		}
	}
}

func TestSavepointName(t *testing.T) {
	for q, want := range map[string]string{
		"SAVEPOINT `sp`":              "sp",
		"SAVEPOINT sp":                "sp",
		"ROLLBACK TO `sp`":            "sp",
		"ROLLBACK TO SAVEPOINT `a b`": "a b",
		"SAVEPOINT `we``ird`":         "we`ird",
		"ROLLBACK TO `sp`  ":          "sp",
		"COMMIT":                      "",
	} {
		if got := savepointName(q); got != want {
			t.Errorf("savepointName(%q) = %q, want %q", q, got, want)
		}
	}
}

// TestGTIDOf: each group carries its GTID as the flavour writes it; MySQL's anonymous GTIDs give
// none.
func TestGTIDOf(t *testing.T) {
	sid := []byte{0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x28}
	for _, tc := range []struct {
		name string
		ev   *replication.BinlogEvent
		want string
	}{
		{"mysql", event(replication.GTID_EVENT, 100, &replication.GTIDEvent{SID: sid, GNO: 23}), "3e11fa47-71ca-11e1-9e33-c80aa9429528:23"},
		{"mysql anonymous", event(replication.ANONYMOUS_GTID_EVENT, 100, &replication.GTIDEvent{SID: make([]byte, 16)}), ""},
		{"mariadb", event(replication.MARIADB_GTID_EVENT, 100, &replication.MariadbGTIDEvent{GTID: mysql.MariadbGTID{DomainID: 0, ServerID: 1, SequenceNumber: 42}}), "0-1-42"},
	} {
		a := newAssembler("db", map[string]bool{"t": true}, f1, zap.NewNop())
		var got []Txn
		emit := func(x Txn) error { got = append(got, x); return nil }
		for _, ev := range []*replication.BinlogEvent{tc.ev, query(150, "db", "BEGIN"), insertRows(180, "t", row(int32(1))), xid(200)} {
			if err := a.feed(ev, emit); err != nil {
				t.Fatal(err)
			}
		}
		if len(got) != 1 || got[0].GTID != tc.want {
			t.Errorf("%s: %+v, want GTID %q", tc.name, got, tc.want)
		}
	}
}
