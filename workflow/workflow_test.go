package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sandbox"
	"github.com/doppel-sql/doppel/plan"
	"github.com/doppel-sql/doppel/table"
)

// deployment is nine migrations as a team would write them: a table created, a nullable column
// added (instant), backfilled through the directive, an index added online on a 200,000-row table
// under load, the column made NOT NULL after its backfill, a column renamed by expand–contract (add
// the new one and copy, then drop the old one), a table created, and two tables changed online
// together (copied side by side, swapped in one RENAME); each with its down.
var deployment = map[string]string{
	"0001_create_accounts.up.sql":    "CREATE TABLE accounts (id INT NOT NULL PRIMARY KEY, name VARCHAR(50) NOT NULL);\nINSERT INTO accounts SELECT seq, CONCAT('a', seq) FROM seq_1_to_1000;\n",
	"0001_create_accounts.down.sql":  "DROP TABLE accounts;\n",
	"0002_add_email.up.sql":          "ALTER TABLE accounts ADD COLUMN email VARCHAR(100) NULL;\n",
	"0002_add_email.down.sql":        "ALTER TABLE accounts DROP COLUMN email;\n",
	"0003_backfill_email.up.sql":     "-- every account gets an address\n-- doppel:backfill\nUPDATE accounts SET email = CONCAT(name, '@example.com') WHERE email IS NULL;\n",
	"0003_backfill_email.down.sql":   "UPDATE accounts SET email = NULL;\n",
	"0004_index_big.up.sql":          "ALTER TABLE big ADD INDEX k_c (k, c);\n",
	"0004_index_big.down.sql":        "ALTER TABLE big DROP INDEX k_c;\n",
	"0005_email_not_null.up.sql":     "ALTER TABLE accounts MODIFY email VARCHAR(100) NOT NULL;\n",
	"0005_email_not_null.down.sql":   "ALTER TABLE accounts MODIFY email VARCHAR(100) NULL;\n",
	"0006_expand_full_name.up.sql":   "ALTER TABLE accounts ADD COLUMN full_name VARCHAR(50) NULL;\n-- doppel:backfill\nUPDATE accounts SET full_name = name WHERE full_name IS NULL;\n",
	"0006_expand_full_name.down.sql": "ALTER TABLE accounts DROP COLUMN full_name;\n",
	"0007_contract_name.up.sql":      "ALTER TABLE accounts DROP COLUMN name;\n",
	"0007_contract_name.down.sql":    "ALTER TABLE accounts ADD COLUMN name VARCHAR(50) NOT NULL DEFAULT '' AFTER id;\nUPDATE accounts SET name = full_name;\n",
	"0008_create_audit.up.sql":       "CREATE TABLE audit (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, what VARCHAR(100) NOT NULL);\n",
	"0008_create_audit.down.sql":     "DROP TABLE audit;\n",
	"0009_pair.up.sql":               "ALTER TABLE big ADD INDEX pad_k (pad, k);\nALTER TABLE big2 ADD INDEX b_pad (b, pad);\n",
	"0009_pair.down.sql":             "ALTER TABLE big2 DROP INDEX b_pad;\nALTER TABLE big DROP INDEX pad_k;\n",
}

const bigRows = 200000

// TestDeployment applies the nine migrations with up while a random write load runs on the big
// table, interrupts up in the middle of the online copy and runs it again (the copy resumes from its
// checkpoint), checks the history rows and checksums and the big table against its oracle, then
// reverts everything with down.
func TestDeployment(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	database, db := sb.NewDB(t,
		"CREATE TABLE big (id INT NOT NULL PRIMARY KEY, k INT NOT NULL, c VARCHAR(60) NOT NULL, pad VARCHAR(60) NULL)",
		"CREATE TABLE big_oracle LIKE big",
		fmt.Sprintf("INSERT INTO big SELECT seq, seq %% 1000, CONCAT('c', seq), REPEAT('p', 40) FROM seq_1_to_%d", bigRows),
		"INSERT INTO big_oracle SELECT * FROM big",
		"ANALYZE TABLE big",
		"CREATE TABLE big2 (id INT NOT NULL PRIMARY KEY, b INT NOT NULL, pad VARCHAR(80) NULL)",
		"INSERT INTO big2 SELECT seq, seq, REPEAT('q', 70) FROM seq_1_to_70000",
		"ANALYZE TABLE big2",
	)
	load, err := loadgen.New(ctx, loadgen.Config{DB: db, Schema: database, Table: "big", Oracle: "big_oracle", Workers: 2, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	loadDone := make(chan error, 1)
	go func() { loadDone <- load.Run(loadCtx) }()
	defer func() {
		stopLoad()
		_ = <-loadDone
	}()

	dir := writeDir(t, deployment)
	eng := &engine{database: database, chunkSize: 500}
	bf := &chunkedBackfill{database: database}
	const threshold = 4 << 20 // big (~20 MiB) runs online, accounts natively
	configure := func(c *Config) { c.Online, c.Backfiller, c.OnlineThreshold, c.AllowDataLoss = eng, bf, threshold, true }

	// The plan: how each statement would run, before anything exists.
	w, _ := open(ctx, t, database, dir, func(c *Config) { configure(c); c.AllowDataLoss = false })
	p, err := w.PlanUp(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	hows := map[string]How{}
	for _, mp := range p.Migrations {
		for _, s := range mp.Steps {
			hows[fmt.Sprintf("%s.%d", mp.Version, s.Statement)] = s.How
		}
	}
	for step, want := range map[string]How{"1.1": HowNative, "2.1": HowAtItsTurn, "3.1": HowBackfill, "4.1": HowOnline, "8.1": HowNative} {
		if hows[step] != want {
			t.Errorf("statement %s planned %s, want %s", step, hows[step], want)
		}
	}
	if p.Migrations[0].Deployment.Order != plan.MigrationFirst || p.Migrations[3].Steps[0].Report == nil {
		t.Errorf("0001 deploys %s, want migration-first; 0004 must carry its pre-flight report", p.Migrations[0].Deployment.Order)
	}

	// up 3: the table, its column (instant, at its turn), the backfill.
	w, out := open(ctx, t, database, dir, configure)
	if _, err := w.Up(ctx, 3); err != nil {
		t.Fatalf("up 3: %v\n%s", err, out)
	}
	if len(bf.stmts) != 1 || !strings.HasPrefix(bf.stmts[0], "UPDATE accounts SET email") {
		t.Errorf("the backfill engine ran %q, want the UPDATE of 0003", bf.stmts)
	}

	// up, interrupted in the middle of the online copy of big.
	upCtx, interrupt := context.WithCancel(ctx)
	copying := make(chan struct{})
	go func() {
		defer close(copying)
		for upCtx.Err() == nil {
			var n int64
			if err := db.QueryRowContext(upCtx, "SELECT COUNT(*) FROM "+table.GhostName("big")).Scan(&n); err == nil && n > 20000 {
				interrupt()
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	w, out = open(ctx, t, database, dir, configure)
	_, err = w.Up(upCtx, 0)
	interrupt()
	<-copying
	if err == nil || !strings.Contains(err.Error(), "0004_index_big.up.sql stopped at statement 1") {
		t.Fatalf("interrupted up: %v, want 0004 stopped at statement 1\n%s", err, out)
	}
	st, err := w.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st[3].State != StateFailed || st[3].StoppedAt != 1 || st[4].State != StatePending {
		t.Fatalf("after the interruption: 0004 %s at %d, 0005 %s", st[3].State, st[3].StoppedAt, st[4].State)
	}
	if ok, err := table.Exists(ctx, db, database, table.ChangelogName("big")); err != nil || !ok {
		t.Fatalf("the stopped online copy must keep its changelog table for the resume: %v %v", ok, err)
	}

	// up again: the copy resumes, then the rest runs.
	w, out = open(ctx, t, database, dir, configure)
	if _, err := w.Up(ctx, 0); err != nil {
		t.Fatalf("up after the interruption: %v\n%s", err, out)
	}
	if got := strings.Join(eng.calls, ", "); got != "big resume=false, big resume=true, group big,big2" {
		t.Errorf("online engine calls: %s, want a first run, then a resume, then 0009's two tables as one group", got)
	}
	if !strings.Contains(out.String(), "continuing 0004_index_big.up.sql at statement 1") {
		t.Errorf("the second up must say it continues 0004:\n%s", out)
	}

	// The history: one successful up per migration, with the file's checksum and how each ran.
	rows, err := w.hist.read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 9 {
		t.Fatalf("%d history rows, want 9 (the interrupted run continued in its own row)", len(rows))
	}
	want := map[string]string{"1": "native native", "2": "instant", "3": "backfill", "4": "online", "5": "native", "6": "instant backfill", "7": "instant", "8": "native", "9": "online online"}
	for i, r := range rows {
		m := w.migrations[i]
		var hows []string
		for _, s := range r.Statements {
			hows = append(hows, string(s.How))
		}
		if r.Version != m.Version.String() || r.Direction != "up" || !r.Success || r.StoppedAt != 0 || r.Checksum != m.Up.Checksum || r.Script != m.Up.Name || r.AppliedBy == "" {
			t.Errorf("history row %d: %+v", i, r)
		}
		if got := strings.Join(hows, " "); got != want[r.Version] {
			t.Errorf("version %s ran %q, want %q", r.Version, got, want[r.Version])
		}
	}
	if rows[3].Error != "" || rows[3].Duration <= 0 {
		t.Errorf("0004's row, continued to success: error %q, duration %s", rows[3].Error, rows[3].Duration)
	}

	// The big table, migrated online under the load, holds what its oracle holds.
	stopLoad()
	if err := <-loadDone; err != nil {
		t.Fatal(err)
	}
	loadDone <- nil
	if err := loadgen.Compare(ctx, db, database, "big", "big_oracle", []string{"id"}); err != nil {
		t.Fatalf("big differs from its oracle after the online index: %v", err)
	}
	if s := load.Stats(); s.Committed == 0 {
		t.Errorf("the load committed nothing: %+v", s)
	} else {
		t.Logf("load: %d transactions committed, %d failed, %d divergent; 0004 online, both attempts: %s", s.Committed, s.Failed, s.Divergent, rows[3].Duration)
	}
	var nulls int
	sandbox.MustExec(t, db, "SELECT 1") // the pool still works
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM accounts WHERE email IS NULL OR full_name IS NULL OR full_name <> SUBSTRING_INDEX(email, '@', 1)").Scan(&nulls); err != nil || nulls != 0 {
		t.Errorf("accounts: %d rows not backfilled (%v)", nulls, err)
	}

	// down, all of it: every table and column back as it was.
	w, out = open(ctx, t, database, dir, configure)
	if _, err := w.Down(ctx, 9); err != nil {
		t.Fatalf("down 9: %v\n%s", err, out)
	}
	st, err = w.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.State != StatePending {
			t.Errorf("after down, %s is %s", s.Version, s.State)
		}
	}
	if rows, err = w.hist.read(ctx); err != nil || len(rows) != 18 {
		t.Fatalf("%d history rows after down, want 18 (%v)", len(rows), err)
	}
	for i, r := range rows[9:] {
		m := w.migrations[8-i]
		if r.Direction != "down" || !r.Success || r.Version != m.Version.String() || r.Checksum != m.Down.Checksum {
			t.Errorf("history row of the down of %s: %+v", m.Version, r)
		}
	}
	// doppel's bookkeeping stays: the history, and the backfills' checkpoints (one per run).
	if got := sandbox.Tables(t, db); got != "_doppel_backfill,big,big2,big_oracle,doppel_schema_history" {
		t.Errorf("tables after down: %s", got)
	}
	var indexes int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'big' AND INDEX_NAME = 'k_c'", database).Scan(&indexes); err != nil || indexes != 0 {
		t.Errorf("the index of 0004 is still there after down (%v)", err)
	}
	if err := loadgen.Compare(ctx, db, database, "big", "big_oracle", []string{"id"}); err != nil {
		t.Fatalf("big differs from its oracle after down: %v", err)
	}
}

// TestPlanRefuses: a statement the plan refuses stops the run before anything runs.
func TestPlanRefuses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	database, db := sb.NewDB(t, "CREATE TABLE t (id INT PRIMARY KEY, a INT NULL, b INT NULL)")
	dir := writeDir(t, map[string]string{
		"V1__add.sql":  "ALTER TABLE t ADD COLUMN c INT NULL;",
		"V2__drop.sql": "ALTER TABLE t DROP COLUMN b;",
	})
	w, out := open(ctx, t, database, dir, nil)
	_, err := w.Up(ctx, 0)
	if !errors.Is(err, ErrRefused) || !strings.Contains(out.String(), "2 drop (V2__drop.sql): refused") || !strings.Contains(out.String(), "refused, loses data") {
		t.Fatalf("up: %v, want refused for V2\n%s", err, out)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't' AND COLUMN_NAME = 'c'", database).Scan(&n); err != nil || n != 0 {
		t.Errorf("V1 ran although V2 was refused (%v)", err)
	}
	w, out = open(ctx, t, database, dir, func(c *Config) { c.AllowDataLoss = true })
	if _, err := w.Up(ctx, 0); err != nil {
		t.Fatalf("up --allow-data-loss: %v\n%s", err, out)
	}
}

// TestEditedFile: an applied file edited stops everything naming the file, until repair.
func TestEditedFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	database, _ := sb.NewDB(t)
	files := map[string]string{
		"0001_t.up.sql":   "CREATE TABLE t (id INT PRIMARY KEY);\n",
		"0001_t.down.sql": "DROP TABLE t;\n",
	}
	dir := writeDir(t, files)
	w, out := open(ctx, t, database, dir, nil)
	if _, err := w.Up(ctx, 0); err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	// Edited after it ran, and a new migration waiting.
	files["0001_t.up.sql"] = "-- the primary key\nCREATE TABLE t (id INT PRIMARY KEY);\n"
	files["0002_u.up.sql"] = "CREATE TABLE u (id INT PRIMARY KEY);\n"
	dir = writeDir(t, files)
	w, out = open(ctx, t, database, dir, nil)
	for name, run := range map[string]func() error{
		"up":   func() error { _, err := w.Up(ctx, 0); return err },
		"down": func() error { _, err := w.Down(ctx, 1); return err },
		"test": func() error { _, err := w.Test(ctx, nil); return err },
	} {
		if err := run(); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "0001_t.up.sql was edited after it was applied") {
			t.Errorf("%s with an edited applied file: %v\n%s", name, err, out)
		}
	}
	probs, err := w.Validate(ctx)
	if err != nil || len(probs) != 1 || !strings.Contains(probs[0], "0001_t.up.sql") {
		t.Errorf("validate: %q, %v", probs, err)
	}
	if ok, _ := table.Exists(ctx, w.cfg.DB, database, "u"); ok {
		t.Error("0002 ran although 0001 was edited")
	}
	// repair without --execute says what it would do; with it, records the new checksum.
	w, _ = open(ctx, t, database, dir, func(c *Config) { c.Execute = false })
	done, err := w.Repair(ctx)
	if err != nil || len(done) != 1 || !strings.Contains(done[0], "record the new checksum of 0001_t.up.sql") {
		t.Fatalf("repair (dry): %q %v", done, err)
	}
	if probs, _ := w.Validate(ctx); len(probs) != 1 {
		t.Fatalf("repair without --execute changed the history: %q", probs)
	}
	w, out = open(ctx, t, database, dir, nil)
	if _, err := w.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Up(ctx, 0); err != nil {
		t.Fatalf("up after repair: %v\n%s", err, out)
	}
	rows, err := w.hist.read(ctx)
	if err != nil || len(rows) != 2 || rows[0].Checksum != Checksum([]byte(files["0001_t.up.sql"])) {
		t.Errorf("history after repair: %+v %v", rows, err)
	}
}

// TestConcurrentUps: two deployers at once; the second waits for the first's lock, says so, then
// finds nothing left to do.
func TestConcurrentUps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	database, _ := sb.NewDB(t)
	dir := writeDir(t, map[string]string{
		"V1__slow.sql": "CREATE TABLE t (id INT PRIMARY KEY);\nDO SLEEP(2);\n",
	})
	type result struct {
		out string
		err error
	}
	results := make(chan result, 2)
	for range 2 {
		w, out := open(ctx, t, database, dir, nil)
		go func() {
			_, err := w.Up(ctx, 0)
			results <- result{out.String(), err}
		}()
	}
	waited, ran := 0, 0
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Fatalf("up: %v\n%s", r.err, r.out)
		}
		if strings.Contains(r.out, "another deployer (connection") {
			waited++
		}
		if strings.Contains(r.out, "V1__slow.sql done") {
			ran++
		}
	}
	if waited != 1 || ran != 1 {
		t.Errorf("%d deployers waited and %d ran the migration, want one each", waited, ran)
	}
	// A deployer that cannot wait long enough gives up, saying why.
	holder, err := sb.Primary.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "DO GET_LOCK(?, 0)", lockName(database)); err != nil {
		t.Fatal(err)
	}
	w, out := open(ctx, t, database, dir, func(c *Config) { c.DeployLockWait = time.Second })
	if _, err := w.Up(ctx, 0); err == nil || !strings.Contains(err.Error(), "still migrates") {
		t.Errorf("up while the lock is held: %v\n%s", err, out)
	}
}

// TestMigrateTest: up, down, up on a throwaway database catches a down that does not restore the
// schema, and passes a correct one.
func TestMigrateTest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	database, _ := sb.NewDB(t, "CREATE TABLE existing (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, a INT NULL)")
	good := map[string]string{
		"0001_t.up.sql":      "CREATE TABLE t (id INT PRIMARY KEY);\nINSERT INTO t VALUES (1);\n",
		"0001_t.down.sql":    "DROP TABLE t;\n",
		"0002_cols.up.sql":   "ALTER TABLE existing ADD COLUMN b INT NULL, ADD INDEX ab (a, b);\n-- doppel:backfill\nUPDATE existing SET b = a;\n",
		"0002_cols.down.sql": "ALTER TABLE existing DROP INDEX ab, DROP COLUMN b;\n",
	}
	bad := map[string]string{}
	for k, v := range good {
		bad[k] = v
	}
	bad["0002_cols.down.sql"] = "ALTER TABLE existing DROP COLUMN b;\n" // the index stays, on (a)
	for _, tc := range []struct {
		name  string
		files map[string]string
		err   string
	}{
		{"a down that restores the schema", good, ""},
		{"a down that leaves an index behind", bad, "0002_cols.down.sql does not restore the schema 0002_cols.up.sql found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target, tdb := sb.NewDB(t)
			_ = target
			w, _ := open(ctx, t, database, writeDir(t, tc.files), nil)
			lines, err := w.Test(ctx, tdb)
			if tc.err == "" {
				if err != nil || len(lines) != 2 {
					t.Fatalf("migrate test: %v\n%s", err, strings.Join(lines, "\n"))
				}
				return
			}
			t.Logf("%s\n%v", strings.Join(lines, "\n"), err)
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "KEY `ab`") {
				t.Fatalf("migrate test: %v, want %q naming the index", err, tc.err)
			}
		})
	}
}

// TestLockWaitRetry: a native statement waits at most LockWaitTimeout for its table's metadata lock,
// held here by an open transaction, and is retried until the transaction ends.
func TestLockWaitRetry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	database, db := sb.NewDB(t, "CREATE TABLE t (id INT PRIMARY KEY, a INT NULL)", "INSERT INTO t VALUES (1, 1)")
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var a int
	if err := tx.QueryRowContext(ctx, "SELECT a FROM t WHERE id = 1").Scan(&a); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		defer close(released)
		time.Sleep(2500 * time.Millisecond)
		_ = tx.Rollback()
	}()
	dir := writeDir(t, map[string]string{"V1__c.sql": "ALTER TABLE t ADD COLUMN c INT NULL;"})
	w, out := open(ctx, t, database, dir, func(c *Config) { c.LockWaitTimeout, c.Retries = time.Second, 10 })
	start := time.Now()
	_, err = w.Up(ctx, 0)
	<-released
	if err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "waited 1s for a lock (attempt 1 of 10)") || time.Since(start) < 2*time.Second {
		t.Errorf("the ALTER did not wait and retry while the transaction held the table:\n%s", out)
	}
	// Too few attempts: the run stops at the statement, saying what holds it.
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := tx.QueryRowContext(ctx, "SELECT a FROM t WHERE id = 1").Scan(&a); err != nil {
		t.Fatal(err)
	}
	dir = writeDir(t, map[string]string{"V1__c.sql": "ALTER TABLE t ADD COLUMN c INT NULL;", "V2__d.sql": "ALTER TABLE t ADD COLUMN d INT NULL;"})
	w, out = open(ctx, t, database, dir, func(c *Config) { c.LockWaitTimeout, c.Retries = time.Second, 2 })
	if _, err := w.Up(ctx, 0); err == nil || !strings.Contains(err.Error(), "tried 2 times") || !strings.Contains(err.Error(), "V2__d.sql stopped at statement 1") {
		t.Errorf("up while a transaction holds the table: %v\n%s", err, out)
	}
}
