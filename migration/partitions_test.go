package migration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// partitionedTable creates t, RANGE-partitioned by year into pold (before 2020) and pnew, with
// 2,000 rows in each half, and its oracle: a copy with the same partitions.
func partitionedTable(t *testing.T) (string, *sql.DB) {
	t.Helper()
	name, db := sb.NewDB(t, `CREATE TABLE t (id INT NOT NULL, created DATE NOT NULL, v INT NOT NULL, PRIMARY KEY (id, created))
		PARTITION BY RANGE (YEAR(created)) (PARTITION pold VALUES LESS THAN (2020), PARTITION pnew VALUES LESS THAN MAXVALUE)`,
		"INSERT INTO t SELECT seq, IF(seq % 2, '2015-06-01', '2022-06-01') - INTERVAL seq % 300 DAY, 0 FROM seq_1_to_4000",
		"CREATE TABLE oracle LIKE t",
		"INSERT INTO oracle SELECT * FROM t")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	return name, db
}

// writeBoth runs random writes on t and, in the same transactions, on the oracle until stop is
// closed: new rows in pnew, updates and deletes of any row. No write moves a row to another
// partition or inserts into pold, so after the swap the oracle needs only the same native ALTER.
func writeBoth(t *testing.T, db *sql.DB, stop <-chan struct{}) (wait func() int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	committed := 0
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			next := 100000 + w*1000000
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				var stmt string
				switch r.IntN(3) {
				case 0:
					next++
					stmt = fmt.Sprintf("INSERT INTO %%s VALUES (%d, '2024-01-01' + INTERVAL %d DAY, %d)", next, r.IntN(400), r.IntN(100))
				case 1:
					stmt = fmt.Sprintf("UPDATE %%s SET v = v + 1 WHERE id = %d", 1+r.IntN(4000))
				default:
					stmt = fmt.Sprintf("DELETE FROM %%s WHERE id = %d", 1+r.IntN(4000))
				}
				if err := inTransaction(db, fmt.Sprintf(stmt, "t"), fmt.Sprintf(stmt, "oracle")); err != nil {
					if !isLockWait(err) {
						t.Errorf("a write failed: %v", err)
						return
					}
					continue
				}
				mu.Lock()
				committed++
				mu.Unlock()
			}
		}()
	}
	return func() int { wg.Wait(); return committed }
}

func inTransaction(db *sql.DB, stmts ...string) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := tx.Exec(s); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

// isLockWait: a deadlock or a lock wait timeout rolled the transaction back on both tables.
func isLockWait(err error) bool {
	return strings.Contains(err.Error(), "Error 1213") || strings.Contains(err.Error(), "Error 1205")
}

func rowsOf(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	var sum sql.NullString
	var n int
	if err := db.QueryRow("SELECT COUNT(*), SUM(CRC32(CONCAT_WS(',', id, created, v))) FROM `"+table+"`").Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d rows, sum %s", n, sum.String)
}

// TestPartitionDeletedAtSwap: DROP and TRUNCATE PARTITION run on the ghost under the cut-over's
// lock, under writes: the table ends as the same native ALTER leaves the oracle, rows and
// definition.
func TestPartitionDeletedAtSwap(t *testing.T) {
	for _, clause := range []string{"DROP PARTITION pold", "TRUNCATE PARTITION pold"} {
		t.Run(clause, func(t *testing.T) {
			name, db := partitionedTable(t)
			db.SetMaxOpenConns(8)
			stop := make(chan struct{})
			wait := writeBoth(t, db, stop)
			cfg := testConfig(name, clause)
			cfg.ChunkSize = 200
			_, err := Run(context.Background(), cfg)
			time.Sleep(300 * time.Millisecond) // writes after the swap too
			close(stop)
			committed := wait()
			if err != nil {
				t.Fatal(err)
			}
			exec(t, db, "ALTER TABLE oracle "+clause)
			if got, want := strings.Replace(showCreate(t, db, "t"), "CREATE TABLE `t`", "", 1), strings.Replace(showCreate(t, db, "oracle"), "CREATE TABLE `oracle`", "", 1); got != want {
				t.Errorf("definition:\n%s\nwant the native ALTER's:\n%s", got, want)
			}
			if got, want := rowsOf(t, db, "t"), rowsOf(t, db, "oracle"); got != want {
				t.Errorf("rows %s, want the native ALTER's %s", got, want)
			}
			if committed < 50 {
				t.Errorf("only %d writes committed: the test did not write during the migration", committed)
			}
		})
	}
}

// TestPartitionDeletedAtSwapNotRetried: once the partition change ran on the ghost, a failed attempt
// ends the migration: the original is untouched and the ghost dropped, not kept for --resume.
func TestPartitionDeletedAtSwapNotRetried(t *testing.T) {
	name, db := partitionedTable(t)
	before := checksum(t, db, "t")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := testConfig(name, "DROP PARTITION pold")
	cfg.Failpoint = func(step string) {
		if step == "cutover:prepared" {
			cancel() // the attempt fails after the partition was dropped from the ghost
		}
	}
	_, err := Run(ctx, cfg)
	if err == nil || !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "already ran on the ghost") {
		t.Fatalf("error %v, want the attempt to end the migration", err)
	}
	if got := checksum(t, db, "t"); got != before {
		t.Error("the original table changed")
	}
	if got := tableList(t, db); got != "oracle,t" {
		t.Errorf("tables %s, want oracle,t: the ghost dropped, not kept for --resume", got)
	}
}
