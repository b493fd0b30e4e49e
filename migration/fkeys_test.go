package migration

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// fkDB creates a database with statements and waits until the replica, which doppel inspects,
// has them.
func fkDB(t *testing.T, statements ...string) (string, *sql.DB) {
	t.Helper()
	name, db := sb.NewDB(t, statements...)
	waitReplica(t)
	return name, db
}

// writer runs one kind of write in a loop until stop is closed, each in one transaction, and
// records the longest a write took (the time a client was blocked) and how many committed.
type writer struct {
	name      string
	write     func(r *rand.Rand, n int) []string
	committed int
	deadlocks int // rolled back by a deadlock or a lock wait timeout
	longest   time.Duration
}

func runWriters(t *testing.T, db *sql.DB, stop <-chan struct{}, ws ...*writer) (wait func()) {
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 11))
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				start := time.Now()
				err := inTransaction(db, w.write(r, n)...)
				took := time.Since(start)
				w.longest = max(w.longest, took)
				switch {
				case err == nil:
					w.committed++
				case isLockWait(err):
					w.deadlocks++
				case strings.Contains(err.Error(), "Error 1452"):
					// A deadlock, or a child of a parent deleted meanwhile: rolled back on both sides.
				default:
					t.Errorf("%s: %v", w.name, err)
					return
				}
			}
		}()
	}
	return wg.Wait
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func sameRows(t *testing.T, db *sql.DB, a, b, cols string) {
	t.Helper()
	q := "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS(',', " + cols + "))), 0) FROM `%s`"
	var na, nb int
	var sa, sb string
	if err := db.QueryRow(fmt.Sprintf(q, a)).Scan(&na, &sa); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(fmt.Sprintf(q, b)).Scan(&nb, &sb); err != nil {
		t.Fatal(err)
	}
	if na != nb || sa != sb {
		t.Errorf("%s: %d rows (sum %s), %s (the oracle): %d rows (sum %s)", a, na, sa, b, nb, sb)
	}
}

// constraints returns the foreign keys of the schema as "name on table -> referenced (delete rule)".
func constraints(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT CONCAT(CONSTRAINT_NAME, ' on ', TABLE_NAME, ' -> ', REFERENCED_TABLE_NAME, ' (', DELETE_RULE, ')')
		FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "; ")
}

// TestForeignKeysOfTheTable migrates a child table (item A): t references p with ON DELETE CASCADE
// and ON DELETE SET NULL. Writes on t are mirrored into an oracle child of the same parent with the
// same constraints, in the same transactions; parent rows are deleted (cascading into both) and
// added meanwhile. Afterwards t equals the oracle altered natively, no row of t is an orphan, its
// constraints reference p under the ghost's names, and a parent delete still cascades into it.
func TestForeignKeysOfTheTable(t *testing.T) {
	const parents = 300
	child := func(name string) string {
		return fmt.Sprintf(`CREATE TABLE %[1]s (id INT PRIMARY KEY, pid INT NULL, sid INT NULL, v INT NOT NULL,
			CONSTRAINT %[1]s_c FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE,
			CONSTRAINT %[1]s_n FOREIGN KEY (sid) REFERENCES p (id) ON DELETE SET NULL ON UPDATE CASCADE)`, name)
	}
	name, db := fkDB(t, "CREATE TABLE p (id INT PRIMARY KEY, v INT NOT NULL)",
		fmt.Sprintf("INSERT INTO p SELECT seq, 0 FROM seq_1_to_%d", parents),
		child("t"), child("oracle"),
		fmt.Sprintf("INSERT INTO t SELECT seq, 1 + seq %% %[1]d, 1 + (seq * 7) %% %[1]d, 0 FROM seq_1_to_30000", parents),
		"INSERT INTO oracle SELECT * FROM t")
	db.SetMaxOpenConns(10)
	stop := make(chan struct{})
	childW := &writer{name: "child writer", write: func(r *rand.Rand, n int) []string {
		var s string
		switch r.IntN(3) {
		case 0:
			s = fmt.Sprintf("INSERT INTO %%s (id, pid, sid, v) VALUES (%d, %d, %d, 1)", 100000+n, 1+r.IntN(parents+100), 1+r.IntN(parents+100))
		case 1:
			s = fmt.Sprintf("UPDATE %%s SET v = v + 1, sid = %d WHERE id = %d", 1+r.IntN(parents+100), 1+r.IntN(30000))
		default:
			s = fmt.Sprintf("DELETE FROM %%s WHERE id = %d", 1+r.IntN(30000))
		}
		return []string{fmt.Sprintf(s, "t"), fmt.Sprintf(s, "oracle")}
	}}
	parentW := &writer{name: "parent writer", write: func(r *rand.Rand, n int) []string {
		if n%2 == 0 {
			return []string{fmt.Sprintf("DELETE FROM p WHERE id = %d", 1+r.IntN(parents))}
		}
		return []string{fmt.Sprintf("INSERT IGNORE INTO p VALUES (%d, 0)", parents+1+r.IntN(100))}
	}}
	wait := runWriters(t, db, stop, childW, parentW)
	cfg := testConfig(name, "ADD COLUMN w INT NOT NULL DEFAULT 7")
	cfg.ChunkSize = 100
	cfg.OkToDropTable = true
	res, err := Run(context.Background(), cfg)
	time.Sleep(300 * time.Millisecond) // writes after the swap too
	close(stop)
	wait()
	if err != nil {
		dumpBinlog(t, db)
		t.Fatal(err)
	}
	exec(t, db, "ALTER TABLE oracle ADD COLUMN w INT NOT NULL DEFAULT 7")
	sameRows(t, db, "t", "oracle", "id, pid, sid, v, w")
	if n := count(t, db, "SELECT COUNT(*) FROM t LEFT JOIN p ON p.id = t.pid WHERE t.pid IS NOT NULL AND p.id IS NULL"); n != 0 {
		t.Errorf("%d rows of t reference a missing parent", n)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM t LEFT JOIN p ON p.id = t.sid WHERE t.sid IS NOT NULL AND p.id IS NULL"); n != 0 {
		t.Errorf("%d rows of t reference a missing parent through sid", n)
	}
	want := "oracle_c on oracle -> p (CASCADE); oracle_n on oracle -> p (SET NULL); _t_c on t -> p (CASCADE); _t_n on t -> p (SET NULL)"
	if got := constraints(t, db); got != want {
		t.Errorf("constraints:\n got %s\nwant %s", got, want)
	}
	var pid, sid int
	if err := db.QueryRow("SELECT pid, sid FROM t WHERE pid IS NOT NULL AND sid IS NOT NULL AND pid <> sid LIMIT 1").Scan(&pid, &sid); err != nil {
		t.Fatal(err)
	}
	exec(t, db, fmt.Sprintf("DELETE FROM p WHERE id IN (%d, %d)", pid, sid))
	if n := count(t, db, "SELECT COUNT(*) FROM t WHERE pid IN (?, ?) OR sid IN (?, ?)", pid, sid, pid, sid); n != 0 {
		t.Errorf("after deleting parents %d and %d, %d rows of t still reference them: the constraints do not act on the new table", pid, sid, n)
	}
	if childW.committed < 50 || parentW.committed < 20 {
		t.Errorf("only %d child and %d parent writes committed: the test did not write during the migration", childW.committed, parentW.committed)
	}
	t.Logf("longest write: child writer %s (%d committed, %d deadlocks), parent writer %s (%d committed, %d deadlocks); table locked %s; %d replayed rows re-copied (parent gone)",
		childW.longest, childW.committed, childW.deadlocks, parentW.longest, parentW.committed, parentW.deadlocks, res.CutOver.Blocked, res.RowsRecopied)
}

// TestForeignKeysToTheTable migrates a parent table (item B): c1 references t with ON DELETE
// CASCADE, c2 with ON DELETE SET NULL. Writes on t are mirrored into an oracle parent op (with its
// own children oc1, oc2), child rows are added pointing at random parents, under the migration.
// Afterwards every table equals its oracle, the children's constraints reference the new t under
// their names, no child row is an orphan, and a delete on t cascades.
func TestForeignKeysToTheTable(t *testing.T) {
	const rows = 20000
	children := func(parent, c1, c2 string) []string {
		return []string{
			fmt.Sprintf("CREATE TABLE %[1]s (id INT PRIMARY KEY, pid INT NULL, CONSTRAINT %[1]s_fk FOREIGN KEY (pid) REFERENCES %[2]s (id) ON DELETE CASCADE)", c1, parent),
			fmt.Sprintf("CREATE TABLE %[1]s (id INT PRIMARY KEY, pid INT NULL, CONSTRAINT %[1]s_fk FOREIGN KEY (pid) REFERENCES %[2]s (id) ON DELETE SET NULL)", c2, parent),
			fmt.Sprintf("INSERT INTO %s SELECT seq, seq FROM seq_1_to_%d", c1, rows),
			fmt.Sprintf("INSERT INTO %s SELECT seq, seq FROM seq_1_to_%d", c2, rows),
		}
	}
	stmts := []string{"CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)", "CREATE TABLE op LIKE t",
		fmt.Sprintf("INSERT INTO t SELECT seq, 0 FROM seq_1_to_%d", rows), "INSERT INTO op SELECT * FROM t"}
	stmts = append(stmts, children("t", "c1", "c2")...)
	stmts = append(stmts, children("op", "oc1", "oc2")...)
	name, db := fkDB(t, stmts...)
	db.SetMaxOpenConns(10)
	stop := make(chan struct{})
	parentW := &writer{name: "parent writer", write: func(r *rand.Rand, n int) []string {
		var s string
		switch r.IntN(3) {
		case 0:
			s = fmt.Sprintf("INSERT INTO %%s (id, v) VALUES (%d, 1)", 100000+n)
		case 1:
			s = fmt.Sprintf("UPDATE %%s SET v = v + 1 WHERE id = %d", 1+r.IntN(rows))
		default:
			s = fmt.Sprintf("DELETE FROM %%s WHERE id = %d", 1+r.IntN(rows))
		}
		return []string{fmt.Sprintf(s, "t"), fmt.Sprintf(s, "op")}
	}}
	childW := &writer{name: "child writer", write: func(r *rand.Rand, n int) []string {
		c := 1 + r.IntN(2)
		pid := 1 + r.IntN(rows)
		if r.IntN(4) == 0 {
			pid = 100000 + r.IntN(n+1) // a parent added during the migration, maybe not yet
		}
		return []string{
			fmt.Sprintf("INSERT INTO c%d VALUES (%d, %d)", c, 200000+n, pid),
			fmt.Sprintf("INSERT INTO oc%d VALUES (%d, %d)", c, 200000+n, pid),
		}
	}}
	wait := runWriters(t, db, stop, parentW, childW)
	cfg := testConfig(name, "ADD COLUMN w INT NOT NULL DEFAULT 7")
	cfg.ChunkSize = 100
	res, err := Run(context.Background(), cfg)
	time.Sleep(300 * time.Millisecond) // writes after the swap too
	close(stop)
	wait()
	if err != nil {
		t.Fatal(err)
	}
	exec(t, db, "ALTER TABLE op ADD COLUMN w INT NOT NULL DEFAULT 7")
	sameRows(t, db, "t", "op", "id, v, w")
	sameRows(t, db, "c1", "oc1", "id, pid")
	sameRows(t, db, "c2", "oc2", "id, pid")
	for _, c := range []string{"c1", "c2"} {
		if n := count(t, db, "SELECT COUNT(*) FROM "+c+" LEFT JOIN t ON t.id = "+c+".pid WHERE "+c+".pid IS NOT NULL AND t.id IS NULL"); n != 0 {
			t.Errorf("%d rows of %s reference a missing parent", n, c)
		}
	}
	want := "c1_fk on c1 -> t (CASCADE); c2_fk on c2 -> t (SET NULL); oc1_fk on oc1 -> op (CASCADE); oc2_fk on oc2 -> op (SET NULL)"
	if got := constraints(t, db); got != want {
		t.Errorf("constraints:\n got %s\nwant %s", got, want)
	}
	exec(t, db, "DELETE FROM t WHERE id IN (1, 2, 3, 4, 5)")
	if n := count(t, db, "SELECT COUNT(*) FROM c1 WHERE pid IN (1, 2, 3, 4, 5)") + count(t, db, "SELECT COUNT(*) FROM c2 WHERE pid IN (1, 2, 3, 4, 5)"); n != 0 {
		t.Errorf("after deleting parents, %d child rows still reference them: the children's constraints do not act on the new table", n)
	}
	if childW.committed < 50 || parentW.committed < 50 {
		t.Errorf("only %d child and %d parent writes committed: the test did not write during the migration", childW.committed, parentW.committed)
	}
	t.Logf("longest write: parent writer %s (%d committed, %d deadlocks), child writer %s (%d committed, %d deadlocks); tables locked %s",
		parentW.longest, parentW.committed, parentW.deadlocks, childW.longest, childW.committed, childW.deadlocks, res.CutOver.Blocked)
}

// dumpBinlog logs the binary log before each RENAME: what a failed swap let through.
func dumpBinlog(t *testing.T, db *sql.DB) {
	var file string
	var pos int64
	var a, b, c sql.NullString
	_ = db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &a, &b)
	_ = c
	rows, err := db.Query("SHOW BINLOG EVENTS IN '" + file + "'")
	if err != nil {
		t.Log(err)
		return
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var f, typ, info string
		var p, sid, end int64
		_ = rows.Scan(&f, &p, &typ, &sid, &end, &info)
		out = append(out, typ+" "+info)
	}
	if err := rows.Err(); err != nil {
		t.Log(err)
	}
	for i, l := range out {
		if strings.Contains(l, "RENAME TABLE") {
			lo := max(0, i-80)
			t.Log(strings.Join(out[lo:min(len(out), i+3)], "\n"))
		}
	}
}

// TestForeignKeysToTheTableAttemptFails: an attempt that fails after the children were re-pointed
// at the ghost (the run is cancelled there) points them back at the original before it unlocks:
// the original keeps its children, and a parent delete still cascades.
func TestForeignKeysToTheTableAttemptFails(t *testing.T) {
	name, db := fkDB(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)",
		"INSERT INTO t SELECT seq, 0 FROM seq_1_to_1000",
		"CREATE TABLE c (id INT PRIMARY KEY, pid INT NULL, CONSTRAINT c_fk FOREIGN KEY (pid) REFERENCES t (id) ON DELETE CASCADE)",
		"INSERT INTO c SELECT seq, seq FROM seq_1_to_1000")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := testConfig(name, "ADD COLUMN w INT NOT NULL DEFAULT 7")
	var repointed string
	cfg.Failpoint = func(step string) {
		if step == "cutover:prepared" {
			repointed = constraints(t, db)
			cancel()
		}
	}
	if _, err := Run(ctx, cfg); err == nil {
		t.Fatal("the run succeeded, want it cancelled during the cut-over")
	}
	if want := "c_fk on c -> _t_gho (CASCADE)"; repointed != want {
		t.Errorf("under the lock: %s, want %s", repointed, want)
	}
	if got, want := constraints(t, db), "c_fk on c -> t (CASCADE)"; got != want {
		t.Errorf("after the failed attempt: %s, want %s", got, want)
	}
	exec(t, db, "DELETE FROM t WHERE id = 5")
	if n := count(t, db, "SELECT COUNT(*) FROM c WHERE pid = 5"); n != 0 {
		t.Errorf("deleting a parent left %d child rows", n)
	}
	// Cancelled, the run keeps the ghost and the changelog for --resume; nothing references them.
	if got := tableList(t, db); got != "_t_ghc,_t_gho,c,t" {
		t.Errorf("tables %s, want _t_ghc,_t_gho,c,t", got)
	}
}

// TestForeignKeysRefused: what doppel cannot move is refused before anything is created.
func TestForeignKeysRefused(t *testing.T) {
	tests := []struct {
		name   string
		create []string
		alter  string
		edit   func(*Config)
		want   string
	}{
		{"self-referencing", []string{"CREATE TABLE t (id INT PRIMARY KEY, up INT NULL, CONSTRAINT t_up FOREIGN KEY (up) REFERENCES t (id))"},
			"ADD COLUMN w INT NULL", nil, "references itself"},
		{"skip-foreign-key-checks asserts wrongly", []string{"CREATE TABLE p (id INT PRIMARY KEY)",
			"CREATE TABLE t (id INT PRIMARY KEY, pid INT NULL, CONSTRAINT t_p FOREIGN KEY (pid) REFERENCES p (id))"},
			"ADD COLUMN w INT NULL", func(c *Config) { c.SkipForeignKeyChecks = true }, "--skip-foreign-key-checks says"},
		{"a column of the table's key dropped", []string{"CREATE TABLE p (id INT PRIMARY KEY)",
			"CREATE TABLE t (id INT PRIMARY KEY, pid INT NULL, CONSTRAINT t_p FOREIGN KEY (pid) REFERENCES p (id))"},
			"DROP COLUMN pid", nil, "which foreign key `t_p` on"},
		{"a referenced column renamed", []string{"CREATE TABLE t (id INT PRIMARY KEY, k INT NOT NULL, UNIQUE KEY (k))",
			"CREATE TABLE c (id INT PRIMARY KEY, tk INT NULL, CONSTRAINT c_t FOREIGN KEY (tk) REFERENCES t (k))"},
			"CHANGE k k2 INT NOT NULL", func(c *Config) { c.ApproveRenamedColumns = true }, "drops or renames column `k`, which foreign key `c_t` on"},
		{"a referenced column retyped", []string{"CREATE TABLE t (id INT PRIMARY KEY)",
			"CREATE TABLE c (id INT PRIMARY KEY, tid INT NULL, CONSTRAINT c_t FOREIGN KEY (tid) REFERENCES t (id))"},
			"MODIFY id BIGINT NOT NULL", nil, "changes column `id` (int(11) to bigint(20))"},
		{"a name too long for the ghost", []string{"CREATE TABLE p (id INT PRIMARY KEY)",
			"CREATE TABLE t (id INT PRIMARY KEY, pid INT NULL, CONSTRAINT " + strings.Repeat("n", 64) + " FOREIGN KEY (pid) REFERENCES p (id))"},
			"ADD COLUMN w INT NULL", nil, "cannot get a name for the ghost table"},
		{"DROP FOREIGN KEY in the ALTER", []string{"CREATE TABLE p (id INT PRIMARY KEY)",
			"CREATE TABLE t (id INT PRIMARY KEY, pid INT NULL, CONSTRAINT t_p FOREIGN KEY (pid) REFERENCES p (id))"},
			"DROP FOREIGN KEY t_p", nil, "--alter drops a FOREIGN KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, db := fkDB(t, tt.create...)
			cfg := testConfig(name, tt.alter)
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			expectRefusal(t, cfg, db, tt.want)
		})
	}
}

// TestDiscardForeignKeys: with --discard-foreign-keys the new table has no foreign key (and the
// old one none either), so a parent delete no longer reaches it.
func TestDiscardForeignKeys(t *testing.T) {
	name, db := fkDB(t, "CREATE TABLE p (id INT PRIMARY KEY)", "INSERT INTO p SELECT seq FROM seq_1_to_10",
		"CREATE TABLE t (id INT PRIMARY KEY, pid INT NULL, CONSTRAINT t_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE)",
		"INSERT INTO t SELECT seq, 1 + seq % 10 FROM seq_1_to_500")
	cfg := testConfig(name, "ADD COLUMN w INT NULL")
	cfg.DiscardForeignKeys = true
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := constraints(t, db); got != "" {
		t.Errorf("foreign keys %q after --discard-foreign-keys, want none", got)
	}
	exec(t, db, "DELETE FROM p WHERE id = 3")
	if n := count(t, db, "SELECT COUNT(*) FROM t WHERE pid = 3"); n != 50 {
		t.Errorf("%d rows of t reference the deleted parent, want 50: no constraint acts any more", n)
	}
}

// TestForeignKeysAcrossSchemas: a child in another database follows the parent to the new table,
// and a table whose parent is in another database keeps its constraint. A child left pointing at a
// ghost (a run that died during its cut-over) is refused with the statements that point it back.
func TestForeignKeysAcrossSchemas(t *testing.T) {
	name, db := fkDB(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)", "INSERT INTO t SELECT seq, 0 FROM seq_1_to_500")
	other, odb := fkDB(t, "CREATE TABLE p (id INT PRIMARY KEY)", "INSERT INTO p SELECT seq FROM seq_1_to_10")
	exec(t, odb, fmt.Sprintf("CREATE TABLE c (id INT PRIMARY KEY, pid INT NULL, CONSTRAINT c_t FOREIGN KEY (pid) REFERENCES `%s`.t (id) ON DELETE CASCADE)", name),
		"INSERT INTO c SELECT seq, seq FROM seq_1_to_500")
	exec(t, db, fmt.Sprintf("CREATE TABLE t2 (id INT PRIMARY KEY, pid INT NULL, CONSTRAINT t2_p FOREIGN KEY (pid) REFERENCES `%s`.p (id) ON DELETE SET NULL)", other),
		"INSERT INTO t2 SELECT seq, 1 + seq % 10 FROM seq_1_to_500")
	waitReplica(t)
	t.Cleanup(func() { // the databases reference each other: drop the children first
		_, _ = db.Exec(fmt.Sprintf("DROP TABLE IF EXISTS `%s`.c, `%s`.t2, `%s`._t2_del", other, name, name))
	})
	if _, err := Run(context.Background(), testConfig(name, "ADD COLUMN w INT NULL")); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(name, "ADD COLUMN w INT NULL")
	cfg.Table = "t2"
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := db.QueryRow(`SELECT GROUP_CONCAT(CONCAT(CONSTRAINT_SCHEMA = ?, ' ', CONSTRAINT_NAME, ' on ', TABLE_NAME, ' -> ', UNIQUE_CONSTRAINT_SCHEMA = ?, ' ', REFERENCED_TABLE_NAME) ORDER BY CONSTRAINT_NAME SEPARATOR '; ')
		FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN (?, ?)`, other, name, name, other).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "1 c_t on c -> 1 t; 0 _t2_p on t2 -> 0 p"; got != want {
		t.Errorf("constraints (1 = in the other schema / referencing this one):\n got %s\nwant %s", got, want)
	}
	exec(t, db, "DELETE FROM t WHERE id = 7", fmt.Sprintf("DELETE FROM `%s`.p WHERE id = 3", other))
	if n := count(t, odb, "SELECT COUNT(*) FROM c WHERE pid = 7"); n != 0 {
		t.Errorf("the child in the other schema kept %d rows of a deleted parent", n)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM t2 WHERE pid = 3"); n != 0 {
		t.Errorf("t2 kept %d rows pointing at a deleted parent in the other schema", n)
	}

	// A child stranded on a ghost.
	exec(t, db, "CREATE TABLE _t_gho LIKE t", "INSERT INTO _t_gho SELECT * FROM t")
	exec(t, odb, "SET SESSION foreign_key_checks = 0", "ALTER TABLE c DROP FOREIGN KEY c_t",
		fmt.Sprintf("ALTER TABLE c ADD CONSTRAINT c_t FOREIGN KEY (pid) REFERENCES `%s`._t_gho (id) ON DELETE CASCADE", name))
	waitReplica(t)
	expectRefusal(t, testConfig(name, "ADD COLUMN x INT NULL"), db, "ALTER TABLE `"+other+"`.`c` ADD CONSTRAINT `c_t` FOREIGN KEY (`pid`) REFERENCES `"+name+"`.`t` (`id`)")
}

// TestForeignKeysCycle: t references p and p references t (each ON DELETE SET NULL): p is both a
// parent and a child of t, locked once at the swap; both constraints are moved.
func TestForeignKeysCycle(t *testing.T) {
	name, db := fkDB(t, "CREATE TABLE t (id INT PRIMARY KEY, pid INT NULL)", "CREATE TABLE p (id INT PRIMARY KEY, tid INT NULL)",
		"INSERT INTO t SELECT seq, NULL FROM seq_1_to_300", "INSERT INTO p SELECT seq, seq FROM seq_1_to_300",
		"UPDATE t SET pid = id",
		"ALTER TABLE t ADD CONSTRAINT t_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE SET NULL",
		"ALTER TABLE p ADD CONSTRAINT p_t FOREIGN KEY (tid) REFERENCES t (id) ON DELETE SET NULL")
	if _, err := Run(context.Background(), testConfig(name, "ADD COLUMN w INT NULL")); err != nil {
		t.Fatal(err)
	}
	if got, want := constraints(t, db), "p_t on p -> t (SET NULL); _t_p on t -> p (SET NULL)"; got != want {
		t.Errorf("constraints %s, want %s", got, want)
	}
	exec(t, db, "DELETE FROM t WHERE id = 4", "DELETE FROM p WHERE id = 5")
	if n := count(t, db, "SELECT COUNT(*) FROM p WHERE tid = 4") + count(t, db, "SELECT COUNT(*) FROM t WHERE pid = 5"); n != 0 {
		t.Errorf("%d rows still reference deleted rows", n)
	}
}
