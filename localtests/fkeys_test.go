package localtests

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/loadgen"
)

// relatedWriter writes a related table (or the FK columns the random load leaves alone) in a loop,
// each write one transaction on the table and its oracle, and records the longest write: the
// longest a client of that table was blocked.
type relatedWriter struct {
	name      string
	write     func(r *rand.Rand, n int) []string
	committed int
	refused   int // a parent gone meanwhile (1452), a key taken (1062), a deadlock: rolled back on both sides
	longest   time.Duration
}

func runRelated(t *testing.T, db *sql.DB, ws ...*relatedWriter) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 23))
			for n := 0; ctx.Err() == nil; n++ {
				time.Sleep(3 * time.Millisecond)
				start := time.Now()
				err := inTx(db, w.write(r, n))
				w.longest = max(w.longest, time.Since(start))
				switch {
				case err == nil:
					w.committed++
				case strings.Contains(err.Error(), "Error 1452"), strings.Contains(err.Error(), "Error 1062"),
					strings.Contains(err.Error(), "Error 1213"), strings.Contains(err.Error(), "Error 1205"):
					w.refused++
				default:
					t.Errorf("%s: %v", w.name, err)
					return
				}
			}
		}()
	}
	return sync.OnceFunc(func() { cancel(); wg.Wait() })
}

func inTx(db *sql.DB, stmts []string) error {
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

func (c *caseRun) countOf(query string) int {
	c.t.Helper()
	var n int
	if err := c.primary.QueryRowContext(c.ctx, query).Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// foreignKeys lists the schema's foreign keys: "name on table -> referenced (delete rule, update rule)".
func (c *caseRun) foreignKeys() string {
	c.t.Helper()
	rows, err := c.primary.QueryContext(c.ctx, `SELECT CONCAT(CONSTRAINT_NAME, ' on ', TABLE_NAME, ' -> ', REFERENCED_TABLE_NAME, ' (', DELETE_RULE, ', ', UPDATE_RULE, ')')
		FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME`, c.schema)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			c.t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
	return strings.Join(out, "; ")
}

// ids returns up to n keys of the table.
func (c *caseRun) ids(table string, n int) []int64 {
	c.t.Helper()
	rows, err := c.primary.QueryContext(c.ctx, fmt.Sprintf("SELECT id FROM %s ORDER BY RAND() LIMIT %d", c.q(table), n))
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			c.t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
	return out
}

// TestForeignKeysOfTheTableUnderLoad migrates a child table: t references p with ON DELETE CASCADE
// (pid) and ON DELETE SET NULL ON UPDATE CASCADE (sid). The random load writes t's other columns
// and the oracle, a child of the same parent with the same constraints; a load of its own points
// rows of both at random parents (inserts and updates), and another deletes parents (cascading into
// both) and adds some. The ALTER runs natively on the oracle afterwards: same rows, no orphan, t's
// constraints reference p under the ghost's names (a leading underscore), the old table has none,
// and a parent delete cascades into the new t.
func TestForeignKeysOfTheTableUnderLoad(t *testing.T) {
	const parents = 400
	table := func(name, prefix string) string {
		return fmt.Sprintf(`CREATE TABLE %[1]s (id INT NOT NULL PRIMARY KEY, v VARCHAR(30) NULL, w INT NULL, pid INT NULL, sid INT NULL,
			CONSTRAINT %[2]s_c FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE,
			CONSTRAINT %[2]s_n FOREIGN KEY (sid) REFERENCES p (id) ON DELETE SET NULL ON UPDATE CASCADE)`, name, prefix)
	}
	f := newFixture("foreign-keys-of-the-table", "CREATE TABLE p (id INT NOT NULL PRIMARY KEY, v INT NOT NULL DEFAULT 0)",
		"ADD COLUMN x INT NOT NULL DEFAULT 5, MODIFY v VARCHAR(40) NULL")
	c := newCase(t, buildDoppel(t), f, 3900)
	c.runCreateSQL()
	c.exec(fmt.Sprintf("INSERT INTO p (id) SELECT seq FROM seq_1_to_%d", parents))
	c.exec(table("t", "t"))
	c.exec(table(c.oracle(), "o"))
	alt := c.probeAlter()
	writable := []string{"id", "v", "w"}
	if err := c.generator(writable, alt.unique).Seed(c.ctx, seedRows); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"t", c.oracle()} {
		c.exec(fmt.Sprintf("UPDATE %s SET pid = 1 + ABS(id) %% %d, sid = 1 + ABS(id * 7) %% %d", c.q(name), parents, parents))
	}
	if err := sb.WaitReplica(c.ctx); err != nil {
		t.Fatal(err)
	}
	keys := c.ids("t", seedRows)
	both := func(stmt string) []string {
		return []string{fmt.Sprintf(stmt, c.q("t")), fmt.Sprintf(stmt, c.q(c.oracle()))}
	}
	child := &relatedWriter{name: "child writer (t's foreign keys)", write: func(r *rand.Rand, n int) []string {
		if n%3 == 0 {
			return both(fmt.Sprintf("INSERT INTO %%s (id, pid, sid) VALUES (%d, %d, %d)", 2000000000+n, 1+r.IntN(parents+50), 1+r.IntN(parents+50)))
		}
		return both(fmt.Sprintf("UPDATE %%s SET pid = %d, sid = %d WHERE id = %d", 1+r.IntN(parents+50), 1+r.IntN(parents+50), keys[r.IntN(len(keys))]))
	}}
	parent := &relatedWriter{name: "parent writer (p)", write: func(r *rand.Rand, n int) []string {
		if n%2 == 0 {
			return []string{fmt.Sprintf("DELETE FROM %s WHERE id = %d", c.q("p"), 1+r.IntN(parents))}
		}
		return []string{fmt.Sprintf("INSERT IGNORE INTO %s (id) VALUES (%d)", c.q("p"), parents+1+r.IntN(50))}
	}}
	stopRelated := runRelated(t, c.primary, child, parent)
	defer stopRelated()
	res, st, during := c.migrateUnderLoad(altered{writable: writable, unique: alt.unique})
	stopRelated()
	if res.code != 0 {
		t.Fatalf("doppel exited with %d; output:\n%s", res.code, tail(res.output))
	}
	c.checkLoad(st, during, res.output)
	c.exec("ALTER TABLE " + c.q(c.oracle()) + " " + f.alter)
	if err := loadgen.Compare(c.ctx, c.primary, c.schema, "t", c.oracle(), []string{"id"}); err != nil {
		t.Errorf("the migrated table does not hold what the oracle holds: %v", err)
	}
	for _, col := range []string{"pid", "sid"} {
		if n := c.countOf(fmt.Sprintf("SELECT COUNT(*) FROM %s t LEFT JOIN %s p ON p.id = t.%s WHERE t.%s IS NOT NULL AND p.id IS NULL", c.q("t"), c.q("p"), col, col)); n != 0 {
			t.Errorf("%d rows of t reference a missing parent through %s", n, col)
		}
	}
	want := "_t_c on t -> p (CASCADE, RESTRICT); _t_n on t -> p (SET NULL, CASCADE); o_c on t__oracle -> p (CASCADE, RESTRICT); o_n on t__oracle -> p (SET NULL, CASCADE)"
	if got := c.foreignKeys(); got != want {
		t.Errorf("foreign keys:\n got %s\nwant %s", got, want)
	}
	var pid int
	if err := c.primary.QueryRowContext(c.ctx, "SELECT pid FROM t WHERE pid IS NOT NULL LIMIT 1").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	c.exec(fmt.Sprintf("DELETE FROM p WHERE id = %d", pid))
	if n := c.countOf(fmt.Sprintf("SELECT COUNT(*) FROM t WHERE pid = %d OR sid = %d", pid, pid)); n != 0 {
		t.Errorf("deleting parent %d left %d rows of the new t referencing it", pid, n)
	}
	if err := sb.WaitReplica(c.ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.compareWithReplica("t", []string{"id"}); err != nil {
		t.Errorf("the replica's table differs from the primary's: %v", err)
	}
	if child.committed < 50 || parent.committed < 50 {
		t.Errorf("the related writes did not run: %d child, %d parent committed", child.committed, parent.committed)
	}
	t.Logf("longest write: random load on t %v, %s %v (%d committed, %d refused), %s %v (%d committed, %d refused)",
		st.Percentile(1), child.name, child.longest, child.committed, child.refused, parent.name, parent.longest, parent.committed, parent.refused)
}

// TestForeignKeysToTheTableUnderLoad migrates a parent table: c1 references t with ON DELETE
// CASCADE, c2 with ON DELETE SET NULL, both ON UPDATE CASCADE (the random load changes keys). The
// random load writes t and its oracle, which has the same children (oc1, oc2); a load of its own
// adds and deletes child rows of both, pointing at random parents. Afterwards every table equals
// its oracle, no child row is an orphan, the children's constraints reference the new t under
// their own names, and deleting a parent cascades.
func TestForeignKeysToTheTableUnderLoad(t *testing.T) {
	children := func(parent, c1, c2 string) string {
		return fmt.Sprintf(`CREATE TABLE %[2]s (id INT NOT NULL PRIMARY KEY, pid INT NULL,
				CONSTRAINT %[2]s_fk FOREIGN KEY (pid) REFERENCES %[1]s (id) ON DELETE CASCADE ON UPDATE CASCADE);
			CREATE TABLE %[3]s (id INT NOT NULL PRIMARY KEY, pid INT NULL,
				CONSTRAINT %[3]s_fk FOREIGN KEY (pid) REFERENCES %[1]s (id) ON DELETE SET NULL ON UPDATE CASCADE)`, parent, c1, c2)
	}
	f := newFixture("foreign-keys-to-the-table", "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v VARCHAR(30) NULL, w INT NULL)",
		"ADD COLUMN x INT NOT NULL DEFAULT 5, MODIFY v VARCHAR(40) NULL")
	c := newCase(t, buildDoppel(t), f, 4000)
	c.runCreateSQL()
	alt := c.setUp()
	for _, stmt := range strings.Split(children("t", "c1", "c2")+";"+children(c.oracle(), "oc1", "oc2"), ";") {
		c.exec(stmt)
	}
	for _, pair := range [][2]string{{"c1", "t"}, {"c2", "t"}, {"oc1", c.oracle()}, {"oc2", c.oracle()}} {
		c.exec(fmt.Sprintf("INSERT INTO %s SELECT id, id FROM %s", c.q(pair[0]), c.q(pair[1])))
	}
	if err := sb.WaitReplica(c.ctx); err != nil {
		t.Fatal(err)
	}
	keys := c.ids("t", seedRows)
	child := &relatedWriter{name: "child writer (c1, c2)", write: func(r *rand.Rand, n int) []string {
		k := 1 + r.IntN(2)
		if n%4 == 3 {
			id := keys[r.IntN(len(keys))]
			return []string{fmt.Sprintf("DELETE FROM %s WHERE id = %d", c.q(fmt.Sprintf("c%d", k)), id),
				fmt.Sprintf("DELETE FROM %s WHERE id = %d", c.q(fmt.Sprintf("oc%d", k)), id)}
		}
		pid := keys[r.IntN(len(keys))]
		return []string{fmt.Sprintf("INSERT INTO %s VALUES (%d, %d)", c.q(fmt.Sprintf("c%d", k)), 2000000000+n, pid),
			fmt.Sprintf("INSERT INTO %s VALUES (%d, %d)", c.q(fmt.Sprintf("oc%d", k)), 2000000000+n, pid)}
	}}
	stopRelated := runRelated(t, c.primary, child)
	defer stopRelated()
	res, st, during := c.migrateUnderLoad(alt)
	stopRelated()
	if res.code != 0 {
		t.Fatalf("doppel exited with %d; output:\n%s", res.code, tail(res.output))
	}
	c.checkLoad(st, during, res.output)
	c.exec("ALTER TABLE " + c.q(c.oracle()) + " " + f.alter)
	key := c.keyOf(c.primary, "t")
	if err := loadgen.Compare(c.ctx, c.primary, c.schema, "t", c.oracle(), key); err != nil {
		t.Errorf("the migrated table does not hold what the oracle holds: %v", err)
	}
	for _, pair := range [][2]string{{"c1", "oc1"}, {"c2", "oc2"}} {
		if err := loadgen.Compare(c.ctx, c.primary, c.schema, pair[0], pair[1], []string{"id"}); err != nil {
			t.Errorf("child %s does not hold what its oracle holds: %v", pair[0], err)
		}
		if n := c.countOf(fmt.Sprintf("SELECT COUNT(*) FROM %s c LEFT JOIN %s p ON p.id = c.pid WHERE c.pid IS NOT NULL AND p.id IS NULL", c.q(pair[0]), c.q("t"))); n != 0 {
			t.Errorf("%d rows of %s reference a missing parent", n, pair[0])
		}
	}
	want := "c1_fk on c1 -> t (CASCADE, CASCADE); c2_fk on c2 -> t (SET NULL, CASCADE); oc1_fk on oc1 -> t__oracle (CASCADE, CASCADE); oc2_fk on oc2 -> t__oracle (SET NULL, CASCADE)"
	if got := c.foreignKeys(); got != want {
		t.Errorf("foreign keys:\n got %s\nwant %s", got, want)
	}
	var id int64
	if err := c.primary.QueryRowContext(c.ctx, "SELECT pid FROM c1 WHERE pid IS NOT NULL LIMIT 1").Scan(&id); err != nil {
		t.Fatal(err)
	}
	c.exec(fmt.Sprintf("DELETE FROM t WHERE id = %d", id))
	if n := c.countOf(fmt.Sprintf("SELECT COUNT(*) FROM c1 WHERE pid = %d", id)) + c.countOf(fmt.Sprintf("SELECT COUNT(*) FROM c2 WHERE pid = %d", id)); n != 0 {
		t.Errorf("deleting parent %d left %d child rows referencing it: the children's constraints do not act on the new t", id, n)
	}
	if err := sb.WaitReplica(c.ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"t", "c1", "c2"} {
		if err := c.compareWithReplica(name, []string{"id"}); err != nil {
			t.Errorf("the replica's %s differs from the primary's: %v", name, err)
		}
	}
	if child.committed < 50 {
		t.Errorf("the child writes did not run: %d committed", child.committed)
	}
	t.Logf("longest write: random load on t %v, %s %v (%d committed, %d refused)",
		st.Percentile(1), child.name, child.longest, child.committed, child.refused)
}
