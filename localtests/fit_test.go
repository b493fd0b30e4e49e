package localtests

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/doppel-sql/doppel/internal/loadgen"
)

// TestSignedKeyToBigintUnsignedUnderWrites is the classic "running out of ids" migration, INT
// AUTO_INCREMENT PRIMARY KEY to BIGINT UNSIGNED, under writes, compared with the native ALTER. The
// random load of the directory cases writes negative keys, which BIGINT UNSIGNED cannot hold (the
// native ALTER fails on them, and doppel refuses them up front: fail-negative-into-unsigned); this
// load writes positive ids only, with inserts, updates, key changes and deletes mirrored into the
// oracle.
func TestSignedKeyToBigintUnsignedUnderWrites(t *testing.T) {
	f := newFixture("signed-key-to-bigint-unsigned", "CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(30) NULL, w INT NULL)",
		"MODIFY id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT")
	c := newCase(t, buildDoppel(t), f, 3700)
	c.runCreateSQL()
	c.exec("CREATE TABLE " + c.q(c.oracle()) + " LIKE " + c.q(f.table))
	for _, name := range []string{f.table, c.oracle()} {
		c.exec(fmt.Sprintf("INSERT INTO %s SELECT seq * 7, CONCAT('v', seq), seq %% 13 FROM seq_1_to_%d", c.q(name), seedRows))
	}
	if err := sb.WaitReplica(c.ctx); err != nil {
		t.Fatal(err)
	}
	load := &positiveLoad{db: c.primary, table: c.q(f.table), oracle: c.q(c.oracle())}
	c.migrateUnderPositiveLoad(load)
}

// migrateUnderPositiveLoad runs doppel on the case while two workers run load, from once the load
// has committed a few transactions until a moment after doppel exits, and checks the result as a
// directory case's; it returns doppel's result.
func (c *caseRun) migrateUnderPositiveLoad(load *positiveLoad) doppelResult {
	ctx, cancel := context.WithCancel(c.ctx)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); load.run(ctx) }()
	}
	stop := sync.OnceFunc(func() { cancel(); wg.Wait() })
	defer stop()
	for load.committed.Load() < 10 {
		time.Sleep(10 * time.Millisecond)
	}
	before := load.committed.Load()
	res := c.startDoppel().wait()
	during := load.committed.Load() - before
	time.Sleep(loadAfter)
	stop()
	c.checkMigrated(res, load.stats(), during)
	return res
}

// positiveLoad writes random transactions, each one statement run on the table and the same on
// the oracle, with positive ids only.
type positiveLoad struct {
	db                          *sql.DB
	table, oracle               string
	committed, failed, diverged atomic.Int64
	mu                          sync.Mutex
	errs                        []string
	// next, when set, returns the next statement (with %s for the table) and its arguments
	// instead of the load's own on (id, v, w).
	next func(ctx context.Context, r *rand.Rand) (string, []any)
}

func (l *positiveLoad) run(ctx context.Context) {
	r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if l.next != nil {
			stmt, args := l.next(ctx, r)
			l.one(ctx, stmt, args)
			continue
		}
		id := 1 + r.Int64N(1<<31-1)
		var stmt string
		var args []any
		switch r.IntN(4) {
		case 0:
			stmt, args = "INSERT INTO %s (id, v, w) VALUES (?, ?, ?)", []any{id, fmt.Sprint("i", r.IntN(1000)), r.IntN(100)}
		case 1:
			stmt, args = "UPDATE %s SET v = ?, w = w + 1 WHERE id = ?", []any{fmt.Sprint("u", r.IntN(1000)), l.existing(ctx, r)}
		case 2:
			stmt, args = "UPDATE %s SET id = ? WHERE id = ?", []any{id, l.existing(ctx, r)}
		default:
			stmt, args = "DELETE FROM %s WHERE id = ?", []any{l.existing(ctx, r)}
		}
		l.one(ctx, stmt, args)
	}
}

// existing returns the id of a row the table holds, or 0.
func (l *positiveLoad) existing(ctx context.Context, r *rand.Rand) int64 {
	var id int64
	_ = l.db.QueryRowContext(ctx, "SELECT id FROM "+l.table+" WHERE id >= ? ORDER BY id LIMIT 1", r.Int64N(seedRows*7)).Scan(&id)
	return id
}

// one runs stmt on the table and on the oracle in one transaction.
func (l *positiveLoad) one(ctx context.Context, stmt string, args []any) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return
	}
	defer func() { _ = tx.Rollback() }()
	var affected [2]int64
	for i, name := range []string{l.table, l.oracle} {
		res, err := tx.ExecContext(ctx, fmt.Sprintf(stmt, name), args...)
		var me *mysql.MySQLError
		switch {
		case errors.As(err, &me) && (me.Number == 1062 || me.Number == 1213 || me.Number == 1205):
			return // a duplicate id or a lock conflict: nothing written
		case err != nil && ctx.Err() == nil:
			l.fail(&l.failed, err.Error())
			return
		case err != nil:
			return
		}
		affected[i], _ = res.RowsAffected()
	}
	if affected[0] != affected[1] {
		l.fail(&l.diverged, fmt.Sprintf("%q changed %d rows of the table and %d of the oracle", stmt, affected[0], affected[1]))
		return
	}
	if err := tx.Commit(); err == nil {
		l.committed.Add(1)
	}
}

func (l *positiveLoad) fail(n *atomic.Int64, msg string) {
	n.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < 5 {
		l.errs = append(l.errs, msg)
	}
}

func (l *positiveLoad) stats() loadgen.Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return loadgen.Stats{Committed: l.committed.Load(), Failed: l.failed.Load(), Divergent: l.diverged.Load(), Errors: l.errs}
}

// TestAddedAutoIncrementKeepsNumbers checks doppel's rule for an AUTO_INCREMENT column the ALTER
// adds: the ghost numbers each row when it first arrives (copied rows in the copy's order, with gaps
// between chunks; rows inserted later after them), and a row keeps its number when it is updated.
//
// The replay writes an updated row with REPLACE, which deletes the row and inserts it again with a
// new number, until the replay writes updates as upserts: until then this test fails.
func TestAddedAutoIncrementKeepsNumbers(t *testing.T) {
	postpone := flagFile(t, "postpone", true)
	f := newFixture("added-auto-increment-numbers", "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v VARCHAR(30) NULL)",
		"ADD COLUMN n BIGINT NOT NULL AUTO_INCREMENT UNIQUE", "--postpone-cut-over-flag-file="+postpone, "--copy-workers=1")
	c := newCase(t, buildDoppel(t), f, 3800)
	c.runCreateSQL()
	c.exec(fmt.Sprintf("INSERT INTO %s SELECT seq, CONCAT('v', seq) FROM seq_1_to_%d", c.q(f.table), seedRows))
	if err := sb.WaitReplica(c.ctx); err != nil {
		t.Fatal(err)
	}
	p := c.startDoppel()
	p.waitFor("cut-over postponed")
	ghost := c.q("_" + f.table + "_gho")
	copied := c.numbers(ghost, "id <= 50")
	// Rows copied in key order, one worker: numbered in the order of the key. Each chunk's INSERT …
	// SELECT reserves numbers in growing batches and loses those it does not use: gaps between
	// chunks.
	for id := int64(2); id <= 50; id++ {
		if copied[id] <= copied[id-1] {
			t.Errorf("copied row %d got number %d, row %d number %d: want them in the key's order", id, copied[id], id-1, copied[id-1])
		}
	}
	c.exec("UPDATE " + c.q(f.table) + " SET v = CONCAT(v, '!') WHERE id <= 50")
	c.exec("INSERT INTO " + c.q(f.table) + " (id, v) VALUES (100001, 'late'), (100002, 'later')")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var replayed int
		if err := c.primary.QueryRowContext(c.ctx, "SELECT COUNT(*) FROM "+ghost+" WHERE (id <= 50 AND v LIKE '%!') OR id > 100000").Scan(&replayed); err != nil {
			t.Fatal(err)
		}
		if replayed == 52 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the updates were not replayed within 30 s (%d of 52 rows)", replayed)
		}
		time.Sleep(50 * time.Millisecond)
	}
	removeFlag(t, postpone)
	if res := p.wait(); res.code != 0 {
		t.Fatalf("doppel exited with %d:\n%s", res.code, tail(res.output))
	}
	after := c.numbers(c.q(f.table), "id <= 50 OR id > 100000")
	for id := int64(1); id <= 50; id++ {
		if after[id] != copied[id] {
			t.Errorf("row %d was numbered %d when copied and %d after it was updated", id, copied[id], after[id])
		}
	}
	if after[100001] <= seedRows || after[100002] <= after[100001] {
		t.Errorf("rows inserted after the copy got numbers %d and %d, want them after the %d copied rows, in order", after[100001], after[100002], seedRows)
	}
}

// numbers returns column n of the table's rows matching where, by id.
func (c *caseRun) numbers(qualified, where string) map[int64]int64 {
	c.t.Helper()
	rows, err := c.primary.QueryContext(c.ctx, "SELECT id, n FROM "+qualified+" WHERE "+where)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			c.t.Fatal(err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
	return out
}
