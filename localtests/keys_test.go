package localtests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
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
	c.migrateUnderPositiveLoad(load)
}

// TestNullableUniqueKeyUnderWrites migrates a table whose only unique key allows NULL and holds
// none, with --allow-nullable-unique-key, under a load that addresses rows by that key (the
// directory cases' load needs a NOT NULL key): inserts of new keys, key changes, updates, deletes,
// mirrored into the oracle, compared with the native ALTER.
func TestNullableUniqueKeyUnderWrites(t *testing.T) {
	f := newFixture("nullable-unique-key", "CREATE TABLE t (id BIGINT NULL, v VARCHAR(30) NULL, w INT NULL, UNIQUE KEY uk_id (id))",
		"ADD COLUMN x INT NULL, MODIFY v VARCHAR(40) NULL", "--allow-nullable-unique-key")
	f.compareKey = []string{"id"} // no NULL in it: the load writes none
	c := newCase(t, buildDoppel(t), f, 4000)
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

// TestNullableUniqueKeyNullWritten: a row given a NULL key while doppel migrates with
// --allow-nullable-unique-key (it checked there was none) stops the migration with the reason, and
// the table stays as it was.
func TestNullableUniqueKeyNullWritten(t *testing.T) {
	postpone := flagFile(t, "postpone", true)
	f := newFixture("nullable-unique-key-null-written", "CREATE TABLE t (id BIGINT NULL, v VARCHAR(30) NULL, UNIQUE KEY uk_id (id))",
		"ADD COLUMN x INT NULL", "--allow-nullable-unique-key", "--postpone-cut-over-flag-file="+postpone)
	c := newCase(t, buildDoppel(t), f, 4100)
	c.runCreateSQL()
	c.exec(fmt.Sprintf("INSERT INTO %s SELECT seq, CONCAT('v', seq) FROM seq_1_to_%d", c.q(f.table), seedRows))
	if err := sb.WaitReplica(c.ctx); err != nil {
		t.Fatal(err)
	}
	ddl := c.showCreate(c.primary, f.table)
	p := c.startDoppel()
	p.waitFor("row copy complete")
	c.exec("INSERT INTO " + c.q(f.table) + " (id, v) VALUES (NULL, 'null key')")
	res := p.wait()
	if res.code == 0 {
		t.Fatalf("doppel succeeded; output:\n%s", tail(res.output))
	}
	if !strings.Contains(res.output, "with NULL in column id was written during the migration") {
		t.Errorf("doppel's output does not give the reason:\n%s", tail(res.output))
	}
	if got := c.showCreate(c.primary, f.table); got != ddl {
		t.Errorf("the table changed:\n%s", got)
	}
}

// TestPrimaryKeyMovedToUniqueKeyUnderWrites replaces the PRIMARY KEY with an existing unique key,
// DROP PRIMARY KEY, ADD PRIMARY KEY (u), under writes: id is unique no more afterwards, so the load
// writes by id without REPLACE or upserts (a write the old table refuses as a duplicate is rolled
// back on both), changing u (the key doppel iterates) and id, compared with the native ALTER.
func TestPrimaryKeyMovedToUniqueKeyUnderWrites(t *testing.T) {
	f := newFixture("primary-key-moved", "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, u BIGINT NOT NULL, v VARCHAR(30) NULL, w INT NULL, UNIQUE KEY uk_u (u))",
		"DROP PRIMARY KEY, ADD PRIMARY KEY (u)")
	c := newCase(t, buildDoppel(t), f, 4200)
	c.runCreateSQL()
	c.exec("CREATE TABLE " + c.q(c.oracle()) + " LIKE " + c.q(f.table))
	for _, name := range []string{f.table, c.oracle()} {
		c.exec(fmt.Sprintf("INSERT INTO %s SELECT seq * 7, seq * 1000003, CONCAT('v', seq), seq %% 13 FROM seq_1_to_%d", c.q(name), seedRows))
	}
	if err := sb.WaitReplica(c.ctx); err != nil {
		t.Fatal(err)
	}
	load := &positiveLoad{db: c.primary, table: c.q(f.table), oracle: c.q(c.oracle())}
	load.next = func(ctx context.Context, r *rand.Rand) (string, []any) {
		id, u := 1+r.Int64N(1<<40), 1+r.Int64N(1<<50)
		switch r.IntN(5) {
		case 0:
			return "INSERT INTO %s (id, u, v, w) VALUES (?, ?, ?, ?)", []any{id, u, fmt.Sprint("i", r.IntN(1000)), r.IntN(100)}
		case 1:
			return "UPDATE %s SET u = ? WHERE id = ?", []any{u, load.existing(ctx, r)}
		case 2:
			return "UPDATE %s SET id = ? WHERE id = ?", []any{id, load.existing(ctx, r)}
		case 3:
			return "UPDATE %s SET v = ?, w = w + 1 WHERE id = ?", []any{fmt.Sprint("u", r.IntN(1000)), load.existing(ctx, r)}
		}
		return "DELETE FROM %s WHERE id = ?", []any{load.existing(ctx, r)}
	}
	res := c.migrateUnderPositiveLoad(load)
	if !strings.Contains(res.output, "`uk_u` (`u`)") {
		t.Errorf("doppel did not iterate uk_u:\n%s", tail(res.output))
	}
}
