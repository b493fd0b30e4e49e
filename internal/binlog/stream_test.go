package binlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"go.uber.org/zap"
)

// secret marks a value the tests write, to check that it never reaches a log.
const secret = "secret-7f3a 🐬 héllo"

// A matcher checks one decoded value.
type matcher func(v any) error

func exactly(want any) matcher {
	return func(v any) error {
		if !reflect.DeepEqual(v, want) {
			return fmt.Errorf("%#v, want %#v", v, want)
		}
		return nil
	}
}

// unsigned matches an UNSIGNED integer column that is bits wide. go-mysql decodes it as unsigned
// only when the table map carries signedness (binlog_row_metadata MINIMAL or FULL); otherwise
// 4294967295 in an INT UNSIGNED arrives as int32(-1): the same bits.
func unsigned(bits uint, want uint64) matcher {
	return func(v any) error {
		rv := reflect.ValueOf(v)
		var got uint64
		switch {
		case rv.CanInt():
			got = uint64(rv.Int()) & (1<<bits - 1)
		case rv.CanUint():
			got = rv.Uint()
		default:
			return fmt.Errorf("%#v is not an integer", v)
		}
		if got != want {
			return fmt.Errorf("%#v, want %d", v, want)
		}
		return nil
	}
}

// text matches a value whose bytes are want, as a string or a []byte.
func text(want string) matcher {
	return func(v any) error {
		switch s := v.(type) {
		case string:
			if s == want {
				return nil
			}
		case []byte:
			if string(s) == want {
				return nil
			}
		}
		return fmt.Errorf("%#v, want the bytes %q", v, want)
	}
}

// decimal matches a decimal.Decimal (UseDecimal) by its text.
func decimal(want string) matcher {
	return func(v any) error {
		if got := fmt.Sprintf("%T %v", v, v); got != "decimal.Decimal "+want {
			return fmt.Errorf("%s, want decimal.Decimal %s", got, want)
		}
		return nil
	}
}

func checkRow(t *testing.T, what string, got []any, want []matcher) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d columns, want %d", what, len(got), len(want))
		return
	}
	for i, m := range want {
		if err := m(got[i]); err != nil {
			t.Errorf("%s column %d: %v", what, i, err)
		}
	}
}

// with returns a copy of row with the columns at the given indexes replaced.
func with(row []matcher, changes map[int]matcher) []matcher {
	out := append([]matcher(nil), row...)
	for i, m := range changes {
		out[i] = m
	}
	return out
}

// Every type whose decoding has bitten some tool, through insert, update and delete, with binlog
// compression off and on, and with and without the signedness metadata in table maps.
func TestRowImages(t *testing.T) {
	metadata := []string{"NO_LOG", "FULL"} // MariaDB's default is NO_LOG
	if sb.Flavor.Name() == "mysql" {
		metadata = []string{"MINIMAL", "FULL"}
	}
	for _, compress := range []bool{false, true} {
		for _, md := range metadata {
			t.Run(fmt.Sprintf("compression=%v/binlog_row_metadata=%s", compress, md), func(t *testing.T) {
				setCompression(t, compress)
				setGlobal(t, "binlog_row_metadata", "'"+md+"'")
				testRowImages(t)
			})
		}
	}
}

func testRowImages(t *testing.T) {
	name, db := testDB(t)
	mustExec(t, db, `CREATE TABLE t (
		id INT PRIMARY KEY,
		i INT NULL,
		iu INT UNSIGNED NULL, mu MEDIUMINT UNSIGNED NULL, bu BIGINT UNSIGNED NULL, tu TINYINT UNSIGNED NULL,
		u VARCHAR(50) CHARACTER SET utf8mb4 NULL,
		l VARCHAR(50) CHARACTER SET latin1 NULL,
		b LONGBLOB NULL,
		j JSON NULL,
		d DECIMAL(30,10) NULL,
		dt DATETIME(6) NULL,
		ts TIMESTAMP(6) NULL,
		f DOUBLE NULL,
		tx TEXT NULL, e ENUM('x', 'y') NULL, st SET('p', 'q') NULL, bt BIT(5) NULL, y YEAR NULL,
		tm TIME(3) NULL, dd DATE NULL, fl FLOAT NULL, zd DATETIME NULL,
		v INT AS (i * 2) VIRTUAL,
		h INT INVISIBLE DEFAULT 7
	)`)
	from := currentPosition(t, db)
	r, logs := newTestReader(t, name, "t")
	rn := start(t, r, from)

	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	big := make([]byte, 300_000) // larger than one network packet's worth of small events
	for i := range big {
		big[i] = byte(i * 7 % 251)
	}
	const cols = "id, i, iu, mu, bu, tu, u, l, b, j, d, dt, ts, f, tx, e, st, bt, y, tm, dd, fl, zd"
	for _, q := range []struct {
		sql  string
		args []any
	}{
		// TIMESTAMP is given in a session zone that is not UTC; the binlog holds UTC seconds.
		{"SET time_zone = '+05:00'", nil},
		{"BEGIN", nil},
		{"INSERT INTO t (" + cols + ") VALUES (1, -5, 4294967295, 16777215, 18446744073709551615, 255, ?, ?, ?, ?, " +
			"-12345678901234567890.0123456789, '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456', 1.5, " +
			"'text ✓', 'y', 'p,q', b'10101', 2024, '-12:34:56.789', '2024-02-29', 0.25, '0000-00-00 00:00:00')",
			[]any{secret, "é", []byte{0, 1, 2, 0xff}, `{"b": 1.0, "a": [1, 2]}`}},
		{"INSERT INTO t (id) VALUES (2)", nil},
		{"COMMIT", nil},
		{"UPDATE t SET i = 6, u = 'after' WHERE id = 1", nil},
		{"DELETE FROM t WHERE id = 2", nil},
		{"INSERT INTO t (id, b) VALUES (3, ?)", []any{big}},
	} {
		if _, err := conn.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}

	json := `{"b": 1.0, "a": [1, 2]}` // MariaDB's JSON is text, kept as written
	if sb.Flavor.Name() == "mysql" {
		json = `{"a": [1, 2], "b": 1.0}` // MySQL's binary JSON, rendered as MySQL prints it
	}
	row1 := []matcher{
		exactly(int32(1)), exactly(int32(-5)),
		unsigned(32, 4294967295), unsigned(24, 16777215), unsigned(64, 18446744073709551615), unsigned(8, 255),
		exactly(secret),
		exactly("\xe9"), // latin1 é: the stored byte, not converted to UTF-8
		exactly([]byte{0, 1, 2, 0xff}),
		text(json),
		decimal("-12345678901234567890.0123456789"),
		exactly("2024-01-02 03:04:05.123456"),
		exactly("2024-01-01 22:04:05.123456"), // 03:04:05 at +05:00, in UTC
		exactly(1.5),
		exactly([]byte("text ✓")), // TEXT is a BLOB in the binlog
		exactly(int64(2)),         // ENUM: the 1-based index
		exactly(int64(3)),         // SET: the bit mask
		exactly(int64(21)),        // BIT
		exactly(2024),             // YEAR: int
		exactly("-12:34:56.789"),
		exactly("2024-02-29"),
		exactly(float32(0.25)),
		exactly("0000-00-00 00:00:00"), // a zero date stays as it is
		exactly(int32(-10)),            // virtual generated column: in the image, computed
		exactly(int32(7)),              // invisible column: in the image
	}
	row2 := []matcher{exactly(int32(2))}
	for range 22 {
		row2 = append(row2, exactly(nil))
	}
	row2 = append(row2, exactly(nil), exactly(int32(7)))
	row1After := with(row1, map[int]matcher{1: exactly(int32(6)), 6: exactly("after"), 23: exactly(int32(12))})

	got := receive(t, rn.out, 4, 20*time.Second)
	if len(got[0].Changes) != 2 || got[0].Changes[0].Kind != Insert || got[0].Changes[1].Kind != Insert {
		t.Fatalf("first transaction: %s, want two inserts", dump(got[:1]))
	}
	checkRow(t, "insert 1", got[0].Changes[0].After, row1)
	checkRow(t, "insert 2", got[0].Changes[1].After, row2)
	if c := got[1].Changes; len(c) != 1 || c[0].Kind != Update || c[0].Table != "t" {
		t.Fatalf("second transaction: %s, want one update", dump(got[1:2]))
	}
	checkRow(t, "update before", got[1].Changes[0].Before, row1)
	checkRow(t, "update after", got[1].Changes[0].After, row1After)
	if c := got[2].Changes; len(c) != 1 || c[0].Kind != Delete || c[0].After != nil {
		t.Fatalf("third transaction: %s, want one delete", dump(got[2:3]))
	}
	checkRow(t, "delete", got[2].Changes[0].Before, row2)
	if c := got[3].Changes; len(c) != 1 || c[0].Kind != Insert || !bytes.Equal(c[0].After[8].([]byte), big) {
		t.Fatalf("fourth transaction: %s, want the insert of the large BLOB", dump(got[3:4]))
	}
	for i := 1; i < len(got); i++ {
		if got[i].End.Compare(got[i-1].End) <= 0 {
			t.Errorf("transaction %d ends at %s, not after %s", i, got[i].End, got[i-1].End)
		}
	}
	if now := currentPosition(t, db); got[3].End != now {
		t.Errorf("last transaction ends at %s, the server is at %s", got[3].End, now)
	}
	eventually(t, 5*time.Second, "Position reaches the last transaction", func() bool { return r.Position() == got[3].End })
	if d := time.Since(got[3].Time); d < 0 || d > time.Minute {
		t.Errorf("transaction time %s is not about now", got[3].Time)
	}
	assertNoSecret(t, logs, "secret-7f3a")
}

// Transactions of other tables, of a same-named table in another schema, are not sent, but move the
// resume position; the rows of other tables in a sent transaction are left out.
func TestOtherTablesAreSkipped(t *testing.T) {
	name, db := testDB(t)
	other := sb.NewDatabase(t)
	mustExec(t, db,
		"CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10))",
		"CREATE TABLE u (id INT PRIMARY KEY, s VARCHAR(10))",
		"CREATE TABLE `"+other+"`.t (id INT PRIMARY KEY, s VARCHAR(10))")
	from := currentPosition(t, db)
	r, _ := newTestReader(t, name, "t")
	rn := start(t, r, from)

	mustExec(t, db, "INSERT INTO u VALUES (1, 'u')", "INSERT INTO `"+other+"`.t VALUES (1, 'other')")
	now := currentPosition(t, db)
	eventually(t, 5*time.Second, "Position passes the skipped transactions", func() bool { return r.Position() == now })
	expectNone(t, rn.out, 200*time.Millisecond)

	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"INSERT INTO u VALUES (2, 'u')", "INSERT INTO t VALUES (1, 'a')", "UPDATE u SET s = 'v'", "UPDATE `" + other + "`.t SET s = 'o'"} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got := receive(t, rn.out, 1, 10*time.Second)
	want := []Change{{Table: "t", Kind: Insert, After: []any{int32(1), "a"}}}
	if !reflect.DeepEqual(got[0].Changes, want) {
		t.Errorf("got %s, want the insert into t only", dump(got))
	}
	expectNone(t, rn.out, 200*time.Millisecond)
}

// The rows of other tables are skipped before go-mysql decodes them, compressed or not.
func TestRowsOfOtherTablesAreNotDecoded(t *testing.T) {
	setCompression(t, true)
	name, db := testDB(t)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10))", "CREATE TABLE u (id INT PRIMARY KEY, s VARCHAR(10))")
	from := currentPosition(t, db)
	r, _ := newTestReader(t, name, "t")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	syncer := replication.NewBinlogSyncer(r.syncerConfig(dialer(ctx)))
	defer syncer.Close()
	streamer, err := syncer.StartSync(mysql.Position{Name: from.File, Pos: from.Pos})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "INSERT INTO u VALUES (1, 'row data')", "INSERT INTO t VALUES (1, 'x')")

	decoded := map[string]bool{}
	types := map[replication.EventType]bool{}
	var visit func(ev *replication.BinlogEvent)
	visit = func(ev *replication.BinlogEvent) {
		types[ev.Header.EventType] = true
		switch e := ev.Event.(type) {
		case *replication.RowsEvent:
			decoded[string(e.Table.Table)] = e.Rows != nil
		case *replication.TransactionPayloadEvent:
			for _, in := range e.Events {
				visit(in)
			}
		}
	}
	for len(decoded) < 2 {
		ev, err := streamer.GetEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		visit(ev)
	}
	if decoded["u"] || !decoded["t"] {
		t.Errorf("rows decoded: %v, want t only", decoded)
	}
	if sb.Flavor.Name() == "mariadb" && !types[replication.MARIADB_WRITE_ROWS_COMPRESSED_EVENT_V1] {
		t.Errorf("no compressed rows event among %v: is log_bin_compress on?", types)
	}
	if sb.Flavor.Name() == "mysql" && !types[replication.TRANSACTION_PAYLOAD_EVENT] {
		t.Errorf("no transaction payload event among %v: is binlog_transaction_compression on?", types)
	}
}

// DDL run in the watched schema, or naming it from elsewhere, is sent; other DDL is not.
func TestDDLIsReported(t *testing.T) {
	name, db := testDB(t)
	other := sb.NewDatabase(t)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	from := currentPosition(t, db)
	r, _ := newTestReader(t, name, "t")
	rn := start(t, r, from)

	mustExec(t, db, "ALTER TABLE t ADD COLUMN c INT")
	got := receive(t, rn.out, 1, 10*time.Second)
	if d := got[0].DDL; d == nil || d.Schema != name || d.Query != "ALTER TABLE t ADD COLUMN c INT" || len(got[0].Changes) != 0 {
		t.Errorf("got %s, want the ALTER", dump(got))
	}
	if got[0].End != currentPosition(t, db) {
		t.Errorf("DDL ends at %s, server at %s", got[0].End, currentPosition(t, db))
	}

	odb, err := sb.Primary.DB(other)
	if err != nil {
		t.Fatal(err)
	}
	defer odb.Close()
	mustExec(t, odb, "CREATE TABLE x (id INT PRIMARY KEY)")
	expectNone(t, rn.out, 300*time.Millisecond)
	rename := "RENAME TABLE `" + name + "`.t TO `" + name + "`.t_old"
	mustExec(t, odb, rename)
	got = receive(t, rn.out, 1, 10*time.Second)
	if d := got[0].DDL; d == nil || d.Schema != other || d.Query != rename {
		t.Errorf("got %s, want the RENAME run from %s", dump(got), other)
	}
}

// A transaction rolled back to a savepoint is sent without the rolled-back rows.
func TestSavepointRollback(t *testing.T) {
	name, db := testDB(t)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	from := currentPosition(t, db)
	r, _ := newTestReader(t, name, "t")
	rn := start(t, r, from)

	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"INSERT INTO t VALUES (1)", "SAVEPOINT s", "INSERT INTO t VALUES (2)", "ROLLBACK TO SAVEPOINT s", "INSERT INTO t VALUES (3)"} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got := receive(t, rn.out, 1, 10*time.Second)
	if ids := insertedIDs(got); !reflect.DeepEqual(ids, []int32{1, 3}) {
		t.Errorf("inserted %v, want [1 3]", ids)
	}
}

// A session writing MINIMAL row images would turn missing columns into NULLs: the stream stops.
func TestMinimalRowImageIsRefused(t *testing.T) {
	name, db := testDB(t)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT)", "INSERT INTO t VALUES (1, 1, 1)")
	from := currentPosition(t, db)
	r, _ := newTestReader(t, name, "t")
	rn := start(t, r, from)

	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"SET SESSION binlog_row_image = 'MINIMAL'", "UPDATE t SET a = 2 WHERE id = 1"} {
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	if err := rn.wait(t, 10*time.Second); err == nil || !strings.Contains(err.Error(), "binlog_row_image=FULL") {
		t.Fatalf("Run: %v, want it to refuse the partial image", err)
	}
}

// A position the server cannot read from is not retried for minutes.
func TestUnreadablePositionFailsAtOnce(t *testing.T) {
	name, _ := testDB(t)
	r, _ := newTestReader(t, name, "t")
	rn := start(t, r, at("binlog.999999", 4))
	err := rn.wait(t, 10*time.Second)
	var me *mysql.MyError
	if !errors.As(err, &me) || me.Code != mysql.ER_MASTER_FATAL_ERROR_READING_BINLOG {
		t.Fatalf("Run: %v, want error 1236", err)
	}
}

// Run stops promptly on cancel, idle or blocked on a consumer that does not read, and never
// counts a transaction it could not send.
func TestCancel(t *testing.T) {
	name, db := testDB(t)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	from := currentPosition(t, db)

	r, _ := newTestReader(t, name, "t")
	rn := start(t, r, from)
	time.Sleep(300 * time.Millisecond)
	took, err := rn.stop(t)
	if !errors.Is(err, context.Canceled) || took > 2*time.Second {
		t.Errorf("idle: Run returned %v after %s, want context.Canceled at once", err, took)
	}

	r, _ = newTestReader(t, name, "t")
	rn = start(t, r, from)
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	time.Sleep(500 * time.Millisecond) // Run is now blocked sending on rn.out
	took, err = rn.stop(t)
	if !errors.Is(err, context.Canceled) || took > 2*time.Second {
		t.Errorf("blocked: Run returned %v after %s, want context.Canceled at once", err, took)
	}
	if r.Position() != from {
		t.Errorf("Position %s after an unsent transaction, want %s", r.Position(), from)
	}
}

// Position is a resume point: a new Reader started there sends exactly what came after.
func TestResumeFromPosition(t *testing.T) {
	name, db := testDB(t)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)", "CREATE TABLE u (id INT PRIMARY KEY)")
	from := currentPosition(t, db)
	r1, _ := newTestReader(t, name, "t")
	rn1 := start(t, r1, from)
	mustExec(t, db, "INSERT INTO t VALUES (1)", "INSERT INTO u VALUES (1)")
	receive(t, rn1.out, 1, 10*time.Second)
	now := currentPosition(t, db)
	eventually(t, 5*time.Second, "Position passes the transaction of u", func() bool { return r1.Position() == now })
	if _, err := rn1.stop(t); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}

	mustExec(t, db, "INSERT INTO t VALUES (2)", "INSERT INTO u VALUES (2)", "INSERT INTO t VALUES (3)")
	r2, _ := newTestReader(t, name, "t")
	rn2 := start(t, r2, r1.Position())
	if ids := insertedIDs(receive(t, rn2.out, 2, 10*time.Second)); !reflect.DeepEqual(ids, []int32{2, 3}) {
		t.Errorf("resumed stream inserted %v, want [2 3]", ids)
	}
	expectNone(t, rn2.out, 300*time.Millisecond)
}

// Killing the stream's connection on the server, again and again while rows are written, loses and
// repeats nothing: Run reconnects from the last transaction it sent.
func TestReconnectAfterKill(t *testing.T) {
	name, db := testDB(t)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(40))")
	from := currentPosition(t, db)
	r, logs := newTestReader(t, name, "t")
	rn := start(t, r, from)

	const n = 300
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 1; i <= n; i++ {
			if _, err := db.Exec("INSERT INTO t VALUES (?, ?)", i, secret); err != nil {
				t.Errorf("insert %d: %v", i, err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	killed := 0
	go func() {
		defer wg.Done()
		for range 4 {
			time.Sleep(150 * time.Millisecond)
			killed += killDumpThreads(t)
		}
	}()
	got := receive(t, rn.out, n, 60*time.Second)
	wg.Wait()
	if killed == 0 {
		t.Fatal("no dump thread was killed")
	}
	checkSequence(t, got, 1, n)
	expectNone(t, rn.out, 300*time.Millisecond)
	if len(logs.FilterMessage("binlog stream lost, reconnecting").FilterLevelExact(zap.WarnLevel).All()) == 0 {
		t.Error("no reconnection was logged at warn")
	}
	assertNoSecret(t, logs, "secret-7f3a")
}

// A server restart (new binlog file, stream down for seconds) loses and repeats nothing.
func TestReconnectAfterServerRestart(t *testing.T) {
	name, db := testDB(t)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	from := currentPosition(t, db)
	r, _ := newTestReader(t, name, "t")
	rn := start(t, r, from)

	for i := 1; i <= 20; i++ {
		mustExec(t, db, fmt.Sprintf("INSERT INTO t VALUES (%d)", i))
	}
	before := receive(t, rn.out, 10, 10*time.Second) // the rest is in flight during the restart
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Lost says how long the stream is down (for /healthz): sampled through the restart.
	var lostMax atomic.Int64
	sampled := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			lostMax.Store(max(lostMax.Load(), int64(r.Lost())))
			select {
			case <-stopSampling:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	if err := sb.Primary.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	db2, err := sb.Primary.DB(name) // db's connections died with the server
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	for i := 21; i <= 40; i++ {
		mustExec(t, db2, fmt.Sprintf("INSERT INTO t VALUES (%d)", i))
	}
	got := append(before, receive(t, rn.out, 30, time.Minute)...)
	close(stopSampling)
	<-sampled
	if lostMax.Load() <= 0 {
		t.Error("Lost() stayed 0 while the server restarted")
	}
	checkSequence(t, got, 1, 40)
	expectNone(t, rn.out, 300*time.Millisecond)
	if lost := r.Lost(); lost != 0 {
		t.Errorf("Lost() = %s once the stream is back", lost)
	}
	if got[39].End.File == got[0].End.File {
		t.Errorf("all transactions in %s: the restart should have started a new binlog file", got[0].End.File)
	}
}

// checkSequence checks that txns insert the ids first…last, one per transaction, in order.
func checkSequence(t *testing.T, txns []Txn, first, last int32) {
	t.Helper()
	ids := insertedIDs(txns)
	if len(txns) != int(last-first+1) || len(ids) != len(txns) {
		t.Fatalf("%d transactions inserting %d rows, want %d of one row each", len(txns), len(ids), last-first+1)
	}
	for i, id := range ids {
		if id != first+int32(i) {
			t.Fatalf("transaction %d inserted id %d, want %d (ids %v)", i, id, first+int32(i), ids)
		}
	}
}

func insertedIDs(txns []Txn) []int32 {
	var ids []int32
	for _, t := range txns {
		for _, c := range t.Changes {
			if c.Kind == Insert {
				ids = append(ids, c.After[0].(int32))
			}
		}
	}
	return ids
}

// A consumer that stops reading for longer than the read timeout, while go-mysql's buffer is full,
// is not mistaken for a dead connection (go-mysql sets the read deadline before each read, not
// after the last one), and gets every transaction once.
func TestSlowConsumer(t *testing.T) {
	name, db := testDB(t)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	from := currentPosition(t, db)
	r, logs := newTestReader(t, name, "t")
	r.heartbeatPeriod, r.readTimeout = 200*time.Millisecond, time.Second
	rn := start(t, r, from)

	const n = 400 // about 2000 events: more than go-mysql buffers (eventBuffer)
	for i := 1; i <= n; i++ {
		mustExec(t, db, fmt.Sprintf("INSERT INTO t VALUES (%d)", i))
	}
	time.Sleep(2500 * time.Millisecond)
	checkSequence(t, receive(t, rn.out, n, time.Minute), 1, n)
	expectNone(t, rn.out, 300*time.Millisecond)
	if n := len(logs.FilterMessage("binlog stream lost, reconnecting").All()); n > 0 {
		t.Errorf("%d reconnections while the consumer was slow", n)
	}
}

// The server's heartbeats keep an idle stream alive past the read timeout.
func TestIdleStreamStaysConnected(t *testing.T) {
	name, db := testDB(t)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	from := currentPosition(t, db)
	r, logs := newTestReader(t, name, "t")
	r.heartbeatPeriod, r.readTimeout = 200*time.Millisecond, time.Second
	rn := start(t, r, from)
	time.Sleep(3 * time.Second)
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	checkSequence(t, receive(t, rn.out, 1, 10*time.Second), 1, 1)
	if n := len(logs.FilterMessage("binlog stream lost, reconnecting").All()); n > 0 {
		t.Errorf("%d reconnections of an idle stream: are heartbeats sent?", n)
	}
}

// An XA transaction logs its rows at XA PREPARE, before it commits or rolls back: on a watched
// table the stream stops rather than pass on changes that may never happen. XA on other tables,
// and a one-phase XA COMMIT on the watched one, go through.
func TestXATransactions(t *testing.T) {
	name, db := testDB(t)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)", "CREATE TABLE u (id INT PRIMARY KEY)")
	from := currentPosition(t, db)
	r, _ := newTestReader(t, name, "t")
	rn := start(t, r, from)

	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(queries ...string) {
		t.Helper()
		for _, q := range queries {
			if _, err := conn.ExecContext(context.Background(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	exec("XA START 'a'", "INSERT INTO u VALUES (1)", "XA END 'a'", "XA PREPARE 'a'", "XA COMMIT 'a'")
	exec("XA START 'b'", "INSERT INTO t VALUES (1)", "XA END 'b'", "XA COMMIT 'b' ONE PHASE")
	if ids := insertedIDs(receive(t, rn.out, 1, 10*time.Second)); !reflect.DeepEqual(ids, []int32{1}) {
		t.Errorf("one-phase XA inserted %v, want [1]", ids)
	}
	exec("XA START 'c'", "INSERT INTO t VALUES (2)", "XA END 'c'", "XA PREPARE 'c'", "XA ROLLBACK 'c'")
	if err := rn.wait(t, 10*time.Second); err == nil || !strings.Contains(err.Error(), "XA transactions on the migrated table are not supported") {
		t.Fatalf("Run: %v, want it to refuse the prepared XA transaction", err)
	}
}

// A binlog rotation moves the positions to the next file.
func TestRotation(t *testing.T) {
	name, db := testDB(t)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	from := currentPosition(t, db)
	r, _ := newTestReader(t, name, "t")
	rn := start(t, r, from)
	mustExec(t, db, "INSERT INTO t VALUES (1)", "FLUSH BINARY LOGS", "INSERT INTO t VALUES (2)")
	got := receive(t, rn.out, 2, 10*time.Second)
	checkSequence(t, got, 1, 2)
	if got[0].End.File != from.File || got[1].End.File == from.File || got[1].End != currentPosition(t, db) {
		t.Errorf("ends %s and %s from %s, server now at %s: want the second in the new file", got[0].End, got[1].End, from, currentPosition(t, db))
	}
}
