package migration

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/doppel-sql/doppel/control"
	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/table"
)

// revertConfig is testConfig under the write load: more retries for the deadlocks the load causes.
func revertConfig(t *testing.T, db, alter string) Config {
	c := testConfig(db, alter)
	c.DefaultRetries = 10
	c.Logger = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	return c
}

// revertAlter adds a column (which a revert leaves out) and an index.
const revertAlter = "ADD COLUMN x INT NOT NULL DEFAULT 7, ADD INDEX (k)"

// loadedTable creates db.t (sysbench's shape) with rows and its oracle, and starts the random write
// load on both; stop ends it and returns its statistics.
func loadedTable(t *testing.T, rows int) (schema string, db *sql.DB, stop func() loadgen.Stats) {
	t.Helper()
	ctx := context.Background()
	schema = sb.NewDatabase(t)
	var err error
	if db, err = dbconn.Open(sb.Primary.Config(), schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := loadgen.CreateSysbench(ctx, db, sb.Flavor.Name(), "t", rows); err != nil {
		t.Fatal(err)
	}
	exec(t, db, "CREATE TABLE oracle LIKE t", "INSERT INTO oracle SELECT * FROM t")
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	gen, err := loadgen.New(ctx, loadgen.Config{DB: db, Schema: schema, Table: "t", Oracle: "oracle", Workers: 4, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	loadCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- gen.Run(loadCtx) }()
	stopped := false
	stop = func() loadgen.Stats {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("the write load: %v", err)
			}
		}
		return gen.Stats()
	}
	t.Cleanup(func() { stop() })
	return schema, db, stop
}

// checkReverted checks the load ran cleanly and the table is the oracle again: the original
// definition, every row.
func checkReverted(t *testing.T, schema string, db *sql.DB, st loadgen.Stats) {
	t.Helper()
	if st.Failed > 0 || st.Divergent > 0 {
		t.Errorf("load: %d transactions failed, %d saw the table and the oracle differ: %s", st.Failed, st.Divergent, strings.Join(st.Errors, " | "))
	}
	t.Logf("load: %d transactions committed", st.Committed)
	if ddl := showCreate(t, db, "t"); strings.Contains(ddl, "`x`") {
		t.Errorf("the reverted table still has the migration's column:\n%s", ddl)
	}
	if err := loadgen.Compare(context.Background(), db, schema, "oracle", "t", []string{"id"}); err != nil {
		t.Errorf("the reverted table differs from the oracle: %v", err)
	}
}

// TestRevertWindow migrates under the write load, keeps writing in the revert window and reverts
// there: the table is the oracle again, nothing lost, and the revert's cut-over is reported next to
// the migration's.
func TestRevertWindow(t *testing.T) {
	schema, db, stop := loadedTable(t, 20000)
	cfg := revertConfig(t, schema, revertAlter)
	cfg.RevertWindow = 10 * time.Minute
	cfg.SocketPath = filepath.Join(t.TempDir(), "doppel.sock")
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := Run(context.Background(), cfg)
		done <- outcome{res, err}
	}()
	// Wait for the window, and show the reverse lag while it is open.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		status, err := control.Send(context.Background(), "unix", cfg.SocketPath, "status")
		if err == nil && strings.Contains(status, "State: revert-window") {
			if !strings.Contains(status, "Reverse lag") {
				t.Errorf("the window's status does not show the reverse lag:\n%s", status)
			}
			break
		}
		select {
		case o := <-done:
			t.Fatalf("the run ended before its revert window: %+v %v", o.res, o.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no revert window after 2 minutes (last status %q, %v)", status, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ddl := showCreate(t, db, "t"); !strings.Contains(ddl, "`x`") {
		t.Fatalf("not migrated when the window opened:\n%s", ddl)
	}
	time.Sleep(2 * time.Second) // writes to the migrated table, replayed into the old one
	answer, err := control.Send(context.Background(), "unix", cfg.SocketPath, "revert")
	if err != nil {
		t.Fatalf("revert: %q %v", answer, err)
	}
	o := <-done
	st := stop()
	if o.err != nil {
		t.Fatal(o.err)
	}
	w := o.res.Window
	if w == nil || !w.Reverted || w.ChangesApplied == 0 {
		t.Fatalf("window result %+v, want a revert that replayed changes", w)
	}
	t.Logf("cut-over blocked: migration %s, revert %s", o.res.CutOver.Blocked, w.CutOver.Blocked)
	checkReverted(t, schema, db, st)
	if got := tableList(t, db); !strings.Contains(got, "_t_ghr") {
		t.Errorf("tables %q: the revert's own swap is not recorded", got)
	}
}

// TestRevertLater migrates, stops, writes more, and reverts later with --revert --old-table under
// the load: the table is the oracle again. The first revert fails before its swap (its
// before-cut-over hook refuses): it has written into the old table, and a second one, from the
// same record, must neither take those writes for someone else's nor lose anything. With --gtid
// the swap is recorded and the revert streamed by GTID.
func TestRevertLater(t *testing.T) {
	for _, gtid := range []bool{false, true} {
		t.Run(map[bool]string{false: "file", true: "gtid"}[gtid], func(t *testing.T) { testRevertLater(t, gtid) })
	}
}

func testRevertLater(t *testing.T, gtid bool) {
	schema, db, stop := loadedTable(t, 20000)
	cfg := revertConfig(t, schema, revertAlter)
	cfg.GTID = gtid
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // doppel is gone; the load writes the migrated table
	cfg = revertConfig(t, schema, revertAlter)
	cfg.Revert, cfg.OldTable, cfg.GTID = true, "_t_del", gtid
	hooks := t.TempDir()
	if err := os.WriteFile(filepath.Join(hooks, "gh-ost-on-before-cut-over"), []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg.HooksPath = hooks
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "before-cut-over") || !strings.Contains(err.Error(), "run the same --revert again") {
		t.Fatalf("the first revert: %v, want it stopped by its hook", err)
	}
	if got := tableList(t, db); got != "_t_del,_t_ghr,oracle,t" {
		t.Fatalf("tables %q after the failed revert", got)
	}
	time.Sleep(time.Second)
	cfg.HooksPath = ""
	rev, err := Run(context.Background(), cfg)
	st := stop()
	if err != nil {
		t.Fatal(err)
	}
	if !rev.Reverted || rev.ChangesApplied == 0 {
		t.Fatalf("result %+v, want a revert that replayed changes", rev)
	}
	t.Logf("cut-over blocked: migration %s, revert %s", res.CutOver.Blocked, rev.CutOver.Blocked)
	checkReverted(t, schema, db, st)
	for _, name := range []string{"_t_del"} {
		if ok, _ := table.Exists(context.Background(), db, schema, name); ok {
			t.Errorf("%s still exists: it was swapped back in", name)
		}
	}
}

// TestRevertDroppedColumn: a column the ALTER dropped gets its default in the rows inserted during
// the window; the rows only updated keep their value. The window ends with end-revert-window
// first: the old table is kept with its record, and a later --revert still reverts.
func TestRevertDroppedColumn(t *testing.T) {
	name, db := newTable(t, 100)
	exec(t, db, "ALTER TABLE t MODIFY n INT NULL DEFAULT 42")
	waitReplica(t)
	cfg := revertConfig(t, name, "DROP COLUMN n")
	cfg.RevertWindow = time.Minute
	core, logs := observer.New(zap.InfoLevel)
	cfg.Logger = zap.New(core)
	cfg.SocketPath = filepath.Join(t.TempDir(), "doppel.sock")
	done := make(chan error, 1)
	var res *Result
	go func() {
		var err error
		res, err = Run(context.Background(), cfg)
		done <- err
	}()
	waitForWindow(t, cfg.SocketPath, done)
	if said := logs.FilterMessageSnippet("rows inserted since the swap get its default").Len(); said == 0 {
		t.Error("the run did not say up front that the dropped column gets its default")
	}
	exec(t, db, "INSERT INTO t (id, v) VALUES (1000, 'new')", "UPDATE t SET v = 'updated' WHERE id = 10", "DELETE FROM t WHERE id = 20")
	time.Sleep(time.Second)
	answer, err := control.Send(context.Background(), "unix", cfg.SocketPath, "end-revert-window")
	if err != nil || !strings.Contains(answer, "is kept") {
		t.Fatalf("end-revert-window: %q %v", answer, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if w := res.Window; w == nil || !w.WindowEnded || w.OldTable != "_t_del" {
		t.Fatalf("window %+v, want it ended with _t_del kept", w)
	}
	exec(t, db, "UPDATE t SET v = 'after the window' WHERE id = 11")
	cfg = revertConfig(t, name, "")
	cfg.Revert, cfg.OldTable = true, "_t_del"
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   int
		v    string
		n    sql.NullInt64
		gone bool
	}{
		{id: 1000, v: "new", n: sql.NullInt64{Int64: 42, Valid: true}},
		{id: 10, v: "updated", n: sql.NullInt64{Int64: 10 % 7, Valid: true}},
		{id: 11, v: "after the window", n: sql.NullInt64{Int64: 11 % 7, Valid: true}},
		{id: 20, gone: true},
	} {
		var v string
		var n sql.NullInt64
		err := db.QueryRow("SELECT v, n FROM t WHERE id = ?", c.id).Scan(&v, &n)
		switch {
		case c.gone && !errors.Is(err, sql.ErrNoRows):
			t.Errorf("row %d: %v, want it deleted", c.id, err)
		case !c.gone && (err != nil || v != c.v || n != c.n):
			t.Errorf("row %d: (%q, %v) %v, want (%q, %v)", c.id, v, n, err, c.v, c.n)
		}
	}
}

// waitForWindow waits until the run serving socket is in its revert window.
func waitForWindow(t *testing.T, socket string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		status, err := control.Send(context.Background(), "unix", socket, "status")
		if err == nil && strings.Contains(status, "State: revert-window") {
			if !strings.Contains(status, "Reverse lag") {
				t.Errorf("the window's status does not show the reverse lag:\n%s", status)
			}
			return
		}
		select {
		case err := <-done:
			t.Fatalf("the run ended before its revert window: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no revert window after 2 minutes (last status %q, %v)", status, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRevertRefusals: no record, the old table written or altered since the swap, the binlogs
// since the swap purged.
func TestRevertRefusals(t *testing.T) {
	name, db := newTable(t, 1000)
	if _, err := Run(context.Background(), revertConfig(t, name, "ADD COLUMN x INT NULL")); err != nil {
		t.Fatal(err)
	}
	revert := func(old string) Config {
		cfg := revertConfig(t, name, "")
		cfg.Revert, cfg.OldTable = true, old
		return cfg
	}
	expectRefusal(t, revert("_t_nope"), db, "there is no record of a swap")

	// A row changed in the old table since the swap.
	exec(t, db, "UPDATE _t_del SET v = 'changed' WHERE id = 1")
	waitReplica(t)
	_, err := Run(context.Background(), revert("_t_del"))
	if err == nil || !IsRefusal(err) || !strings.Contains(err.Error(), "was changed after the swap (a row update") {
		t.Fatalf("revert over a written old table: %v", err)
	}
	if got := tableList(t, db); got != "_t_del,_t_ghr,t" {
		t.Errorf("tables %q after the refusal", got)
	}
	// Altered since: the old table, or the table in place.
	exec(t, db, "ALTER TABLE _t_del ADD COLUMN y INT")
	expectRefusal(t, revert("_t_del"), db, "has been changed since the swap")
	exec(t, db, "ALTER TABLE _t_del DROP COLUMN y")
	exec(t, db, "ALTER TABLE t ADD COLUMN z INT")
	expectRefusal(t, revert("_t_del"), db, "has been altered since the swap")
	exec(t, db, "ALTER TABLE t DROP COLUMN z")

	// The binlogs since the swap purged on the server read (the replica).
	replica, err := sb.Replica.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	exec(t, replica, "FLUSH BINARY LOGS")
	st, err := dbconn.ReadBinlogStatus(context.Background(), replica, sb.Flavor)
	if err != nil {
		t.Fatal(err)
	}
	// The server purges a file once nothing holds it (its binlog checkpoint, a dump thread): try
	// for a while.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		exec(t, replica, "PURGE BINARY LOGS TO '"+st.File+"'")
		files, err := dbconn.BinlogFiles(context.Background(), replica)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) > 0 && files[0] == st.File {
			break
		}
		if time.Now().After(deadline) {
			var level, msg string
			var code int
			_ = replica.QueryRow("SHOW WARNINGS").Scan(&level, &code, &msg)
			t.Fatalf("the replica keeps %v after PURGE BINARY LOGS TO %s: %s", files, st.File, msg)
		}
	}
	expectRefusal(t, revert("_t_del"), db, "have been purged")
}

// TestRevertWindowRefusedWhenLossy: a type change that cannot convert back refuses the window
// before anything is created.
func TestRevertWindowRefusedWhenLossy(t *testing.T) {
	name, db := newTable(t, 10)
	cfg := testConfig(name, "MODIFY v VARCHAR(40) NOT NULL")
	cfg.RevertWindow = time.Minute
	expectRefusal(t, cfg, db, "varchar(40) back to varchar(20) may lose values")
	cfg = testConfig(name, "DROP COLUMN v")
	cfg.RevertWindow = time.Minute
	expectRefusal(t, cfg, db, "column v was dropped by the migration and is NOT NULL without a default")
}

// TestRevertRenamedColumn: a column renamed with --approve-renamed-columns takes its values back
// under its old name.
func TestRevertRenamedColumn(t *testing.T) {
	name, db := newTable(t, 100)
	cfg := revertConfig(t, name, "CHANGE v w VARCHAR(20) NOT NULL")
	cfg.ApproveRenamedColumns = true
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	exec(t, db, "UPDATE t SET w = 'renamed+updated' WHERE id = 5", "INSERT INTO t (id, w, n) VALUES (500, 'new', 1)")
	cfg = revertConfig(t, name, "")
	cfg.Revert, cfg.OldTable = true, "_t_del"
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := db.QueryRow("SELECT GROUP_CONCAT(v ORDER BY id) FROM t WHERE id IN (5, 500)").Scan(&got); err != nil || got != "renamed+updated,new" {
		t.Errorf("v of rows 5 and 500 after the revert: %q %v", got, err)
	}
}

func TestConvertsBack(t *testing.T) {
	col := func(dataType, columnType string, opts ...func(*table.Column)) *table.Column {
		c := &table.Column{DataType: dataType, ColumnType: columnType}
		if dataType == "varchar" || dataType == "char" || strings.HasSuffix(dataType, "text") {
			c.Charset = "utf8mb4"
		}
		for _, o := range opts {
			o(c)
		}
		return c
	}
	unsigned := func(c *table.Column) { c.Unsigned = true }
	nullable := func(c *table.Column) { c.Nullable = true }
	latin1 := func(c *table.Column) { c.Charset = "latin1" }
	dec := func(p, s int64) func(*table.Column) { return func(c *table.Column) { c.Precision, c.Scale = p, s } }
	enum := func(elems ...string) func(*table.Column) { return func(c *table.Column) { c.Elems = elems } }
	for _, tc := range []struct {
		name     string
		from, to *table.Column
		ok       bool
	}{
		{"same", col("int", "int(11)"), col("int", "int(11)"), true},
		{"int from bigint", col("bigint", "bigint(20)"), col("int", "int(11)"), false},
		{"bigint from int", col("int", "int(11)"), col("bigint", "bigint(20)"), true},
		{"unsigned int into bigint", col("int", "int(10) unsigned", unsigned), col("bigint", "bigint(20)"), true},
		{"unsigned int into int", col("int", "int(10) unsigned", unsigned), col("int", "int(11)"), false},
		{"signed into unsigned", col("int", "int(11)"), col("bigint", "bigint(20) unsigned", unsigned), false},
		{"varchar narrower", col("varchar", "varchar(40)"), col("varchar", "varchar(20)"), false},
		{"varchar wider", col("varchar", "varchar(20)"), col("varchar", "varchar(40)"), true},
		{"text into varchar", col("text", "text"), col("varchar", "varchar(255)"), false},
		{"utf8mb4 into latin1", col("varchar", "varchar(20)"), col("varchar", "varchar(20)", latin1), false},
		{"latin1 into utf8mb4", col("varchar", "varchar(20)", latin1), col("varchar", "varchar(20)"), true},
		{"NULL into NOT NULL", col("int", "int(11)", nullable), col("int", "int(11)"), false},
		{"decimal wider", col("decimal", "decimal(10,2)", dec(10, 2)), col("decimal", "decimal(12,2)", dec(12, 2)), true},
		{"decimal fewer places", col("decimal", "decimal(10,3)", dec(10, 3)), col("decimal", "decimal(10,2)", dec(10, 2)), false},
		{"enum member added", col("enum", "enum('a','b','c')", enum("a", "b", "c")), col("enum", "enum('a','b')", enum("a", "b")), false},
		{"enum member removed", col("enum", "enum('a')", enum("a")), col("enum", "enum('a','b')", enum("a", "b")), true},
		{"int into varchar", col("int", "int(11)"), col("varchar", "varchar(20)"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			why := convertsBack(tc.from, tc.to)
			if (why == "") != tc.ok {
				t.Errorf("convertsBack(%s → %s) = %q, want ok=%v", tc.from.ColumnType, tc.to.ColumnType, why, tc.ok)
			}
		})
	}
}

// TestRevertConfig: the revert's settings go together, and --alter is not needed for a revert.
func TestRevertConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Config)
		want string // "" for accepted
	}{
		{"revert", func(c *Config) { c.Alter, c.Revert, c.OldTable = "", true, "_t_del" }, ""},
		{"window", func(c *Config) { c.RevertWindow = time.Hour }, ""},
		{"revert without old table", func(c *Config) { c.Revert = true }, "--revert and --old-table go together"},
		{"old table without revert", func(c *Config) { c.OldTable = "_t_del" }, "--revert and --old-table go together"},
		{"revert with resume", func(c *Config) { c.Revert, c.OldTable, c.Resume = true, "_t_del", true }, "cannot be combined"},
		{"revert with a window", func(c *Config) { c.Revert, c.OldTable, c.RevertWindow = true, "_t_del", time.Hour }, "cannot be combined"},
		{"window on a rehearsal", func(c *Config) { c.RevertWindow, c.TestOnReplica = time.Hour, true }, "not with --test-on-replica"},
		{"negative window", func(c *Config) { c.RevertWindow = -time.Second }, "give a positive duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Database, c.Table, c.Alter, c.Conn.Port = "d", "t", "ADD COLUMN x INT", 3306
			tc.set(&c)
			err := c.Check()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
