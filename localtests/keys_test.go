package localtests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestExtendedPrimaryKeyUnderWrites extends the PRIMARY KEY with a column, (id) → (id, created_at),
// the usual step before partitioning by created_at, under writes, compared with the native ALTER.
// doppel iterates the original's (id) and finds the ghost's rows by id along the new key, which
// does not enforce id alone: a change of created_at moves the row within the ghost's key, and the
// replay must delete its old version. The random load of the directory cases cannot run here: once
// id is no longer unique, its REPLACEs and upserts mean something else in the migrated table than
// in the oracle; this load writes by id only (inserts of new ids, updates of created_at, of id and
// of other columns, deletes), each statement on the table and the same on the oracle.
func TestExtendedPrimaryKeyUnderWrites(t *testing.T) {
	f := newFixture("extended-primary-key", "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, created_at DATETIME NOT NULL, v VARCHAR(30) NULL, w INT NULL)",
		"DROP PRIMARY KEY, ADD PRIMARY KEY (id, created_at)")
	c := newCase(t, buildDoppel(t), f, 3900)
	c.runCreateSQL()
	c.exec("CREATE TABLE " + c.q(c.oracle()) + " LIKE " + c.q(f.table))
	for _, name := range []string{f.table, c.oracle()} {
		c.exec(fmt.Sprintf("INSERT INTO %s SELECT seq * 7, '2020-01-01' + INTERVAL seq %% 500 DAY, CONCAT('v', seq), seq %% 13 FROM seq_1_to_%d", c.q(name), seedRows))
	}
	if err := sb.WaitReplica(c.ctx); err != nil {
		t.Fatal(err)
	}
	load := &positiveLoad{db: c.primary, table: c.q(f.table), oracle: c.q(c.oracle())}
	load.next = func(ctx context.Context, r *rand.Rand) (string, []any) {
		id := 1 + r.Int64N(1<<40)
		day := fmt.Sprintf("TIMESTAMP'2020-01-01 00:00:00' + INTERVAL %d SECOND", r.IntN(1<<26))
		switch r.IntN(5) {
		case 0:
			return "INSERT INTO %s (id, created_at, v, w) VALUES (?, " + day + ", ?, ?)", []any{id, fmt.Sprint("i", r.IntN(1000)), r.IntN(100)}
		case 1:
			return "UPDATE %s SET created_at = " + day + " WHERE id = ?", []any{load.existing(ctx, r)}
		case 2:
			return "UPDATE %s SET id = ? WHERE id = ?", []any{id, load.existing(ctx, r)}
		case 3:
			return "UPDATE %s SET v = ?, w = w + 1 WHERE id = ?", []any{fmt.Sprint("u", r.IntN(1000)), load.existing(ctx, r)}
		}
		return "DELETE FROM %s WHERE id = ?", []any{load.existing(ctx, r)}
	}
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
}
