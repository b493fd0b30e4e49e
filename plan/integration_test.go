package plan

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sandbox"
	"github.com/doppel-sql/doppel/table"
)

var sb *sandbox.Sandbox

func TestMain(m *testing.M) { sandbox.RunTests(m, sandbox.Options{NoReplica: true}, &sb) }

// newDB gives the test its own database on the sandbox, with the statements run in it.
func newDB(t *testing.T, statements ...string) (string, *sql.DB) {
	t.Helper()
	return sb.NewDB(t, statements...)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// server is the sandbox's server as alter.Parse needs to know it, read once.
var server = sync.OnceValues(func() (*alter.Server, error) {
	db, err := sb.Primary.DB("")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return alter.ReadServer(context.Background(), db)
})

// build plans text for the table as `doppel plan` does: the ALTER read as the server reads it, the
// table as table.Inspect reads it.
func build(t *testing.T, db *sql.DB, database, name, text string, opts Options) *Report {
	t.Helper()
	srv, err := server()
	if err != nil {
		t.Fatal(err)
	}
	a, err := alter.Read(text, database, name, srv)
	if err != nil {
		t.Fatalf("reading %q: %v", text, err)
	}
	tbl, err := table.Inspect(ctxFor(t), db, database, name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(ctxFor(t), db, sb.Flavor, tbl, a, opts)
	if err != nil {
		t.Fatalf("Build(%q): %v", text, err)
	}
	return r
}

// sequenceRows fills t with n rows from MariaDB's sequence engine.
func sequenceRows(n int) string {
	return fmt.Sprintf(`INSERT INTO orders (id, name, email, amount)
		SELECT seq, CONCAT('name', seq), CONCAT('user', seq, '@example.com'), seq / 100 FROM seq_1_to_%d`, n)
}

const ordersDDL = `CREATE TABLE orders (
	id INT NOT NULL PRIMARY KEY,
	name VARCHAR(50) NOT NULL DEFAULT '',
	email VARCHAR(100) NULL,
	amount DECIMAL(10,2) NOT NULL DEFAULT 0,
	note TEXT,
	KEY idx_name (name)
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`

func TestSizeFigures(t *testing.T) {
	database, db := newDB(t, ordersDDL, sequenceRows(5000), "ANALYZE TABLE orders")
	r := build(t, db, database, "orders", "ADD COLUMN c INT", Options{SampleChunks: -1})
	if r.Size == nil || r.Size.Rows < 4000 || r.Size.Rows > 6000 {
		t.Fatalf("size %+v, want about 5000 rows", r.Size)
	}
	if r.Size.DataBytes <= 0 || r.Size.IndexBytes <= 0 {
		t.Fatalf("size %+v, want data and index bytes", r.Size)
	}
	if r.Space.GhostBytes != r.Size.DataBytes+r.Size.IndexBytes || r.Space.BinlogBytes != r.Size.DataBytes {
		t.Fatalf("space %+v does not follow size %+v", r.Space, r.Size)
	}
	if r.Sample != nil || r.Estimate != nil {
		t.Fatalf("a negative SampleChunks must skip the sample, got %+v", r.Sample)
	}

	if _, err := table.Inspect(ctxFor(t), db, database, "nope"); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("a missing table: %v", err)
	}
}

func TestDuplicateCheck(t *testing.T) {
	database, db := newDB(t,
		`CREATE TABLE users (id INT NOT NULL PRIMARY KEY, email VARCHAR(100) NULL, code VARCHAR(20) NULL,
			a INT NULL, b INT NULL) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
		`INSERT INTO users VALUES
			(1, 'ann@example.com', 'abcdef1', 1, NULL),
			(2, 'ANN@example.com', 'abcdef2', 1, NULL),
			(3, 'bob@example.com', NULL, 2, 1),
			(4, NULL, NULL, 2, 2),
			(5, NULL, NULL, NULL, NULL)`)
	cases := []struct {
		name  string
		alter string
		found bool
	}{
		{"case-insensitive collation sees duplicates", "ADD UNIQUE KEY uk (email)", true},
		{"the new binary collation does not", "MODIFY email VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL, ADD UNIQUE KEY uk (email)", false},
		{"key before the MODIFY still uses the new collation", "ADD UNIQUE KEY uk (email), MODIFY email VARCHAR(100) COLLATE utf8mb4_bin NULL", false},
		{"NULLs never collide", "ADD UNIQUE KEY uk (a, b)", false},
		{"prefix of 6 collides", "ADD UNIQUE KEY uk (code(6))", true},
		{"prefix of 7 does not", "ADD UNIQUE KEY uk (code(7))", false},
		{"distinct column", "ADD UNIQUE KEY uk (id, email)", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := build(t, db, database, "users", tc.alter, Options{SampleChunks: -1})
			var check *Check
			for _, c := range r.Clauses {
				if c.Check != nil {
					check = c.Check
				}
			}
			if check == nil || check.Kind != "duplicates" || check.Found == nil {
				t.Fatalf("no duplicate check ran: %+v", r.Clauses)
			}
			if *check.Found != tc.found {
				t.Fatalf("found = %v, want %v", *check.Found, tc.found)
			}
			if tc.found && r.Verdict != VerdictRefused {
				t.Fatalf("duplicates must refuse, verdict %s", r.Verdict)
			}
			var out bytes.Buffer
			if err := r.WriteText(&out); err != nil {
				t.Fatal(err)
			}
			for _, value := range []string{"ann@", "ANN@", "abcdef"} {
				if strings.Contains(out.String(), value) {
					t.Fatalf("the report shows row value %q:\n%s", value, out.String())
				}
			}
		})
	}

	r := build(t, db, database, "users", "ADD COLUMN n INT NOT NULL DEFAULT 1, ADD UNIQUE KEY uk (n)", Options{SampleChunks: -1})
	if c := r.Clauses[1]; c.Check != nil || c.Risk != NeedsCare {
		t.Fatalf("a key on a new column with one default for every row: %+v", c)
	}
}

func TestNullCheck(t *testing.T) {
	database, db := newDB(t, ordersDDL, "INSERT INTO orders (id, email) VALUES (1, 'a@example.com'), (2, NULL)")
	r := build(t, db, database, "orders", "MODIFY email VARCHAR(100) NOT NULL", Options{SampleChunks: -1})
	c := r.Clauses[0].Check
	if c == nil || c.Kind != "nulls" || c.Found == nil || !*c.Found || r.Clauses[0].Risk != DataLoss {
		t.Fatalf("NULLs not found: %+v %+v", c, r.Clauses[0])
	}
	if _, err := db.Exec("UPDATE orders SET email = 'b@example.com' WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
	r = build(t, db, database, "orders", "MODIFY email VARCHAR(100) NOT NULL", Options{SampleChunks: -1})
	if c := r.Clauses[0].Check; c == nil || *c.Found || r.Verdict != VerdictNeedsCare {
		t.Fatalf("no NULLs left, got %+v, verdict %s", c, r.Verdict)
	}
	r = build(t, db, database, "orders", "MODIFY email VARCHAR(100) NOT NULL", Options{SampleChunks: -1, SkipDataChecks: true})
	if r.Clauses[0].Check != nil {
		t.Fatalf("SkipDataChecks ran a check: %+v", r.Clauses[0].Check)
	}
}

func TestSample(t *testing.T) {
	cases := []struct {
		name         string
		ddl, fill    string
		chunks, rows int
		wantRows     int64
		wantChunks   int
	}{
		{"three full chunks", ordersDDL, sequenceRows(5000), 3, 1000, 3000, 3},
		{"the table ends first", ordersDDL, sequenceRows(1500), 3, 1000, 1500, 2},
		{"empty table", ordersDDL, "DO 1", 3, 1000, 0, 1},
		{"composite key walks every row once", `CREATE TABLE orders (a INT NOT NULL, b INT NOT NULL, v VARCHAR(10), PRIMARY KEY (a, b))`,
			"INSERT INTO orders SELECT seq DIV 7, seq MOD 7, 'x' FROM seq_0_to_2499", 10, 300, 2500, 9},
		{"unique key when there is no primary key", `CREATE TABLE orders (a INT NOT NULL, v INT, UNIQUE KEY uk (a))`,
			"INSERT INTO orders SELECT seq, seq FROM seq_1_to_250", 5, 100, 250, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			database, db := newDB(t, tc.ddl, tc.fill, "ANALYZE TABLE orders")
			r := build(t, db, database, "orders", "ENGINE=InnoDB", Options{SampleChunks: tc.chunks, ChunkRows: tc.rows})
			s := r.Sample
			if s == nil {
				t.Fatal("no sample")
			}
			if s.Rows != tc.wantRows || s.Chunks != tc.wantChunks {
				t.Fatalf("sample read %d rows in %d chunks, want %d in %d", s.Rows, s.Chunks, tc.wantRows, tc.wantChunks)
			}
			if r.Estimate == nil || (tc.wantRows > 0 && r.Estimate.CopySeconds <= 0) {
				t.Fatalf("estimate %+v", r.Estimate)
			}
		})
	}

	database, db := newDB(t, noKeyTable)
	if r := build(t, db, database, "orders", "ENGINE=InnoDB", Options{}); r.Sample != nil || r.Verdict != VerdictRefused {
		t.Fatalf("a table without a key: sample %+v, verdict %s", r.Sample, r.Verdict)
	}
}

func TestBinlogAndDisk(t *testing.T) {
	database, db := newDB(t, ordersDDL)
	r := build(t, db, database, "orders", "ADD COLUMN c INT", Options{})
	if b := r.Binlog; b == nil || !b.Enabled || b.Format != "ROW" {
		t.Fatalf("binlog %+v, want ROW on", r.Binlog)
	}
	if r.Space.FreeBytes != nil || !strings.Contains(r.Space.Note, "DISKS plugin") {
		t.Fatalf("without the DISKS plugin free space is unknown: %+v", r.Space)
	}

	set := func(q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var before int64
	if err := db.QueryRow("SELECT @@global.binlog_expire_logs_seconds").Scan(&before); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set(fmt.Sprintf("SET GLOBAL binlog_expire_logs_seconds = %d", before)) })
	set("SET GLOBAL binlog_expire_logs_seconds = 3600")
	r = build(t, db, database, "orders", "ADD COLUMN c INT", Options{})
	if s := r.Binlog.RetentionSeconds; s == nil || *s != 3600 {
		t.Fatalf("retention %v, want 3600", s)
	}
	set("SET GLOBAL binlog_expire_logs_seconds = 0")
	r = build(t, db, database, "orders", "ADD COLUMN c INT", Options{})
	if s := r.Binlog.RetentionSeconds; s != nil {
		t.Fatalf("retention %v, want never", *s)
	}

	set("INSTALL SONAME 'disks'")
	t.Cleanup(func() { set("UNINSTALL SONAME 'disks'") })
	r = build(t, db, database, "orders", "ADD COLUMN c INT", Options{})
	if r.Space.FreeBytes == nil || *r.Space.FreeBytes <= 0 {
		t.Fatalf("with the DISKS plugin free space is known: %+v", r.Space)
	}
}

// TestRulesOnThisServer holds the rules table to the sandbox's own server: what the plan calls INSTANT
// must run with ALGORITHM=INSTANT, what it calls INPLACE must run with LOCK=NONE and not instantly,
// what it calls COPY must not run in place.
func TestRulesOnThisServer(t *testing.T) {
	const table = `CREATE TABLE orders (
		id INT NOT NULL PRIMARY KEY,
		name VARCHAR(50) NOT NULL DEFAULT '',
		email VARCHAR(100) NULL,
		status ENUM('new','paid','shipped') NOT NULL DEFAULT 'new',
		amount DECIMAL(10,2) NOT NULL DEFAULT 0,
		note TEXT,
		created DATETIME NOT NULL DEFAULT '2020-01-01 00:00:00',
		a VARCHAR(100) CHARACTER SET latin1 NOT NULL DEFAULT '',
		b VARCHAR(200) CHARACTER SET latin1 NOT NULL DEFAULT '',
		t3 VARCHAR(50) CHARACTER SET utf8mb3 NOT NULL DEFAULT '',
		vv INT AS (id * 2) VIRTUAL,
		KEY idx_name (name),
		UNIQUE KEY uk_email (email),
		CONSTRAINT c_amount CHECK (amount >= 0)
	) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`
	alters := []string{
		"ADD COLUMN c INT",
		"ADD COLUMN c INT FIRST",
		"ADD COLUMN c INT AFTER vv",
		"ADD COLUMN c INT NOT NULL DEFAULT 0 AFTER id",
		"ADD COLUMN s INT AS (id + 1) STORED",
		"ADD COLUMN ts DATETIME DEFAULT CURRENT_TIMESTAMP",
		"DROP COLUMN note",
		"DROP COLUMN name",
		"CHANGE email mail VARCHAR(100) NULL",
		"RENAME COLUMN email TO mail",
		"MODIFY note TEXT AFTER id",
		"ALTER COLUMN amount SET DEFAULT 1",
		"ALTER COLUMN amount DROP DEFAULT",
		"MODIFY amount DECIMAL(10,2) NOT NULL DEFAULT 0 COMMENT 'in cents'",
		"MODIFY name VARCHAR(60) NOT NULL DEFAULT ''",
		"MODIFY name VARCHAR(100) NOT NULL DEFAULT ''",
		"MODIFY a VARCHAR(300) CHARACTER SET latin1 NOT NULL DEFAULT ''",
		"MODIFY b VARCHAR(300) CHARACTER SET latin1 NOT NULL DEFAULT ''",
		"MODIFY amount DECIMAL(12,2) NOT NULL DEFAULT 0",
		"MODIFY id BIGINT NOT NULL",
		"MODIFY status ENUM('new','paid','shipped','returned') NOT NULL DEFAULT 'new'",
		"MODIFY status ENUM('paid','new','shipped') NOT NULL DEFAULT 'new'",
		"MODIFY email VARCHAR(100) NOT NULL",
		"MODIFY name VARCHAR(50) NULL DEFAULT ''",
		"MODIFY email VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL",
		"MODIFY t3 VARCHAR(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL DEFAULT ''",
		"ADD INDEX idx_created (created)",
		"ADD UNIQUE KEY uk_name (name)",
		"ADD FULLTEXT KEY ft_note (note)",
		"DROP INDEX idx_name",
		"RENAME INDEX idx_name TO idx_n",
		"DROP PRIMARY KEY, ADD PRIMARY KEY (id, created)",
		"DROP PRIMARY KEY",
		"ENGINE=InnoDB",
		"ROW_FORMAT=COMPACT",
		"AUTO_INCREMENT=1000",
		"CONVERT TO CHARACTER SET utf8mb4",
		"ADD CONSTRAINT chk CHECK (amount >= 0)",
		"DROP CONSTRAINT c_amount",
		"DROP COLUMN vv",
		"ADD COLUMN v INT AS (id + 1) VIRTUAL",
		"ADD COLUMN n INT NOT NULL AUTO_INCREMENT UNIQUE KEY",
		"COMMENT='orders'",
		"DEFAULT CHARSET=latin1",
		"STATS_PERSISTENT=1",
		"ROW_FORMAT=REDUNDANT",
		"MODIFY created DATETIME(3) NOT NULL DEFAULT '2020-01-01 00:00:00'",
	}
	for _, alter := range alters {
		t.Run(alter, func(t *testing.T) {
			database, db := newDB(t, table)
			r := build(t, db, database, "orders", alter, Options{SampleChunks: -1})
			clauses := make([]string, len(r.Clauses))
			for i, c := range r.Clauses {
				clauses[i] = c.SQL
			}
			try := func(algorithm string) error {
				// Each attempt on a fresh copy, so that a success does not change the next attempt.
				if _, err := db.Exec("DROP TABLE IF EXISTS orders"); err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(table); err != nil {
					t.Fatal(err)
				}
				_, err := db.Exec("ALTER TABLE orders " + strings.Join(clauses, ", ") + ", " + algorithm)
				return err
			}
			ok := func(algorithm string) {
				if err := try(algorithm); err != nil {
					t.Errorf("plan says %s, but %s fails: %v", r.Algorithm, algorithm, err)
				}
			}
			fails := func(algorithm string) {
				if err := try(algorithm); err == nil {
					t.Errorf("plan says %s, but %s works", r.Algorithm, algorithm)
				} else if n := dbconn.ErrorNumber(err); n != 1845 && n != 1846 {
					t.Errorf("%s: want error 1845/1846 (not supported), got %v", algorithm, err)
				}
			}
			switch r.Algorithm {
			case Instant:
				ok("ALGORITHM=INSTANT")
			case Inplace:
				fails("ALGORITHM=INSTANT")
				ok("ALGORITHM=INPLACE, LOCK=NONE")
			case InplaceLocking:
				fails("ALGORITHM=INPLACE, LOCK=NONE")
				ok("ALGORITHM=INPLACE, LOCK=SHARED")
			case Copy:
				fails("ALGORITHM=INPLACE")
			}
			if r.Algorithm != Copy && !r.Rebuild && sb.Flavor.Name() == "mariadb" && r.Algorithm != Instant {
				ok("ALGORITHM=NOCOPY") // MariaDB's word for in place without a rebuild
			}
		})
	}
}

// TestFullReport builds the plan for a real table end to end and checks both renderings.
func TestFullReport(t *testing.T) {
	database, db := newDB(t, ordersDDL, sequenceRows(20000), "UPDATE orders SET email = 'dup@example.com' WHERE id IN (7, 8)", "ANALYZE TABLE orders")
	alter := "ADD COLUMN shipped_at DATETIME NULL, MODIFY name VARCHAR(40) NOT NULL DEFAULT '', ADD UNIQUE KEY uk_email (email), RENAME COLUMN note TO remarks"
	r := build(t, db, database, "orders", alter, Options{})
	if r.Verdict != VerdictRefused || r.ExitCode() != 2 {
		t.Fatalf("verdict %s: narrowing and duplicates must refuse", r.Verdict)
	}
	if r.Sample == nil || r.Sample.Rows != 3000 || r.Estimate == nil {
		t.Fatalf("sample %+v, estimate %+v", r.Sample, r.Estimate)
	}
	if r.Deployment.Order != ExpandContract || len(r.Deployment.Phases) < 2 {
		t.Fatalf("deployment %+v", r.Deployment)
	}
	var text, js bytes.Buffer
	r.ShowExitCode = true
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"verdict", "refused (exit 2)", "duplicates exist now", "rows", "sample", "estimate", "expand-contract"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q", want)
		}
	}
	if strings.Contains(text.String(), "dup@example.com") || strings.Contains(js.String(), "dup@example.com") {
		t.Error("the report shows a row value")
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"verdict", "algorithm", "clauses", "size", "space", "binlog", "sample", "estimate", "deployment"} {
		if _, ok := back[key]; !ok {
			t.Errorf("JSON lacks %q", key)
		}
	}
	t.Logf("text report:\n%s", text.String())
	t.Logf("JSON report:\n%s", js.String())

	r = build(t, db, database, "orders", "ADD COLUMN c INT", Options{})
	if !r.Instant() || r.Verdict != VerdictSafe {
		t.Fatalf("ADD COLUMN should be instant and safe: %s", r.Verdict)
	}
	if _, err := db.Exec("ALTER TABLE orders ADD COLUMN c INT, ALGORITHM=INSTANT"); err != nil {
		t.Fatalf("the server does not run what the plan calls instant: %v", err)
	}
	text.Reset()
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("instant report:\n%s", text.String())
}

// TestIterationKey: the plan names the key the migration would iterate, and why, for shapes of
// PRIMARY KEY change, tried on a temporary copy.
func TestIterationKey(t *testing.T) {
	database, db := newDB(t, ordersDDL, "ALTER TABLE orders ADD UNIQUE KEY uk_email (email), ADD created DATETIME NOT NULL DEFAULT '2020-01-01'")
	for _, tc := range []struct{ alter, key, why string }{
		{"ADD COLUMN x INT NULL", "PRIMARY", "the PRIMARY KEY, kept by the ALTER"},
		{"DROP PRIMARY KEY, ADD PRIMARY KEY (id, created)", "PRIMARY", "finds its rows along the PRIMARY KEY, which starts with its columns"},
		{"DROP PRIMARY KEY", "", "none: "},
	} {
		t.Run(tc.alter, func(t *testing.T) {
			r := build(t, db, database, "orders", tc.alter, Options{SampleChunks: -1, SkipDataChecks: true})
			if r.Key == nil || r.Key.Name != tc.key || !strings.Contains(r.Key.Why, tc.why) {
				t.Fatalf("key %+v, want %s (%s)", r.Key, tc.key, tc.why)
			}
			var b strings.Builder
			if err := r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "key ") {
				t.Errorf("the text report has no key line:\n%s", b.String())
			}
		})
	}
	r := build(t, db, database, "orders", "DROP PRIMARY KEY", Options{SampleChunks: -1, SkipDataChecks: true, AllowNullableUniqueKey: true})
	if r.Key == nil || r.Key.Name != "uk_email" {
		t.Fatalf("with --allow-nullable-unique-key: key %+v, want uk_email", r.Key)
	}
}

// TestMovesAtTheSwap: the plan lists each trigger, each of the table's foreign keys and each foreign
// key referencing it, with how doppel moves it and who waits, in the text and in the JSON.
func TestMovesAtTheSwap(t *testing.T) {
	database, db := newDB(t,
		"CREATE TABLE customer (id INT PRIMARY KEY)",
		"CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE)",
		"CREATE TABLE item (id INT PRIMARY KEY, order_id INT, CONSTRAINT fk_item_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE SET NULL)",
		"CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY)",
		"CREATE TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit () VALUES ()")
	r := build(t, db, database, "orders", "ADD COLUMN note TEXT", Options{})
	want := []struct{ kind, what string }{
		{"trigger", "orders_ai (AFTER INSERT)"},
		{"parent", "fk_orders_customer on " + database + ".orders → " + database + ".customer, ON DELETE CASCADE, ON UPDATE RESTRICT"},
		{"child", "fk_item_order on " + database + ".item → " + database + ".orders, ON DELETE SET NULL, ON UPDATE RESTRICT"},
	}
	if len(r.Moves) != len(want) {
		t.Fatalf("moves %+v, want %d", r.Moves, len(want))
	}
	for i, w := range want {
		if m := r.Moves[i]; m.Kind != w.kind || m.What != w.what || m.How == "" || m.Blocking == "" {
			t.Errorf("move %d = %+v, want %s %q with how and blocking", i, m, w.kind, w.what)
		}
	}
	if r.Verdict != VerdictNeedsCare {
		t.Errorf("verdict %s, want needs care", r.Verdict)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"moved at the swap", "trigger  orders_ai (AFTER INSERT)", "waits: the child's writers"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("the text lacks %q:\n%s", s, text.String())
		}
	}
}
