package localtests

import (
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// TestTriggersUnderWrites migrates a table with triggers (--include-triggers) under the random load.
// The table and its oracle carry the same triggers, each writing its own audit table: AFTER INSERT,
// UPDATE and DELETE audit every row change, a second AFTER INSERT trigger PRECEDES the first, a
// BEFORE INSERT and a BEFORE UPDATE trigger set a column the load never writes (touched: 1, then
// + LENGTH('é') per update, the trigger created by a latin1 session, where the literal is one
// byte), one trigger runs under ANSI_QUOTES,PIPES_AS_CONCAT, has an emoji in its body (which
// information_schema shows as '?') and reads its own table by name, one has a backtick in its name
// and one a name of 64 characters (its temporary name is cut and hashed). Afterwards:
//   - the audit tables hold the same rows (per operation, key and values): every change made
//     during the migration fired each trigger exactly once, before the swap on the original, after
//     it on the new table (the replay into the ghost fired none);
//   - touched equals the oracle's in every row: the BEFORE triggers' effect reached the ghost once,
//     through the copied and replayed values;
//   - the AFTER INSERT trigger's count of its own table's row is 1 in every audit row: after the
//     swap its body reads the new table;
//   - the triggers are on the new table under their names, in their order, and SHOW CREATE
//     TRIGGER (statement, sql_mode, character set, collation) is what it was; no temporary name
//     is left.
func TestTriggersUnderWrites(t *testing.T) {
	f := newFixture("triggers", "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v VARCHAR(30) NULL, n BIGINT NULL, touched INT NOT NULL DEFAULT 0)",
		"ADD COLUMN added INT NULL", "--include-triggers")
	c := newCase(t, buildDoppel(t), f, 3800)
	c.runCreateSQL()
	alt := c.setUp()
	for _, a := range []string{"audit_t", "audit_o"} {
		c.exec("CREATE TABLE " + c.q(a) + " (seq INT NOT NULL AUTO_INCREMENT PRIMARY KEY, op CHAR(1) NOT NULL, id INT NULL, old_id INT NULL, v VARCHAR(40) NULL, n BIGINT NULL, cnt INT NULL)")
	}
	// The seed wrote random values; the BEFORE UPDATE trigger counts from 0.
	c.exec("UPDATE " + c.q(f.table) + " SET touched = 0")
	c.exec("UPDATE " + c.q(c.oracle()) + " SET touched = 0")
	c.createAuditTriggers(f.table, "audit_t", "t")
	c.createAuditTriggers(c.oracle(), "audit_o", "o")
	if err := sb.WaitReplica(c.ctx); err != nil {
		t.Fatal(err)
	}
	before := c.triggerDefinitions(f.table)
	if len(before) != 6 {
		t.Fatalf("the table has %d triggers, want 6", len(before))
	}

	var writable []string
	for _, col := range alt.writable {
		if col != "touched" {
			writable = append(writable, col)
		}
	}
	load := c.generator(writable, alt.unique)
	stop := startLoad(c.ctx, load)
	defer func() { _ = stop() }()
	c.waitForLoad(load)
	auditedBefore := c.count("audit_t")
	start := load.Stats().Committed
	res := c.startDoppel().wait()
	during := load.Stats().Committed - start
	time.Sleep(loadAfter)
	if err := stop(); err != nil {
		t.Fatalf("the load: %v", err)
	}
	st := load.Stats()
	c.checkMigrated(res, st, during)

	if c.count("audit_t")-auditedBefore < 20 {
		t.Errorf("the triggers audited %d changes during the migration, want many", c.count("audit_t")-auditedBefore)
	}
	if a, o := c.auditRows("audit_t"), c.auditRows("audit_o"); !slices.Equal(a, o) {
		t.Errorf("the audit of the table differs from the oracle's (%d and %d groups); first differences: %s", len(a), len(o), firstDiff(a, o))
	}
	var wrongCount int
	if err := c.primary.QueryRowContext(c.ctx, "SELECT COUNT(*) FROM "+c.q("audit_t")+" WHERE op = 'i' AND cnt <> 1").Scan(&wrongCount); err != nil {
		t.Fatal(err)
	}
	if wrongCount > 0 {
		t.Errorf("%d inserts were audited with a count of their row other than 1: the trigger's body read another table than the one written", wrongCount)
	}
	after := c.triggerDefinitions(f.table)
	if !slices.Equal(before, after) {
		t.Errorf("the triggers differ after the migration:\nbefore:\n%s\nafter:\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
	left := c.queryStrings("SELECT CONCAT(TRIGGER_NAME, ' on ', EVENT_OBJECT_TABLE) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_TABLE NOT IN (?, ?)", c.schema, f.table, c.oracle())
	if len(left) > 0 {
		t.Errorf("triggers left on other tables: %v", left)
	}
	swapBlocked, restoreBlocked := blockedFigures(res.output)
	t.Logf("writers blocked: %s at the swap (twins created under the lock), %s while the names were restored; the load's slowest transaction took %v (p99 %v)",
		swapBlocked, restoreBlocked, st.Percentile(1), st.Percentile(0.99))
	if restoreBlocked == "" {
		t.Errorf("doppel did not say it restored the triggers' names:\n%s", tail(res.output))
	}
}

// createAuditTriggers creates the six triggers on tbl, writing audit, named with prefix.
func (c *caseRun) createAuditTriggers(tbl, audit, prefix string) {
	t := c.t
	conn, err := c.primary.Conn(c.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer dbconn.Discard(conn) // its session is changed below
	q, a := sqlbuild.QuoteIdent(tbl), sqlbuild.QuoteIdent(audit)
	name := func(s string) string { return sqlbuild.QuoteIdent(prefix + s) }
	for _, stmt := range []string{
		"SET NAMES utf8mb4",
		"SET SESSION sql_mode = 'ANSI_QUOTES,PIPES_AS_CONCAT,STRICT_TRANS_TABLES'",
		"CREATE TRIGGER " + name("`ai") + " AFTER INSERT ON " + q + " FOR EACH ROW INSERT INTO " + a + " (op, id, v, n, cnt) VALUES ('i', NEW.id, NEW.v || '🙂', NEW.n, (SELECT COUNT(*) FROM " + q + " WHERE id = NEW.id))",
		"SET SESSION sql_mode = DEFAULT",
		"CREATE TRIGGER " + name("_ai0") + " AFTER INSERT ON " + q + " FOR EACH ROW PRECEDES " + name("`ai") + " INSERT INTO " + a + " (op, id) VALUES ('j', NEW.id)",
		"CREATE TRIGGER " + name("_au") + " AFTER UPDATE ON " + q + " FOR EACH ROW INSERT INTO " + a + " (op, id, old_id, v, n) VALUES ('u', NEW.id, OLD.id, NEW.v, NEW.n)",
		"CREATE TRIGGER " + name("_ad"+strings.Repeat("x", 60)) + " AFTER DELETE ON " + q + " FOR EACH ROW INSERT INTO " + a + " (op, id, v, n) VALUES ('d', OLD.id, OLD.v, OLD.n)",
		"CREATE TRIGGER " + name("_bi") + " BEFORE INSERT ON " + q + " FOR EACH ROW SET NEW.touched = 1",
		"SET NAMES latin1",
		"CREATE TRIGGER " + name("_bu") + " BEFORE UPDATE ON " + q + " FOR EACH ROW SET NEW.touched = OLD.touched + LENGTH('\xe9')",
	} {
		if _, err := conn.ExecContext(c.ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// triggerDefinitions returns, for each trigger of tbl, its name, place and SHOW CREATE TRIGGER
// (but its creation time).
func (c *caseRun) triggerDefinitions(tbl string) []string {
	var out []string
	for _, name := range c.queryStrings("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? ORDER BY TRIGGER_NAME", c.schema, tbl) {
		place := c.queryStrings("SELECT CONCAT_WS(' ', ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ?", c.schema, name)
		out = append(out, name+" "+strings.Join(place, "")+" "+c.showCreateTrigger(name))
	}
	return out
}

// showCreateTrigger returns SHOW CREATE TRIGGER's columns but Created, each as name=value.
func (c *caseRun) showCreateTrigger(name string) string {
	t := c.t
	r, err := c.primary.QueryContext(c.ctx, "SHOW CREATE TRIGGER "+c.q(name))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cols, err := r.Columns()
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for j := range vals {
		dest[j] = &vals[j]
	}
	if !r.Next() {
		t.Fatalf("SHOW CREATE TRIGGER %s: nothing (%v)", name, r.Err())
	}
	if err := r.Scan(dest...); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for j, col := range cols {
		if col != "Created" {
			parts = append(parts, fmt.Sprintf("%s=%q", col, vals[j]))
		}
	}
	return strings.Join(parts, " ")
}

// queryStrings returns the one column of a query's rows.
func (c *caseRun) queryStrings(query string, args ...any) []string {
	t := c.t
	t.Helper()
	rows, err := c.primary.QueryContext(c.ctx, query, args...)
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
	return out
}

func (c *caseRun) count(tbl string) int {
	var n int
	if err := c.primary.QueryRowContext(c.ctx, "SELECT COUNT(*) FROM "+c.q(tbl)).Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// auditRows returns an audit table's rows as a multiset: each distinct row with its count.
func (c *caseRun) auditRows(tbl string) []string {
	return c.queryStrings("SELECT CONCAT_WS('|', op, IFNULL(id, 'N'), IFNULL(old_id, 'N'), IFNULL(HEX(v), 'N'), IFNULL(n, 'N'), IFNULL(cnt, 'N'), COUNT(*)) AS k FROM " +
		c.q(tbl) + " GROUP BY op, id, old_id, v, n, cnt ORDER BY k")
}

func firstDiff(a, b []string) string {
	var out []string
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			out = append(out, x+" ≠ "+y)
			if len(out) == 3 {
				break
			}
		}
	}
	return strings.Join(out, "; ")
}

var (
	swapBlockedRE    = regexp.MustCompile(`tables swapped\t\{"blocked": "([^"]+)"`)
	restoreBlockedRE = regexp.MustCompile(`trigger names restored\t\{"blocked": "([^"]+)"`)
)

// blockedFigures returns how long doppel says writers were blocked at the swap and at the names'
// restore.
func blockedFigures(output string) (swap, restore string) {
	if m := swapBlockedRE.FindStringSubmatch(output); m != nil {
		swap = m[1]
	}
	if m := restoreBlockedRE.FindStringSubmatch(output); m != nil {
		restore = m[1]
	}
	return swap, restore
}
