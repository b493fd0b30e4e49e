package loadgen_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sandbox"
)

var sb *sandbox.Sandbox

func TestMain(m *testing.M) {
	sandbox.RunTests(m, sandbox.Options{NoReplica: true}, &sb)
}

// newTable creates a database with table t from the given definition and its oracle t__oracle.
func newTable(t *testing.T, definition string) (*sql.DB, string) {
	t.Helper()
	schema := sb.NewDatabase(t)
	db, err := sb.Primary.DB(schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, q := range []string{"CREATE TABLE t (" + definition + ")", "CREATE TABLE t__oracle LIKE t"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return db, schema
}

// runLoad seeds rows and runs the generator for a while, then checks that every transaction
// committed, none diverged, and the table equals its oracle.
func runLoad(t *testing.T, db *sql.DB, schema string, key []string, seed int, d time.Duration, timeZone string) {
	t.Helper()
	ctx := context.Background()
	cfg := loadgen.Config{DB: db, Schema: schema, Table: "t", Oracle: "t__oracle", Workers: 4, TimeZone: timeZone, Seed: 42}
	g, err := loadgen.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Seed(ctx, seed); err != nil {
		t.Fatal(err)
	}
	// A second generator starts from the rows the table now holds, as a load started on a live
	// table does. It gets another seed: the same one would draw the same values again, and collide
	// under the unique keys it does not track.
	cfg.Seed++
	g, err = loadgen.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := g.Run(runCtx); err != nil {
		t.Fatal(err)
	}
	st := g.Stats()
	t.Logf("committed %d, failed %d, conflicts %d, p50 %v, p99 %v", st.Committed, st.Failed, st.Conflicts, st.Percentile(0.5), st.Percentile(0.99))
	if st.Committed < 50 || st.Failed > 0 || st.Divergent > 0 {
		t.Errorf("committed %d, failed %d, divergent %d: want many, none, none; errors: %s",
			st.Committed, st.Failed, st.Divergent, strings.Join(st.Errors, " | "))
	}
	for _, op := range []string{"insert", "update", "update-key", "delete", "upsert", "replace", "update-many", "delete-many"} {
		o := st.Ops[op]
		// Every operation must run and find its row: one that misses its rows writes no load. Some
		// legitimately change nothing (new values equal to the old ones, common for extremes).
		if o.Committed == 0 || o.Unchanged*3 > o.Committed {
			t.Errorf("%s: %d committed, %d changed no row", op, o.Committed, o.Unchanged)
		}
	}
	if err := loadgen.Compare(ctx, db, schema, "t", "t__oracle", key); err != nil {
		t.Error(err)
	}
}

// TestEveryType writes every column type the generator knows, under a non-UTC session time zone,
// with every statement kind: none may fail, and the oracle must stay equal.
func TestEveryType(t *testing.T) {
	db, schema := newTable(t, `id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
		ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT UNSIGNED, i INT NOT NULL DEFAULT 0, bi BIGINT,
		d DECIMAL(65,30), d2 DECIMAL(5,0) UNSIGNED, f FLOAT, db DOUBLE, fm FLOAT(7,3),
		bt BIT(1), b64 BIT(64), y YEAR,
		dt DATE, dtm DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(2),
		c CHAR(5), v VARCHAR(40) COLLATE utf8mb4_bin, vl VARCHAR(20) CHARACTER SET latin1,
		va VARCHAR(10) CHARACTER SET ascii, v3 VARCHAR(10) CHARACTER SET utf8mb3,
		tt TINYTEXT, tx TEXT, bn BINARY(16), vb VARBINARY(40), tb TINYBLOB, bl BLOB, mb MEDIUMBLOB,
		e ENUM('a','é','ü b'), s SET('x','y','z'), j JSON,
		inv INT INVISIBLE,
		g1 BIGINT AS (i * 2) VIRTUAL, g2 VARCHAR(50) AS (CONCAT(v, '!')) STORED,
		u VARCHAR(30) UNIQUE`)
	runLoad(t, db, schema, []string{"id"}, 500, 2*time.Second, "+05:30")
}

// TestKeys runs the load on tables keyed in the ways that are hard to get right, which also checks
// that Compare pairs rows of every key type.
func TestKeys(t *testing.T) {
	k := []string{"k"}
	for _, tc := range []struct {
		name, definition string
		key              []string
	}{
		{"ci varchar", "k VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT", k},
		{"binary16", "k BINARY(16) PRIMARY KEY, v VARCHAR(10)", k},
		{"composite", "a SMALLINT NOT NULL, b VARCHAR(10) CHARACTER SET latin1 NOT NULL, c DATETIME(6) NOT NULL, v INT, PRIMARY KEY (a, b, c)", []string{"a", "b", "c"}},
		{"unsigned", "k BIGINT UNSIGNED PRIMARY KEY, v INT", k},
		{"decimal unique", "k DECIMAL(20,5) NOT NULL UNIQUE, v INT", k},
		{"time", "k TIME(3) PRIMARY KEY, v INT", k},
		{"tiny domain", "k TINYINT PRIMARY KEY, v INT", k},
		{"timestamp", "k TIMESTAMP(6) NOT NULL PRIMARY KEY, v INT", k},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, schema := newTable(t, tc.definition)
			runLoad(t, db, schema, tc.key, 200, 700*time.Millisecond, "-03:00")
		})
	}
}

// TestCompareFindsDifferences makes sure Compare sees each kind of difference, byte for byte.
func TestCompareFindsDifferences(t *testing.T) {
	db, schema := newTable(t, "k VARCHAR(10) COLLATE utf8mb4_general_ci PRIMARY KEY, b BLOB, ts TIMESTAMP(6) NULL, s VARCHAR(10)")
	ctx := context.Background()
	for _, table := range []string{"t", "t__oracle"} {
		if _, err := db.Exec("INSERT INTO " + table + ` VALUES ('a', X'01', '2020-01-01 00:00:00.5', 'x'), ('b', X'02', NULL, ''),
			('c', X'03', NULL, 'z'), ('d', NULL, NULL, NULL), ('e', X'05', NULL, NULL), ('f', X'06', NULL, 'f')`); err != nil {
			t.Fatal(err)
		}
	}
	if err := loadgen.Compare(ctx, db, schema, "t", "t__oracle", []string{"k"}); err != nil {
		t.Fatalf("equal tables: %v", err)
	}
	for _, q := range []string{
		"UPDATE t__oracle SET b = X'0200' WHERE k = 'b'",                       // a trailing zero byte
		"UPDATE t__oracle SET s = NULL WHERE k = 'b'",                          // '' became NULL
		"UPDATE t__oracle SET ts = '2020-01-01 00:00:00.500001' WHERE k = 'a'", // a microsecond
		"UPDATE t__oracle SET s = 'F' WHERE k = 'f'",                           // equal under the collation only
		"DELETE FROM t__oracle WHERE k = 'c'",
		"UPDATE t__oracle SET k = 'E' WHERE k = 'e'", // the key's case: another key, byte for byte
		"INSERT INTO t__oracle VALUES ('g', NULL, NULL, NULL)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	err := loadgen.Compare(ctx, db, schema, "t", "t__oracle", []string{"k"})
	var m *loadgen.Mismatch
	if !errors.As(err, &m) {
		t.Fatalf("Compare = %v, want a *Mismatch", err)
	}
	if m.Differing != 3 || m.Missing != 2 || m.Extra != 2 || m.Rows != 6 {
		t.Errorf("differing %d, missing %d, extra %d, rows %d: want 3, 2, 2, 6 (%v)", m.Differing, m.Missing, m.Extra, m.Rows, m)
	}
	for _, want := range []string{`(k="a"): ts ("2020-01-01 00:00:00.500000" vs "2020-01-01 00:00:00.500001") differ`,
		`(k="b"): b (0x02 vs 0x0200), s ("" vs NULL) differ`, `missing from`, `extra in`} {
		if !strings.Contains(m.Error(), want) {
			t.Errorf("the report lacks %q: %v", want, m)
		}
	}
}

// TestCompareGeneratedColumns shows that stored and virtual generated columns are compared too.
func TestCompareGeneratedColumns(t *testing.T) {
	db, schema := newTable(t, "k INT PRIMARY KEY, x INT, g INT AS (x + 1) VIRTUAL")
	for _, q := range []string{
		"DROP TABLE t__oracle",
		"CREATE TABLE t__oracle (k INT PRIMARY KEY, x INT, g INT AS (x + 2) VIRTUAL)",
		"INSERT INTO t (k, x) VALUES (1, 1)",
		"INSERT INTO t__oracle (k, x) VALUES (1, 1)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	err := loadgen.Compare(context.Background(), db, schema, "t", "t__oracle", []string{"k"})
	var m *loadgen.Mismatch
	if !errors.As(err, &m) || m.Differing != 1 || !strings.Contains(m.Error(), `g ("2" vs "3") differ`) {
		t.Fatalf("Compare = %v, want column g to differ", err)
	}
}

// TestSessionsDoNotLeak checks that the generator's session settings (its time zone above all) do
// not come back to the caller through the pool: a TIMESTAMP the caller reads must not shift.
func TestSessionsDoNotLeak(t *testing.T) {
	db, schema := newTable(t, "k INT PRIMARY KEY, ts TIMESTAMP NULL")
	ctx := context.Background()
	g, err := loadgen.New(ctx, loadgen.Config{DB: db, Schema: schema, Table: "t", Oracle: "t__oracle", Workers: 4, TimeZone: "+05:30"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Seed(ctx, 50); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := g.Run(runCtx); err != nil {
		t.Fatal(err)
	}
	// Hold several connections at once, so every idle one in the pool is looked at.
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 8 {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var tz string
		if err := c.QueryRowContext(ctx, "SELECT @@session.time_zone").Scan(&tz); err != nil {
			t.Fatal(err)
		}
		if tz != "+00:00" {
			t.Fatalf("a pooled connection has time_zone %s after the load, want the pool's +00:00", tz)
		}
	}
}
