package migration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/verify"
	"github.com/doppel-sql/doppel/table"
)

// TestReplayedRowsVerifiedBeforeSwap: the rows the replay changes after the checksum's consistent
// point are compared again before the swap, at a consistent point of their own when there are many
// and under the cut-over's lock for the last ones. A replayed row spoiled behind doppel's back is
// found either way and the swap is refused.
func TestReplayedRowsVerifiedBeforeSwap(t *testing.T) {
	t.Run("many rows, at a consistent point", func(t *testing.T) {
		name, db := newTable(t, 3000)
		before := checksum(t, db, "t")
		cfg := testConfig(name, "ADD INDEX (n)")
		cfg.Checkpoint = false
		// After the checksum: 2500 rows change (more than the cut-over compares under its lock),
		// and a trigger on the ghost spoils one of them as the replay writes it.
		cfg.HooksPath = hookRunning(t, "gh-ost-on-before-cut-over",
			"CREATE TRIGGER spoil BEFORE UPDATE ON _t_gho FOR EACH ROW SET NEW.v = IF(NEW.id = 2345, 'spoiled', NEW.v)",
			"UPDATE t SET n = n + 1 WHERE id <= 2500")
		_, err := Run(context.Background(), cfg)
		var mismatch *verify.MismatchError
		if !errors.As(err, &mismatch) || len(mismatch.Keys) != 1 || table.FormatKey(mismatch.Keys[0]) != "2345" {
			t.Fatalf("error %v, want a mismatch naming the row 2345", err)
		}
		// The update of the hook went to the original; nothing else changed it.
		exec(t, db, "UPDATE t SET n = n - 1 WHERE id <= 2500")
		if got := tableList(t, db); got != "t" || checksum(t, db, "t") != before {
			t.Errorf("tables %q after a refused swap, or the original changed", got)
		}
	})
	t.Run("the last rows, under the cut-over's lock", func(t *testing.T) {
		name, db := newTable(t, 3000)
		cfg := testConfig(name, "ADD INDEX (n)")
		cfg.Checkpoint = false
		cfg.Logger = zaptest.NewLogger(t)
		var once sync.Once
		cfg.Failpoint = func(step string) {
			if step != "cutover:sentry" {
				return
			}
			once.Do(func() {
				// A change the replay applies after every comparison, then spoiled in the ghost.
				exec(t, db, "UPDATE t SET v = 'changed' WHERE id = 77")
				waitFor(t, func() bool {
					var v string
					return db.QueryRow("SELECT v FROM _t_gho WHERE id = 77").Scan(&v) == nil && v == "changed"
				})
				exec(t, db, "UPDATE _t_gho SET v = 'spoiled' WHERE id = 77")
			})
		}
		_, err := Run(context.Background(), cfg)
		var mismatch *verify.MismatchError
		if !errors.As(err, &mismatch) || len(mismatch.Keys) != 1 || table.FormatKey(mismatch.Keys[0]) != "77" {
			t.Fatalf("error %v, want a mismatch naming the row 77", err)
		}
		var v string
		if err := db.QueryRow("SELECT v FROM t WHERE id = 77").Scan(&v); err != nil || v != "changed" {
			t.Errorf("the original's row 77 holds %q (%v)", v, err)
		}
		if got := tableList(t, db); got != "t" {
			t.Errorf("tables %q after a refused swap", got)
		}
	})
}

// TestNewUniqueKeyCollisions: a row written during the migration that repeats another row's value
// under the unique key the ALTER adds is never dropped. A collision that the application removes
// before the swap leaves every row in the new table; one that stays makes doppel refuse to swap,
// naming the key; with --panic-on-warnings the migration stops at the first.
func TestNewUniqueKeyCollisions(t *testing.T) {
	setUp := func(t *testing.T) (string, *sql.DB) {
		name, db := sb.NewDB(t, "CREATE TABLE t (id INT PRIMARY KEY, u INT NULL, v VARCHAR(20) NOT NULL)")
		exec(t, db, "INSERT INTO t SELECT seq, seq, CONCAT('v', seq) FROM seq_1_to_2000")
		waitReplica(t)
		return name, db
	}
	config := func(name string) Config {
		cfg := testConfig(name, "ADD UNIQUE KEY uk (u)")
		cfg.AllowUniqueKeyChange = true
		cfg.Checkpoint = false
		cfg.ChunkSize = 100
		cfg.ChunkTarget = 0
		return cfg
	}
	// atChunk runs f once, as the copy passes its nth chunk.
	atChunk := func(cfg *Config, steps map[int]func()) {
		var mu sync.Mutex
		n := 0
		cfg.Failpoint = func(step string) {
			if step != "copy:chunk" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			n++
			if f := steps[n]; f != nil {
				f()
			}
		}
	}
	t.Run("removed before the swap", func(t *testing.T) {
		name, db := setUp(t)
		cfg := config(name)
		atChunk(&cfg, map[int]func(){
			2:  func() { exec(t, db, "INSERT INTO t VALUES (5000, 7, 'dup')") },
			12: func() { exec(t, db, "UPDATE t SET u = 5000 WHERE id = 5000") },
		})
		if _, err := Run(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		exec(t, db, "UPDATE t SET u = 5000 WHERE id = 5000") // the same table again, for the checksum
		if got := checksumColumns(t, db, "t"); got != checksumColumns(t, db, "_t_del") {
			t.Errorf("the new table differs from the old one")
		}
		var rows int
		if err := db.QueryRow("SELECT COUNT(*) FROM t").Scan(&rows); err != nil || rows != 2001 {
			t.Errorf("%d rows after the swap (%v), want 2001", rows, err)
		}
	})
	t.Run("still there at the swap", func(t *testing.T) {
		name, db := setUp(t)
		cfg := config(name)
		atChunk(&cfg, map[int]func(){2: func() { exec(t, db, "INSERT INTO t VALUES (5000, 7, 'dup')") }})
		_, err := Run(context.Background(), cfg)
		if !errors.Is(err, table.ErrCollision) || !strings.Contains(err.Error(), "`uk`") || !strings.Contains(err.Error(), "`id` = 5000") {
			t.Fatalf("error %v, want a collision under `uk` naming the row 5000", err)
		}
		if got := tableList(t, db); got != "t" {
			t.Errorf("tables %q after a refused swap", got)
		}
	})
	t.Run("copied into a collision", func(t *testing.T) {
		name, db := setUp(t)
		cfg := config(name)
		// Row 1900 is copied after row 3 is: it takes row 3's value before the copy reaches it.
		atChunk(&cfg, map[int]func(){2: func() { exec(t, db, "UPDATE t SET u = 3 WHERE id = 1900") }})
		_, err := Run(context.Background(), cfg)
		if !errors.Is(err, table.ErrCollision) {
			t.Fatalf("error %v, want a collision", err)
		}
		if got := tableList(t, db); got != "t" {
			t.Errorf("tables %q after a refused swap", got)
		}
	})
	t.Run("--panic-on-warnings", func(t *testing.T) {
		name, db := setUp(t)
		cfg := config(name)
		cfg.PanicOnWarnings = true
		atChunk(&cfg, map[int]func(){2: func() { exec(t, db, "INSERT INTO t VALUES (5000, 7, 'dup')") }})
		_, err := Run(context.Background(), cfg)
		if !errors.Is(err, table.ErrCollision) || !strings.Contains(err.Error(), "--panic-on-warnings") {
			t.Fatalf("error %v, want a collision stopping the run at once", err)
		}
	})
}

// checksumColumns is a checksum of a table's rows that does not depend on its name or indexes.
func checksumColumns(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	var n int
	var sum string
	q := fmt.Sprintf("SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', id, IFNULL(u, 'N'), v))), 0) FROM `%s`", table)
	if err := db.QueryRow(q).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%s", n, sum)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitReplica(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestLargeRowReplayed: a row whose values, written into a statement's text, exceed the server's
// max_allowed_packet (zero bytes are escaped, doubling a BLOB) is replayed all the same.
func TestLargeRowReplayed(t *testing.T) {
	name, db := sb.NewDB(t, "CREATE TABLE t (id INT PRIMARY KEY, b LONGBLOB NULL)")
	exec(t, db, "INSERT INTO t SELECT seq, REPEAT('x', 100) FROM seq_1_to_300")
	var packet int
	if err := db.QueryRow("SELECT @@max_allowed_packet").Scan(&packet); err != nil {
		t.Fatal(err)
	}
	size := packet*3/5 + 1 // fits the server; twice that does not
	waitReplica(t)
	cfg := testConfig(name, "ADD COLUMN note VARCHAR(10) NULL")
	cfg.Checkpoint = false
	cfg.ChunkSize = 50
	cfg.ChunkTarget = 0
	var once sync.Once
	cfg.Failpoint = func(step string) {
		if step == "copy:chunk" {
			once.Do(func() {
				exec(t, db, fmt.Sprintf("UPDATE t SET b = REPEAT(CHAR(0), %d) WHERE id = 250", size),
					fmt.Sprintf("INSERT INTO t VALUES (1000, REPEAT(CHAR(0), %d))", size))
			})
		}
	}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{250, 1000} {
		var n int
		var zeros bool
		err := db.QueryRow("SELECT LENGTH(b), b = REPEAT(CHAR(0), LENGTH(b)) FROM t WHERE id = ?", id).Scan(&n, &zeros)
		if err != nil || n != size || !zeros {
			t.Errorf("row %d after the swap: %d bytes, all zero %v (%v); want %d zero bytes", id, n, zeros, err, size)
		}
	}
}

// TestEnumErrorMemberKept: an ENUM's empty "error" member (number 0), which a non-strict
// application can store, survives the copy, the replay and a checksum that converts the rows
// itself (FLOAT to DOUBLE has no exact expression), as it survives a native ALTER.
func TestEnumErrorMemberKept(t *testing.T) {
	name, db := sb.NewDB(t, "CREATE TABLE t (id INT PRIMARY KEY, e ENUM('a','b') NULL, f FLOAT NULL, n INT NULL)")
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"SET SESSION sql_mode = ''", "INSERT INTO t SELECT seq, IF(seq % 3 = 0, 'zzz', 'b'), seq / 4, 0 FROM seq_1_to_300"} {
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	dbconn.Discard(conn) // its sql_mode must not serve the test's other statements
	waitReplica(t)
	cfg := testConfig(name, "MODIFY f DOUBLE NULL")
	cfg.Checkpoint = false
	cfg.ChunkSize = 50
	cfg.ChunkTarget = 0
	var once sync.Once
	cfg.Failpoint = func(step string) {
		if step == "copy:chunk" {
			once.Do(func() { exec(t, db, "UPDATE t SET n = n + 1 WHERE id % 3 = 0 OR id > 280") })
		}
	}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	var zeros, updated int
	if err := db.QueryRow("SELECT SUM(e + 0 = 0), SUM(n = 1) FROM t").Scan(&zeros, &updated); err != nil {
		t.Fatal(err)
	}
	if zeros != 100 || updated < 100 {
		t.Errorf("%d rows hold the error member after the swap (want 100), %d rows were updated during the copy", zeros, updated)
	}
}

// TestTooLongForSmallerBlobFails: a value the application makes too long for the smaller TEXT type
// the ALTER gives a column, during the migration, fails the migration as it fails a native ALTER.
// A plain INSERT … SELECT from a TEXT column into a smaller one wraps the length around on MariaDB
// (300 bytes into a TINYTEXT store 44): that must never reach the new table.
func TestTooLongForSmallerBlobFails(t *testing.T) {
	name, db := sb.NewDB(t, "CREATE TABLE t (id INT PRIMARY KEY, c MEDIUMTEXT NULL)")
	exec(t, db, "INSERT INTO t SELECT seq, REPEAT('a', seq % 200) FROM seq_1_to_300")
	waitReplica(t)
	cfg := testConfig(name, "MODIFY c TINYTEXT NULL")
	cfg.Checkpoint = false
	cfg.ChunkSize = 50
	cfg.ChunkTarget = 0
	var once sync.Once
	cfg.Failpoint = func(step string) {
		if step == "copy:chunk" {
			once.Do(func() { exec(t, db, "UPDATE t SET c = REPEAT('b', 300) WHERE id IN (10, 290)") })
		}
	}
	_, err := Run(context.Background(), cfg)
	if dbconn.ErrorNumber(err) != 1406 {
		t.Fatalf("error %v, want the server's 1406 (Data too long)", err)
	}
	if got := tableList(t, db); got != "t" {
		t.Errorf("tables %q after the failure", got)
	}
}
