package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/copier"
	"github.com/doppel-sql/doppel/internal/sandbox"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

var sb *sandbox.Sandbox

func TestMain(m *testing.M) { sandbox.RunTests(m, sandbox.Options{NoReplica: true}, &sb) }

// fixture is an original table and its ghost, filled by the real copier.
type fixture struct {
	db            *sql.DB
	schema        string
	orig, ghost   string // unqualified names
	origQ, ghostQ string // qualified
	cfg           Config
	origT, ghostT *table.Table
	mapping       table.Mapping
	key           *table.Key
}

func exec(t testing.TB, db *sql.DB, queries ...string) {
	t.Helper()
	for _, q := range queries {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newFixture creates table name from create (which must use the name as given, quoted), fills it
// with the statements in fill, creates the ghost LIKE it, runs alter on the ghost (if any) and
// copies the rows with the copier. The Config it prepares has a no-op CatchUp: nothing writes.
func newFixture(t *testing.T, name, create, alter string, fill ...string) *fixture {
	t.Helper()
	ctx := testCtx(t)
	schema := sb.NewDatabase(t)
	db, err := sb.Primary.DB(schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, schema: schema, orig: name, ghost: "_" + name + "_gho"}
	f.origQ, f.ghostQ = sqlbuild.QualifiedName(schema, f.orig), sqlbuild.QualifiedName(schema, f.ghost)
	exec(t, db, create)
	exec(t, db, fill...)
	exec(t, db, "CREATE TABLE "+f.ghostQ+" LIKE "+f.origQ)
	if alter != "" {
		exec(t, db, "ALTER TABLE "+f.ghostQ+" "+alter)
	}
	f.inspect(t)
	var size atomic.Int64
	size.Store(97) // odd, so copy chunks and checksum chunks do not line up
	c, err := copier.New(copier.Config{DB: db, Orig: f.origT, Ghost: f.ghostT, Key: f.key, Mapping: f.mapping, ChunkSize: &size, Workers: 2, Retries: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(ctx); err != nil {
		t.Fatalf("copying: %v", err)
	}
	return f
}

func (f *fixture) inspect(t *testing.T) {
	t.Helper()
	ctx := testCtx(t)
	var err error
	if f.origT, err = table.Inspect(ctx, f.db, f.schema, f.orig); err != nil {
		t.Fatal(err)
	}
	if f.ghostT, err = table.Inspect(ctx, f.db, f.schema, f.ghost); err != nil {
		t.Fatal(err)
	}
	f.mapping = table.MapColumns(f.origT, f.ghostT, nil)
	if f.key, err = table.ChooseKey(f.origT, f.ghostT, f.mapping); err != nil {
		t.Fatal(err)
	}
	f.cfg = Config{
		DB: f.db, Orig: f.origT, Ghost: f.ghostT, Key: f.key, Mapping: f.mapping,
		CatchUp:   func(context.Context) error { return nil },
		ChunkSize: 100, Workers: 3, LockTimeout: 2 * time.Second, Retries: 3,
	}
}

func (f *fixture) run(t *testing.T) (*Result, error) {
	t.Helper()
	return Run(testCtx(t), f.cfg)
}

func (f *fixture) mustPass(t *testing.T) *Result {
	t.Helper()
	res, err := f.run(t)
	if err != nil {
		t.Fatalf("verification failed: %v", err)
	}
	return res
}

// sameRows compares the tables row by row over the given columns (a plain SQL comparison,
// independent of the package under test) and fails on any difference.
func (f *fixture) sameRows(t *testing.T, key string, cols ...string) {
	t.Helper()
	var diff []string
	for _, c := range cols {
		qc := sqlbuild.QuoteIdent(c)
		diff = append(diff, fmt.Sprintf("NOT (o.%s <=> g.%s)", qc, qc))
	}
	qk := sqlbuild.QuoteIdent(key)
	var n int
	q := fmt.Sprintf(`SELECT (SELECT COUNT(*) FROM %[1]s o LEFT JOIN %[2]s g ON o.%[3]s = g.%[3]s WHERE g.%[3]s IS NULL OR %[4]s)
		+ (SELECT COUNT(*) FROM %[2]s g LEFT JOIN %[1]s o ON o.%[3]s = g.%[3]s WHERE o.%[3]s IS NULL)`,
		f.origQ, f.ghostQ, qk, strings.Join(diff, " OR "))
	if err := f.db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d rows differ between %s and %s", n, f.origQ, f.ghostQ)
	}
}

const manyTypes = "CREATE TABLE `t` (id INT NOT NULL PRIMARY KEY, " +
	"s VARCHAR(20) CHARACTER SET latin1 NULL, u TEXT CHARACTER SET utf8mb4 NULL, c CHAR(6) NULL, " +
	"n INT NULL, z INT(6) UNSIGNED ZEROFILL NULL, big BIGINT UNSIGNED NULL, d DECIMAL(10,4) NULL, f FLOAT NULL, dbl DOUBLE NULL, " +
	"dt DATETIME(6) NULL, ts TIMESTAMP(6) NULL, tm TIME(6) NULL, dd DATE NULL, y YEAR NULL, " +
	"e ENUM('a','b','c') NULL, st SET('x','y','z') NULL, bt BIT(5) NULL, bn BINARY(4) NULL, vb VARBINARY(10) NULL, bl BLOB NULL, " +
	"j JSON NULL, vc VARCHAR(8) NULL, tb VARCHAR(6) CHARACTER SET latin1 NULL, vt VARBINARY(8) NULL, ie INT NULL, et ENUM('p','q') NULL, " +
	"g INT AS (n + 1) VIRTUAL)"

var manyRows = []string{
	"INSERT INTO `t` (id, s, u, c, n, z, big, d, f, dbl, dt, ts, tm, dd, y, e, st, bt, bn, vb, bl, j, vc, tb, vt, ie, et) VALUES " +
		"(1, 'café', 'naïve', 'ab  ', -5, 42, 18446744073709551615, 9.99995, 0.1, 0.1, '2020-01-01 10:00:00.999999', '2020-01-01 10:00:00.555555', '-12:00:00.5', '2020-02-29', 2024, 'b', 'x,z', b'10101', 'ab', 'x\\0y', 'blob', '{\"a\": [1, 2]}', 'sp  ', 'é', 'ok', -7, 'q'), " +
		"(2, '', '', '', 0, 0, 0, 0, 0, 0, '0000-00-00 00:00:00', '1970-01-01 00:00:01', '838:59:59', '0000-00-00', 1901, 'c', '', b'0', '', '', '', '[]', ' ', '', '', 0, 'p'), " +
		"(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
	"INSERT INTO `t` (id, s, u, c, n, z, big, d, f, dbl, dt, ts, tm, dd, y, e, st, bt, bn, vb, bl, j, vc, tb, vt, ie, et) " +
		"SELECT seq, CONCAT('s', seq), REPEAT('ü', seq % 7), LEFT(CONCAT('c', seq), 6), seq * 3, seq, seq * 1000003, seq / 7, seq / 3, seq / 3, " +
		"'2021-03-04 05:06:07.123456' + INTERVAL seq SECOND, '2021-03-04 05:06:07.654321' + INTERVAL seq MINUTE, SEC_TO_TIME(seq) + INTERVAL 0.25 SECOND, " +
		"'2000-01-01' + INTERVAL seq DAY, 1901 + seq % 200, ELT(1 + seq % 3, 'a', 'b', 'c'), ELT(1 + seq % 3, 'x', 'y,z', 'x,y,z'), seq % 32, " +
		"UNHEX(LPAD(HEX(seq), 8, '0')), UNHEX(HEX(seq)), REPEAT('b', seq % 50), JSON_OBJECT('k', seq), " +
		"RPAD('v', seq % 8, ' '), CONCAT('ä', seq % 1000), CONCAT('b', seq), seq * 7, ELT(1 + seq % 2, 'p', 'q') FROM seq_4_to_1500",
}

func TestEqualTablesVerifyClean(t *testing.T) {
	f := newFixture(t, "t", manyTypes, "", manyRows...)
	var lastDone, lastTotal int64
	calls := 0
	f.cfg.OnProgress = func(done, total int64) { lastDone, lastTotal = done, total; calls++ }
	res := f.mustPass(t)
	if res.Rows != 1500 || res.Chunks != 16 || res.Repaired != 0 || len(res.Converted) != 0 {
		t.Errorf("result %+v, want 1500 rows in 16 chunks, nothing repaired or unverified", res)
	}
	if lastDone != 1500 || lastTotal != 1500 || calls < 16 {
		t.Errorf("progress ended at %d of %d after %d calls", lastDone, lastTotal, calls)
	}
}

// TestRestBetweenChunks: Rest is called once per chunk compared, with the comparison's time, and
// its error stops the verification (the migration rests there by its nice ratio and latency target).
func TestRestBetweenChunks(t *testing.T) {
	f := newFixture(t, "t", manyTypes, "", manyRows...)
	var mu sync.Mutex
	var calls int
	var slept time.Duration
	f.cfg.Rest = func(ctx context.Context, took time.Duration) error {
		if took <= 0 {
			t.Errorf("Rest got a chunk that took %s", took)
		}
		mu.Lock()
		calls++
		mu.Unlock()
		time.Sleep(took) // a nice ratio of 1
		mu.Lock()
		slept += took
		mu.Unlock()
		return nil
	}
	res := f.mustPass(t)
	if calls != int(res.Chunks) || res.Chunks != 16 {
		t.Errorf("Rest called %d times for %d chunks, want 16 each", calls, res.Chunks)
	}
	if slept <= 0 {
		t.Errorf("no rest taken")
	}
	stop := errors.New("stopped by the rest")
	calls = 0
	f.cfg.Rest = func(context.Context, time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls == 3 {
			return stop
		}
		return nil
	}
	if _, err := f.run(t); !errors.Is(err, stop) {
		t.Fatalf("verification with a failing rest: %v, want %v", err, stop)
	}
}

// TestTypeChangesVerifyClean: an ALTER that changes the stored form of most values, copied by the
// real copier, hashes equal; and each converted column does take part in the hash.
func TestTypeChangesVerifyClean(t *testing.T) {
	const alter = "MODIFY s VARCHAR(20) CHARACTER SET utf8mb4 NULL, MODIFY u MEDIUMTEXT CHARACTER SET latin1 NULL, " +
		"MODIFY c VARCHAR(6) NULL, MODIFY n BIGINT NULL, MODIFY z INT NULL, MODIFY d DECIMAL(12,2) NULL, MODIFY f DOUBLE NULL, " +
		"MODIFY dt DATETIME(2) NULL, MODIFY ts TIMESTAMP(3) NULL, MODIFY tm TIME(1) NULL, MODIFY dd DATETIME NULL, " +
		"MODIFY e ENUM('c','b','a','d') CHARACTER SET latin1 NULL, MODIFY st SET('w','x','y','z') NULL, MODIFY bt BIT(12) NULL, " +
		"MODIFY bn BINARY(6) NULL, MODIFY vb BLOB NULL, MODIFY bl VARBINARY(100) NULL, MODIFY vc CHAR(8) NULL, MODIFY tb BINARY(8) NULL, " +
		"MODIFY vt VARCHAR(8) NULL, MODIFY ie DECIMAL(14,2) NULL, MODIFY et VARCHAR(3) NULL"
	// u: the ü of the rows fit latin1; MariaDB's JSON is LONGTEXT, unchanged.
	f := newFixture(t, "t", manyTypes, alter, manyRows...)
	res := f.mustPass(t)
	if want := []string{"f (float to double)"}; strings.Join(res.Converted, ",") != strings.Join(want, ",") {
		t.Errorf("converted %q, want %q", res.Converted, want)
	}
	if res.Repaired != 0 || res.Rows != 1500 {
		t.Fatalf("result %+v, want 1500 rows, nothing repaired", res)
	}
	// A change in any converted column is found (and repaired).
	for _, change := range []string{
		"s = 'cafe'", "u = 'naive'", "c = 'ab '", "n = -6", "z = 43", "big = big - 1", "d = 10.01", "dt = '2020-01-01 10:00:00.98'",
		"ts = '2020-01-01 10:00:00.556'", "tm = '-12:00:00.4'", "dd = '2020-02-29 00:00:01'", "e = 'a'", "st = 'x'", "bt = 22",
		"bn = 'ac'", "vb = 'x'", "bl = 'blob '", "j = '{\"a\": [1,2]}'", "y = 2023",
		"vc = 'sq'", "f = 1.5", "tb = 'é\\0'", "vt = 'ok '", "ie = -7.01", "et = 'Q'",
	} {
		exec(t, f.db, "UPDATE "+f.ghostQ+" SET "+change+" WHERE id = 1")
		res := f.mustPass(t)
		if res.Repaired != 1 {
			t.Errorf("ghost changed with %s: repaired %d chunks, want 1", change, res.Repaired)
		}
	}
}

// TestFindsAndRepairs: rows missing from, added to and changed in the ghost are found, copied again
// and pass the second check.
func TestFindsAndRepairs(t *testing.T) {
	f := newFixture(t, "t", "CREATE TABLE `t` (id INT NOT NULL PRIMARY KEY, a VARCHAR(10) NULL, b VARCHAR(10) NULL)", "",
		"INSERT INTO `t` SELECT seq, CONCAT('a', seq), IF(seq % 10 = 0, NULL, CONCAT('b', seq)) FROM seq_1_to_3000",
		"UPDATE `t` SET a = 'ab', b = 'c' WHERE id = 900", "UPDATE `t` SET a = '', b = NULL WHERE id = 1200")
	exec(t, f.db,
		"DELETE FROM "+f.ghostQ+" WHERE id = 17",                           // chunk 0
		"INSERT INTO "+f.ghostQ+" VALUES (0, 'before', 'the start')",       // chunk 0 too
		"INSERT INTO "+f.ghostQ+" VALUES (5000, 'after', 'the end')",       // the last, open chunk
		"UPDATE "+f.ghostQ+" SET a = 'changed' WHERE id = 450",             // chunk 4
		"UPDATE "+f.ghostQ+" SET a = 'a' , b = 'bc' WHERE id = 900",        // 'ab','c' → 'a','bc': chunk 8
		"UPDATE "+f.ghostQ+" SET a = NULL, b = '' WHERE id = 1200",         // ('', NULL) → (NULL, ''): chunk 11
		"UPDATE "+f.ghostQ+" SET b = '' WHERE id = 1500",                   // NULL → '': chunk 14
		"UPDATE "+f.ghostQ+" SET a = 'a2001', b = 'b2000' WHERE id = 2000", // two values at once: chunk 19
	)
	res := f.mustPass(t)
	if res.Repaired != 7 {
		t.Errorf("repaired %d chunks, want 7", res.Repaired)
	}
	f.sameRows(t, "id", "a", "b")
	// Nothing left to repair.
	if res := f.mustPass(t); res.Repaired != 0 {
		t.Errorf("second run repaired %d chunks", res.Repaired)
	}
}

// TestUnrepairable: a trigger on the ghost alters what the re-copy writes, so the chunk still
// differs: Run refuses with the key range.
func TestUnrepairable(t *testing.T) {
	f := newFixture(t, "t", "CREATE TABLE `t` (id INT NOT NULL PRIMARY KEY, v INT NOT NULL)", "",
		"INSERT INTO `t` SELECT seq, seq FROM seq_1_to_1000")
	exec(t, f.db, "CREATE TRIGGER tamper BEFORE INSERT ON "+f.ghostQ+" FOR EACH ROW SET NEW.v = IF(NEW.id = 250, -1, NEW.v)",
		"UPDATE "+f.ghostQ+" SET v = 0 WHERE id = 250")
	_, err := f.run(t)
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("error %v, want a *MismatchError", err)
	}
	if !me.Repaired || len(me.Ranges) != 1 || me.Ranges[0].OrigRows != 100 || me.Ranges[0].GhostRows != 100 {
		t.Errorf("mismatch %+v", me)
	}
	if want := "`id` > 200 and <= 300 (100 rows in the original, 100 in the ghost)"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the range %q", err, want)
	}
}

func TestCompositeStringKeyWithBackticks(t *testing.T) {
	create := "CREATE TABLE `we``ird` (`k``1` INT NOT NULL, `k 2` VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, " +
		"`v``al` VARCHAR(20) NULL, PRIMARY KEY (`k``1`, `k 2`))"
	f := newFixture(t, "we`ird", create, "MODIFY `v``al` VARCHAR(40) CHARACTER SET latin1 NULL",
		"INSERT INTO `we``ird` SELECT seq % 7, CONCAT(ELT(1 + seq % 4, 'a', 'B', 'c', 'Ä'), seq), CONCAT('v', seq) FROM seq_1_to_2000")
	res := f.mustPass(t)
	if res.Rows != 2000 || res.Repaired != 0 {
		t.Fatalf("result %+v", res)
	}
	// Matched case-insensitively, as the key compares.
	exec(t, f.db, "UPDATE "+f.ghostQ+" SET `v``al` = 'x' WHERE `k``1` = 1 AND `k 2` = 'b1'",
		"DELETE FROM "+f.ghostQ+" WHERE `k``1` = 6 AND `k 2` = 'ä1007'")
	if res := f.mustPass(t); res.Repaired != 2 {
		t.Errorf("repaired %d chunks, want 2", res.Repaired)
	}
	if res := f.mustPass(t); res.Repaired != 0 {
		t.Errorf("repaired %d chunks after the repair", res.Repaired)
	}
}

func TestEmptyTable(t *testing.T) {
	f := newFixture(t, "t", "CREATE TABLE `t` (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, v TEXT)", "ADD COLUMN x INT NULL")
	res := f.mustPass(t)
	if res.Chunks != 1 || res.Rows != 0 {
		t.Errorf("result %+v, want one empty chunk", res)
	}
	exec(t, f.db, "INSERT INTO "+f.ghostQ+" (id, v) VALUES (18446744073709551615, 'stray')")
	if res := f.mustPass(t); res.Repaired != 1 {
		t.Errorf("a row only the ghost has: repaired %d, want 1", res.Repaired)
	}
	var n int
	if err := f.db.QueryRow("SELECT COUNT(*) FROM " + f.ghostQ).Scan(&n); err != nil || n != 0 {
		t.Errorf("ghost rows %d (%v), want 0", n, err)
	}
}

// TestKeyCollationChange: when the ghost's key compares differently, ranges of the original do not
// select the same ghost rows; the tables are then compared whole, and a difference is refused, not
// re-copied.
func TestKeyCollationChange(t *testing.T) {
	f := newFixture(t, "t", "CREATE TABLE `t` (k VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_swedish_ci NOT NULL PRIMARY KEY, v INT)",
		"MODIFY k VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
		"INSERT INTO `t` SELECT CONCAT(ELT(1 + seq % 3, 'a', 'B', 'ü'), seq), seq FROM seq_1_to_500")
	res := f.mustPass(t)
	if res.Chunks != 1 || res.Rows != 500 {
		t.Fatalf("result %+v, want the table compared whole", res)
	}
	exec(t, f.db, "UPDATE "+f.ghostQ+" SET v = 0 WHERE v = 7")
	_, err := f.run(t)
	var me *MismatchError
	if !errors.As(err, &me) || me.Repaired || !strings.Contains(me.Reason, "sorts differently") {
		t.Fatalf("error %v, want a mismatch that is not re-copied", err)
	}
}

// TestRowEncodingHasNoCollisions hashes rows built to collide under naive encodings (separators,
// NULL against empty, values moved between columns) and requires distinct hashes.
func TestRowEncodingHasNoCollisions(t *testing.T) {
	f := newFixture(t, "t", "CREATE TABLE `t` (id INT NOT NULL PRIMARY KEY, a VARCHAR(10) NULL, b VARBINARY(10) NULL, n INT NULL)", "")
	values := []string{"NULL", "''", "'a'", "'ab'", "'b'", "'1:a'", "':'", "'N'", "'1'", "'0:'", "'#'", "'a#'", "'\\0'", "' '", "'a '"}
	var tuples []string
	for _, a := range values {
		for _, b := range values {
			for _, n := range []string{"NULL", "0", "1", "10"} {
				tuples = append(tuples, fmt.Sprintf("(%d, %s, %s, %s)", len(tuples)+1, a, b, n))
			}
		}
	}
	exec(t, f.db, "INSERT INTO `t` VALUES "+strings.Join(tuples, ", "))
	id := len(tuples)
	h := newRowHash(f.mapping.Copied[1:]) // without the key
	var rows, distinct int
	if err := f.db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT "+h.orig+") FROM `t`").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != id || distinct != rows {
		t.Errorf("%d distinct hashes for %d distinct rows", distinct, rows)
	}
}

// TestLockWaitIsBounded: while another session holds a lock the read lock must wait for, Run waits
// at most the lock timeout per attempt and fails.
func TestLockWaitIsBounded(t *testing.T) {
	f := newFixture(t, "t", "CREATE TABLE `t` (id INT NOT NULL PRIMARY KEY, v INT)", "", "INSERT INTO `t` SELECT seq, seq FROM seq_1_to_100")
	ctx := testCtx(t)
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE `t` SET v = v + 1 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	f.cfg.LockTimeout, f.cfg.Retries = time.Second, 2
	start := time.Now()
	_, err = f.run(t)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "Lock wait timeout") || !strings.Contains(err.Error(), "2 attempt(s)") {
		t.Fatalf("error %v, want a lock wait timeout after 2 attempts", err)
	}
	if took > 5*time.Second {
		t.Errorf("took %s with a 1s lock timeout and 2 attempts", took)
	}
}

// TestSlowCatchUpReleasesTheLock: a replay that does not catch up within the lock timeout makes the
// point fail and frees the table; writers wait no longer than the lock timeout.
func TestSlowCatchUpReleasesTheLock(t *testing.T) {
	f := newFixture(t, "t", "CREATE TABLE `t` (id INT NOT NULL PRIMARY KEY, v INT)", "", "INSERT INTO `t` SELECT seq, seq FROM seq_1_to_100")
	f.cfg.LockTimeout, f.cfg.Retries = 500*time.Millisecond, 2
	var calls atomic.Int64
	f.cfg.CatchUp = func(ctx context.Context) error {
		if calls.Add(1)%2 == 1 {
			return nil // before the lock
		}
		<-ctx.Done() // under the lock: never catches up
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	worst := make(chan time.Duration, 1)
	go func() {
		var w time.Duration
		defer func() { worst <- w }()
		for ctx.Err() == nil {
			start := time.Now()
			if _, err := f.db.ExecContext(ctx, "UPDATE `t` SET v = v + 1 WHERE id = 1"); err != nil && ctx.Err() == nil {
				t.Error(err)
				return
			}
			w = max(w, time.Since(start))
			time.Sleep(5 * time.Millisecond)
		}
	}()
	_, err := f.run(t)
	cancel()
	if !errors.Is(err, errHeldTooLong) {
		t.Fatalf("error %v, want errHeldTooLong", err)
	}
	if calls.Load() != 4 {
		t.Errorf("%d catch-ups, want 2 attempts of 2", calls.Load())
	}
	if w := <-worst; w > 1500*time.Millisecond {
		t.Errorf("a write waited %s with a 500ms lock timeout", w)
	}
}
