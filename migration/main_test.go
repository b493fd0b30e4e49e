package migration

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sandbox"
	"github.com/doppel-sql/doppel/internal/verify"
)

var sb *sandbox.Sandbox

func TestMain(m *testing.M) { sandbox.RunTests(m, sandbox.Options{}, &sb) }

// testConfig is a migration of db.t through the replica, as gh-ost runs by default.
func testConfig(db, alter string) Config {
	c := DefaultConfig()
	c.Conn = sb.Replica.Config()
	c.Database, c.Table, c.Alter = db, "t", alter
	c.Execute = true
	c.CutOverLockTimeout = 2 * time.Second
	c.DefaultRetries = 3
	// gh-ost's host-wide pause file must not pause the tests.
	c.Throttle.AdditionalFlagFile = ""
	return c
}

func exec(t *testing.T, db *sql.DB, queries ...string) {
	t.Helper()
	sandbox.MustExec(t, db, queries...)
}

// newTable creates db.t with n rows and returns a pool on the primary.
func newTable(t *testing.T, n int) (string, *sql.DB) {
	t.Helper()
	name, db := sb.NewDB(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, n INT NULL)")
	if n > 0 {
		exec(t, db, fmt.Sprintf("INSERT INTO t SELECT seq, CONCAT('v', seq), seq %% 7 FROM seq_1_to_%d", n))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	return name, db
}

func tableList(t *testing.T, db *sql.DB) string { t.Helper(); return sandbox.Tables(t, db) }

func checksum(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	var name, sum sql.NullString
	if err := db.QueryRow("CHECKSUM TABLE `"+table+"` EXTENDED").Scan(&name, &sum); err != nil {
		t.Fatal(err)
	}
	return sum.String
}

func showCreate(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	var name, ddl string
	if err := db.QueryRow("SHOW CREATE TABLE `"+table+"`").Scan(&name, &ddl); err != nil {
		t.Fatal(err)
	}
	return ddl
}

// expectRefusal runs cfg and checks it is refused with want in the message, before anything was
// created.
func expectRefusal(t *testing.T, cfg Config, db *sql.DB, want string) {
	t.Helper()
	before := tableList(t, db)
	_, err := Run(context.Background(), cfg)
	if err == nil {
		t.Fatalf("not refused, want %q", want)
	}
	if !IsRefusal(err) || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q (refusal: %v), want a refusal containing %q", err, IsRefusal(err), want)
	}
	if after := tableList(t, db); after != before {
		t.Fatalf("tables changed from %q to %q", before, after)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	name, db := newTable(t, 100)
	cfg := testConfig(name, "ADD COLUMN x INT NULL")
	cfg.Execute = false
	var out bytes.Buffer
	cfg.Out = &out
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun {
		t.Error("not reported as a dry run")
	}
	if got := tableList(t, db); got != "t" {
		t.Errorf("tables %q after a dry run", got)
	}
	for _, want := range []string{"replica 127.0.0.1:", "`PRIMARY` (`id`)", "added (filled with their default): `x`",
		"verdict  safe", "INSTANT", "deployment", "Nothing was changed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMigrateOnMaster(t *testing.T) {
	name, db := newTable(t, 3000)
	cfg := testConfig(name, "MODIFY v VARCHAR(40) NOT NULL, ADD INDEX (n)")
	cfg.Conn = sb.Primary.Config()
	cfg.AllowOnMaster = true
	cfg.OkToDropTable = true
	before := checksum(t, db, "t")
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsCopied != 3000 || res.OldTable != "" {
		t.Errorf("result %+v", res)
	}
	if got := tableList(t, db); got != "t" {
		t.Errorf("tables %q, want t alone (--ok-to-drop-table)", got)
	}
	if !strings.Contains(showCreate(t, db, "t"), "varchar(40)") {
		t.Errorf("not altered:\n%s", showCreate(t, db, "t"))
	}
	if after := checksum(t, db, "t"); after != before {
		t.Errorf("checksum %s after, %s before: the VARCHAR widening must not change data", after, before)
	}
}

// TestFailedCutOverAttemptKeepsQueuedWrites fails the first cut-over attempt after its last catch-up,
// with writes queued behind its lock: those writes reach the original once the lock is let go, and
// the replay must apply them like any other, not take them for writes that got past a swap. The
// second attempt swaps; the migrated table must hold every write.
func TestFailedCutOverAttemptKeepsQueuedWrites(t *testing.T) {
	name, db := newTable(t, 3000)
	cfg := testConfig(name, "MODIFY v VARCHAR(40) NOT NULL")
	var failed atomic.Bool
	var writes sync.WaitGroup
	var writeErrs atomic.Int64
	cfg.Failpoint = func(step string) {
		if step == "cutover:failed" {
			// A slow clean-up of the failed attempt: the replay meets the queued writes before
			// the attempt has ended.
			time.Sleep(500 * time.Millisecond)
		}
		if step != "cutover:rename-queued" || !failed.CompareAndSwap(false, true) {
			return
		}
		// The original is locked and doppel's RENAME waits: queue writes behind them.
		queued := []string{
			"INSERT INTO t VALUES (5001, 'queued insert', 1)",
			"UPDATE t SET v = 'queued update' WHERE id = 10",
			"DELETE FROM t WHERE id = 20",
			"UPDATE t SET id = 5002 WHERE id = 30",
		}
		for _, q := range queued {
			writes.Add(1)
			go func() {
				defer writes.Done()
				if _, err := db.Exec(q); err != nil {
					writeErrs.Add(1)
					t.Errorf("%s: %v", q, err)
				}
			}()
		}
		waitProcesslist(t, db, "(INFO LIKE 'INSERT%' OR INFO LIKE 'UPDATE%' OR INFO LIKE 'DELETE%') AND STATE LIKE 'Waiting for%'", len(queued))
		// Now make the attempt fail: kill the RENAME, so unlocking renames nothing.
		var id int64
		if err := db.QueryRow("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'RENAME TABLE%'").Scan(&id); err != nil {
			t.Errorf("finding doppel's RENAME: %v", err)
			return
		}
		if _, err := db.Exec(fmt.Sprintf("KILL QUERY %d", id)); err != nil {
			t.Errorf("killing doppel's RENAME: %v", err)
		}
	}
	res, err := Run(context.Background(), cfg)
	writes.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !failed.Load() || res.CutOver.Attempts != 2 {
		t.Fatalf("cut-over in %d attempt(s), want the first failed and the second swapped", res.CutOver.Attempts)
	}
	if writeErrs.Load() > 0 {
		return
	}
	if got, want := checksum(t, db, "t"), checksum(t, db, "_t_del"); got != want {
		t.Errorf("the migrated table's checksum is %s, the original's %s: writes queued behind the failed attempt are missing", got, want)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM t WHERE id IN (5001, 5002) OR v = 'queued update'").Scan(&n); err != nil || n != 3 {
		t.Errorf("%d of the 3 rows written behind the failed attempt are in the migrated table (%v)", n, err)
	}
}

// waitProcesslist waits until at least n sessions match the processlist condition where.
func waitProcesslist(t *testing.T, db *sql.DB, where string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got int
		if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE " + where).Scan(&got); err != nil {
			t.Errorf("reading the processlist: %v", err)
			return
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d sessions match %s, want %d", got, where, n)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMasterMaster makes the sandbox a pair of primaries for the test's length (the primary also
// replicates from the replica, as an active-passive pair does) and migrates through it: refused
// without --allow-master-master, done with it from the replica and from the primary.
func TestMasterMaster(t *testing.T) {
	name, db := newTable(t, 2000)
	ctx := context.Background()
	replica, err := sb.Replica.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	st, err := dbconn.ReadBinlogStatus(ctx, replica, sb.Flavor)
	if err != nil {
		t.Fatal(err)
	}
	r := sb.Replica.Config()
	exec(t, db, sb.Flavor.ChangeSourceSQL(r.Host, r.Port, r.User, r.Password, st.File, st.Pos), sb.Flavor.StartReplicaSQL())
	defer exec(t, db, sb.Flavor.StopReplicaSQL(), sb.Flavor.ResetReplicaAllSQL())

	cfg := testConfig(name, "ADD COLUMN x INT NULL")
	_, err = Run(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "--allow-master-master") {
		t.Fatalf("a primary that is a replica too: %v, want a refusal naming --allow-master-master", err)
	}
	if got := tableList(t, db); got != "t" {
		t.Fatalf("tables %q after the refusal, want t alone", got)
	}

	cfg.AllowMasterMaster = true
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatalf("from the replica with --allow-master-master: %v", err)
	}
	cfg = testConfig(name, "ADD COLUMN y INT NULL")
	cfg.Conn, cfg.AllowOnMaster, cfg.AllowMasterMaster, cfg.InitiallyDropOldTable = sb.Primary.Config(), true, true, true
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatalf("on the primary with --allow-on-master --allow-master-master: %v", err)
	}
	if ddl := showCreate(t, db, "t"); !strings.Contains(ddl, "`x` int") || !strings.Contains(ddl, "`y` int") {
		t.Errorf("not migrated twice:\n%s", ddl)
	}
	var differ, rows int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM t a LEFT JOIN _t_del b USING (id) WHERE b.id IS NULL OR NOT (a.v <=> b.v AND a.n <=> b.n)),
		(SELECT COUNT(*) FROM t)`).Scan(&differ, &rows); err != nil {
		t.Fatal(err)
	}
	if differ != 0 || rows != 2000 {
		t.Errorf("%d of %d rows differ from the previous table, want 0 of 2000", differ, rows)
	}
}

func TestRefusesPrimaryWithoutAllowOnMaster(t *testing.T) {
	name, db := newTable(t, 10)
	cfg := testConfig(name, "ADD COLUMN x INT")
	cfg.Conn = sb.Primary.Config()
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "--allow-on-master") {
		t.Fatalf("error %v, want one naming --allow-on-master", err)
	}
	if got := tableList(t, db); got != "t" {
		t.Errorf("tables %q", got)
	}
}

func TestRefusesBinlogSettings(t *testing.T) {
	name, db := newTable(t, 10)
	admin, err := sb.Replica.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, tc := range []struct{ set, restore, want string }{
		{"SET GLOBAL binlog_format = 'MIXED'", "SET GLOBAL binlog_format = 'ROW'", "binlog_format is MIXED"},
		{"SET GLOBAL binlog_row_image = 'MINIMAL'", "SET GLOBAL binlog_row_image = 'FULL'", "binlog_row_image is MINIMAL"},
	} {
		exec(t, admin, tc.set)
		expectRefusal(t, testConfig(name, "ADD COLUMN x INT"), db, tc.want)
		exec(t, admin, tc.restore)
	}
}

func TestRefusesReadOnlyPrimary(t *testing.T) {
	name, db := newTable(t, 10)
	exec(t, db, "SET GLOBAL read_only = 1")
	defer exec(t, db, "SET GLOBAL read_only = 0")
	expectRefusal(t, testConfig(name, "ADD COLUMN x INT"), db, "read-only")
}

func TestRefusesMissingPrivileges(t *testing.T) {
	name, db := newTable(t, 10)
	user := "limited_" + name
	exec(t, db,
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY 'pw'", user),
		fmt.Sprintf("GRANT SELECT, INSERT, UPDATE, DELETE ON `%s`.* TO '%s'@'%%'", name, user),
		fmt.Sprintf("GRANT REPLICATION SLAVE, REPLICATION CLIENT, SLAVE MONITOR ON *.* TO '%s'@'%%'", user),
	)
	defer exec(t, db, fmt.Sprintf("DROP USER '%s'@'%%'", user))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(name, "ADD COLUMN x INT")
	cfg.Conn.User, cfg.Conn.Password = user, "pw"
	expectRefusal(t, cfg, db, "lacks CREATE, DROP, ALTER, LOCK TABLES")
}

func TestRefusesBinlogOff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	off, err := sandbox.Start(ctx, sandbox.Options{NoReplica: true, ExtraArgs: []string{"--skip-log-bin"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := off.Stop(); err != nil {
			t.Error(err)
		}
	}()
	db, err := off.Primary.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec(t, db, "CREATE DATABASE d", "CREATE TABLE d.t (id INT PRIMARY KEY)")
	cfg := testConfig("d", "ADD COLUMN x INT")
	cfg.Conn = off.Primary.Config()
	cfg.AllowOnMaster = true
	_, err = Run(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "log_bin=OFF") {
		t.Fatalf("error %v, want one about log_bin", err)
	}
}

// TestCancelThenResume is Ctrl-C in the middle of the copy: the original stays as it was, the ghost
// and changelog are kept with a checkpoint, and --resume finishes the job without starting over.
func TestCancelThenResume(t *testing.T) {
	name, db := newTable(t, 20000)
	cfg := testConfig(name, "ADD COLUMN x INT")
	cfg.ChunkSize = 10
	cfg.CheckpointInterval = 50 * time.Millisecond
	err := runUntilCopied(cfg, db, 2000)
	if err == nil || !strings.Contains(err.Error(), "run the same command with --resume to continue") {
		t.Fatalf("error %v, want one saying how to resume", err)
	}
	if !Untouched(err) {
		t.Errorf("a cancelled copy does not count as leaving the original untouched: %v", err)
	}
	if got := tableList(t, db); got != "_t_ghc,_t_gho,t" {
		t.Errorf("tables %q after cancelling, want the ghost and changelog kept", got)
	}
	before := checksum(t, db, "t")
	// Writes while doppel is away must reach the ghost through the binlog.
	exec(t, db, "UPDATE t SET v = 'while away' WHERE id IN (1, 19999)", "DELETE FROM t WHERE id = 2", "INSERT INTO t VALUES (30000, 'new', 1)")

	// Without --resume, a second run refuses and says how to continue.
	cfg.ChunkSize = 1000
	_, err = Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "add --resume") {
		t.Fatalf("a run over a stopped one: %v, want a refusal that names --resume", err)
	}
	cfg.Resume = true
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsCopied >= 20000 {
		t.Errorf("the resumed run copied %d rows: it started over", res.RowsCopied)
	}
	var n int
	var v string
	if err := db.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 20000 {
		t.Errorf("%d rows after the resume (%v), want 20000", n, err)
	}
	if err := db.QueryRow("SELECT v FROM t WHERE id = 19999").Scan(&v); err != nil || v != "while away" {
		t.Errorf("a change made while doppel was away is lost: %q %v", v, err)
	}
	if checksum(t, db, "_t_del") == before {
		t.Error("the old table did not get the changes made while doppel was away")
	}
	exec(t, db, "ALTER TABLE _t_del ADD COLUMN x INT")
	if checksum(t, db, "_t_del") != checksum(t, db, "t") {
		t.Error("the resumed migration differs from the original")
	}
}

// TestResumeByGTIDOnAnotherServer is gh-ost's --gtid use: a run reading the replica stops, and
// resumes reading another server (the primary, as after a failover) from the checkpoint's GTID set,
// with every change made meanwhile. Without --gtid the other server is refused.
func TestResumeByGTIDOnAnotherServer(t *testing.T) {
	name, db := newTable(t, 20000)
	cfg := testConfig(name, "ADD COLUMN x INT")
	cfg.GTID = true
	cfg.ChunkSize = 10
	cfg.CheckpointInterval = 50 * time.Millisecond
	if err := runUntilCopied(cfg, db, 2000); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("error %v, want one saying how to resume", err)
	}
	var recorded string
	if err := db.QueryRow("SELECT value FROM _t_ghc WHERE hint = 'checkpoint'").Scan(&recorded); err != nil || !strings.Contains(recorded, `"gtid_set":"0-`) {
		t.Fatalf("the checkpoint holds no GTID set: %q %v", recorded, err)
	}
	exec(t, db, "UPDATE t SET v = 'while away' WHERE id IN (1, 19999)", "DELETE FROM t WHERE id = 2", "INSERT INTO t VALUES (30000, 'new', 1)")

	cfg.Conn, cfg.AllowOnMaster, cfg.Resume, cfg.ChunkSize = sb.Primary.Config(), true, true, 1000
	cfg.GTID = false
	expectRefusal(t, cfg, db, "resume with --gtid")
	cfg.GTID = true
	before := checksum(t, db, "t")
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsCopied >= 20000 {
		t.Errorf("the resumed run copied %d rows: it started over", res.RowsCopied)
	}
	if checksum(t, db, "_t_del") != before {
		t.Error("the original changed")
	}
	exec(t, db, "ALTER TABLE _t_del ADD COLUMN x INT")
	if checksum(t, db, "_t_del") != checksum(t, db, "t") {
		t.Error("the migration resumed on another server differs from the original")
	}
}

// TestResumeRefusals: a resume is refused when it cannot continue the stopped run.
func TestResumeRefusals(t *testing.T) {
	name, db := newTable(t, 5000)
	cfg := testConfig(name, "ADD COLUMN x INT")
	cfg.Resume = true
	expectRefusal(t, cfg, db, "no stopped run to continue")

	cfg.Resume = false
	cfg.ChunkSize = 10
	cfg.CheckpointInterval = 50 * time.Millisecond
	_ = runUntilCopied(cfg, db, 1000)
	if got := tableList(t, db); got != "_t_ghc,_t_gho,t" {
		t.Fatalf("tables %q", got)
	}
	cfg.Resume = true
	cfg.Alter = "ADD COLUMN y INT"
	expectRefusal(t, cfg, db, "resume with the same ALTER")
	cfg.Alter = "ADD COLUMN x INT"

	// The binary logs the stopped run still needs are purged from the server it reads them on.
	replica, err := sb.Replica.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	purgeBinlogs(t, replica)
	expectRefusal(t, cfg, db, "have been purged")

	exec(t, db, "ALTER TABLE t ADD COLUMN z INT NULL")
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel2()
	if err := sb.WaitReplica(ctx2); err != nil {
		t.Fatal(err)
	}
	expectRefusal(t, cfg, db, "has changed since the stopped run")
}

// runUntilCopied runs a migration and cancels it, as Ctrl-C would, once the ghost table holds more
// than rows rows.
func runUntilCopied(cfg Config, db *sql.DB, rows int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			var n int
			if db.QueryRow("SELECT COUNT(*) FROM _t_gho").Scan(&n) == nil && n > rows {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	_, err := Run(ctx, cfg)
	return err
}

// purgeBinlogs starts a new binary log on db's server and purges every one before it. The server
// keeps a file that a binlog dump thread still reads (a reader closing down), with a warning only,
// so the purge is repeated until the new file is the oldest.
func purgeBinlogs(t *testing.T, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	exec(t, db, "FLUSH BINARY LOGS")
	st, err := dbconn.ReadBinlogStatus(ctx, db, sb.Flavor)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		exec(t, db, "PURGE BINARY LOGS TO '"+st.File+"'")
		files, err := dbconn.BinlogFiles(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("binary logs %v are still on the server after purging those before %s", files, st.File)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestConcurrentAlterStops: someone else alters the original table while doppel copies it.
func TestConcurrentAlterStops(t *testing.T) {
	name, db := newTable(t, 20000)
	cfg := testConfig(name, "ADD COLUMN x INT")
	cfg.ChunkSize = 10
	done := make(chan error, 1)
	go func() { _, err := Run(context.Background(), cfg); done <- err }()
	for {
		var n int
		if db.QueryRow("SELECT COUNT(*) FROM _t_gho").Scan(&n) == nil && n > 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	exec(t, db, "ALTER TABLE t ADD COLUMN other INT NULL")
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "another session changed") {
		t.Fatalf("error %v, want doppel to notice the concurrent ALTER", err)
	}
	if got := tableList(t, db); got != "t" {
		t.Errorf("tables %q, want t alone", got)
	}
}

// TestAutoIncrementCarriedOver: ids freed by deleting the last rows must not be handed out again
// after the swap.
func TestAutoIncrementCarriedOver(t *testing.T) {
	name := sb.NewDatabase(t)
	db, err := sb.Primary.DB(name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec(t, db, "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)",
		"INSERT INTO t (v) SELECT seq FROM seq_1_to_100", "DELETE FROM t WHERE id > 50")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	var counter int64
	if err := db.QueryRow("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't'", name).Scan(&counter); err != nil {
		t.Fatal(err)
	}
	if counter <= 51 {
		t.Fatalf("counter %d: the test needs a gap after the last row", counter)
	}
	if _, err := Run(ctx, testConfig(name, "ADD COLUMN x INT NULL")); err != nil {
		t.Fatal(err)
	}
	res, err := db.Exec("INSERT INTO t (v) VALUES (0)")
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := res.LastInsertId(); id != counter {
		t.Errorf("new row got id %d, want %d (the original's counter)", id, counter)
	}
}

func TestRefusesNotNullWithoutDefault(t *testing.T) {
	name, db := newTable(t, 10)
	expectRefusal(t, testConfig(name, "ADD COLUMN x INT NOT NULL"), db, "NOT NULL without a DEFAULT")
}

func TestAttemptInstantDDL(t *testing.T) {
	name, db := newTable(t, 1000)
	cfg := testConfig(name, "ADD COLUMN x INT NULL")
	cfg.AttemptInstantDDL = true
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Instant || res.RowsCopied != 0 {
		t.Fatalf("result %+v, want an instant ALTER", res)
	}
	if got := tableList(t, db); got != "t" {
		t.Errorf("tables %q: an instant ALTER creates nothing", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	// Changing a column's type cannot be instant: doppel copies as usual.
	cfg = testConfig(name, "MODIFY n BIGINT NULL")
	cfg.AttemptInstantDDL = true
	res, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Instant || res.RowsCopied != 1000 {
		t.Fatalf("result %+v, want a copy", res)
	}
}

// TestAttemptInstantDDLIsBounded: while a long transaction holds the table's metadata lock, each
// instant attempt waits at most twice --cut-over-lock-timeout-seconds, so the writes that queue
// behind it stall no longer; after its attempts doppel copies instead, and swaps once the
// transaction has ended.
func TestAttemptInstantDDLIsBounded(t *testing.T) {
	name, db := newTable(t, 1000)
	cfg := testConfig(name, "ADD COLUMN x INT NULL")
	cfg.AttemptInstantDDL = true
	cfg.CutOverLockTimeout = time.Second // each attempt waits up to 2 s
	cfg.DefaultRetries = 30
	ctx := context.Background()
	long, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	if _, err := long.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := long.ExecContext(ctx, "SELECT COUNT(*) FROM t"); err != nil { // holds the metadata lock until COMMIT
		t.Fatal(err)
	}
	// A writer measures its longest stall while doppel tries.
	stop := make(chan struct{})
	stalls := make(chan time.Duration, 1)
	go func() {
		var worst time.Duration
		defer func() { stalls <- worst }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			if _, err := db.Exec("UPDATE t SET n = n + 1 WHERE id = ?", 1+i%1000); err != nil {
				t.Error(err)
				return
			}
			worst = max(worst, time.Since(start))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	done := make(chan error, 1)
	var res *Result
	go func() { var err error; res, err = Run(ctx, cfg); done <- err }()
	time.Sleep(9 * time.Second) // three attempts of 2 s, and the pauses between them
	close(stop)
	worst := <-stalls
	if _, err := long.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if worst > 3*time.Second {
		t.Errorf("a write stalled %s behind the instant attempts; each may wait 2 s", worst)
	}
	if worst < time.Second {
		t.Errorf("the longest stall was %s: the attempts did not wait for the lock", worst)
	}
	if res.Instant {
		t.Error("the instant ALTER ran while the transaction held the table")
	}
	if !strings.Contains(showCreate(t, db, "t"), "`x` int(11) DEFAULT NULL") {
		t.Errorf("the column was not added:\n%s", showCreate(t, db, "t"))
	}
}

// TestDeferredIndexes: the plain secondary indexes are built after the copy and the table comes out
// exactly as a native ALTER makes it; an index doppel cannot rebuild exactly stays during the copy.
func TestDeferredIndexes(t *testing.T) {
	const plain = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, n INT NULL, " +
		"KEY k_v (v(5) DESC, n) COMMENT 'it''s a prefix', UNIQUE KEY u_v (v), KEY k_n (n))"
	for _, tc := range []struct {
		name, create, log string
		mode              IndexDeferral
		parallel          bool // the replica applies in parallel
	}{
		{"rebuilt exactly", plain, "secondary indexes deferred", DeferAlways, false},
		{"ignored index kept", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, n INT NULL, KEY k_n (n) IGNORED)",
			"copying with every index", DeferAlways, false},
		// The sandbox's primary has a replica: by default the indexes are kept during the copy.
		{"kept with a replica", plain, "secondary indexes kept during the copy", DeferWithoutReplicas, false},
		// A replica that applies in parallel starts a two-phase ALTER with the primary.
		{"two phases with a parallel replica", plain, "logged in two phases", DeferWithoutReplicas, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := sb.NewDatabase(t)
			db, err := sb.Primary.DB(name)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			exec(t, db, tc.create, "INSERT INTO t SELECT seq, CONCAT('v', seq), seq % 7 FROM seq_1_to_3000",
				"CREATE TABLE native LIKE t", "INSERT INTO native SELECT * FROM t")
			const alter = "ADD COLUMN x INT NULL, ADD INDEX k_x (x, n)"
			exec(t, db, "ALTER TABLE native "+alter)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := sb.WaitReplica(ctx); err != nil {
				t.Fatal(err)
			}
			if tc.parallel {
				replicaParallelThreads(t, 4)
				t.Cleanup(func() { replicaParallelThreads(t, 0) })
			}
			core, logs := observer.New(zap.InfoLevel)
			cfg := testConfig(name, alter)
			cfg.Logger = zap.New(core)
			cfg.DeferIndexes = tc.mode
			if _, err := Run(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			if logs.FilterMessageSnippet(tc.log).Len() != 1 {
				var msgs []string
				for _, e := range logs.All() {
					msgs = append(msgs, e.Message)
				}
				t.Errorf("no %q in the log: %q", tc.log, msgs)
			}
			got := strings.Replace(showCreate(t, db, "t"), "CREATE TABLE `t`", "CREATE TABLE `native`", 1)
			if want := showCreate(t, db, "native"); got != want {
				t.Errorf("migrated table:\n%s\nnative ALTER:\n%s", got, want)
			}
			if checksum(t, db, "t") != checksum(t, db, "native") {
				t.Error("rows differ from the native ALTER's")
			}
		})
	}
}

// replicaParallelThreads sets the replica's slave_parallel_threads, which only a stopped replica
// takes.
func replicaParallelThreads(t *testing.T, n int) {
	t.Helper()
	rdb, err := sb.Replica.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	exec(t, rdb, "STOP SLAVE", fmt.Sprintf("SET GLOBAL slave_parallel_threads = %d", n), "START SLAVE")
}

// TestPanicOnWarnings: narrowing a DECIMAL rounds values with a note from the server; with
// --panic-on-warnings that stops the migration, without it the rounding is the ALTER's meaning.
func TestPanicOnWarnings(t *testing.T) {
	name := sb.NewDatabase(t)
	db, err := sb.Primary.DB(name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, d DECIMAL(10,2) NOT NULL)", "INSERT INTO t SELECT seq, seq + 0.25 FROM seq_1_to_100")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(name, "MODIFY d DECIMAL(10,1) NOT NULL")
	cfg.PanicOnWarnings = true
	cfg.Checkpoint = false
	_, err = Run(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "--panic-on-warnings") || !strings.Contains(err.Error(), "1265") {
		t.Fatalf("error %v, want the server's note 1265 with --panic-on-warnings", err)
	}
	if got := tableList(t, db); got != "t" {
		t.Errorf("tables %q", got)
	}
	cfg.PanicOnWarnings = false
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}

// corruptingHook writes an on-row-copy-complete hook that runs statements on the primary, after
// the copy and before the verification.
func corruptingHook(t *testing.T, statements ...string) string {
	t.Helper()
	return hookRunning(t, "gh-ost-on-row-copy-complete", statements...)
}

// hookRunning writes the hook named hook, which runs statements on the primary.
func hookRunning(t *testing.T, hook string, statements ...string) string {
	t.Helper()
	client, err := osexec.LookPath("mariadb")
	if err != nil {
		if client, err = osexec.LookPath("mysql"); err != nil {
			t.Fatal("no mariadb or mysql client to corrupt the ghost table with")
		}
	}
	dir := t.TempDir()
	p := sb.Primary.Config()
	script := fmt.Sprintf("#!/bin/sh\nexec %s -h%s -P%d -u%s \"$GH_OST_DATABASE_NAME\" -e %q\n", client, p.Host, p.Port, p.User, strings.Join(statements, "; "))
	if err := os.WriteFile(filepath.Join(dir, hook), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestVerifyRepairsAndRefuses: a ghost row changed behind doppel's back is found before the swap and
// re-copied; a difference that comes back (a trigger on the ghost) makes doppel refuse to swap and
// name the key range.
func TestVerifyRepairsAndRefuses(t *testing.T) {
	name, db := newTable(t, 3000)
	cfg := testConfig(name, "ADD INDEX (n)")
	cfg.HooksPath = corruptingHook(t, "UPDATE _t_gho SET v = 'corrupt' WHERE id = 1234")
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verified == nil || res.Verified.Repaired != 1 {
		t.Fatalf("verification %+v, want one chunk repaired", res.Verified)
	}
	var v string
	if err := db.QueryRow("SELECT v FROM t WHERE id = 1234").Scan(&v); err != nil || v != "v1234" {
		t.Errorf("row 1234 is %q after the swap (%v), want v1234", v, err)
	}

	name, db = newTable(t, 3000)
	before := checksum(t, db, "t")
	cfg = testConfig(name, "ADD INDEX (n)")
	cfg.Checkpoint = false
	cfg.HooksPath = corruptingHook(t,
		"CREATE TRIGGER spoil BEFORE INSERT ON _t_gho FOR EACH ROW SET NEW.v = IF(NEW.id = 2345, 'spoiled', NEW.v)",
		"UPDATE _t_gho SET v = 'spoiled' WHERE id = 2345")
	_, err = Run(context.Background(), cfg)
	var mismatch *verify.MismatchError
	if !errors.As(err, &mismatch) || !strings.Contains(err.Error(), "does not cut over") {
		t.Fatalf("error %v, want a mismatch naming the key range", err)
	}
	if got := tableList(t, db); got != "t" || checksum(t, db, "t") != before {
		t.Errorf("tables %q after a refused swap, or the original changed", got)
	}
}
