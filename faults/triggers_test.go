package faults

import (
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTriggersKilledDuringCutOver migrates a table with AFTER INSERT, UPDATE and DELETE triggers
// (--include-triggers) that audit every change, the oracle carrying the same triggers writing its
// own audit, and kills doppel where the triggers are between two homes:
//   - cutover:prepared: the twins exist on the ghost, the original is locked, nothing is renamed.
//     The original keeps its triggers; --resume drops the twins before it replays anything into
//     the ghost, and finishes with the names restored.
//   - triggers:restore: the tables are swapped, the new table has the twins, the old one the
//     originals. Every write fires the twins; the next run refuses the table and says how to give
//     the triggers their names back.
//
// In both cases every change made is audited exactly once: the audits equal the oracle's.
func TestTriggersKilledDuringCutOver(t *testing.T) {
	for _, step := range []string{"cutover:prepared", "triggers:restore"} {
		t.Run(strings.ReplaceAll(step, ":", "-"), func(t *testing.T) {
			f := newFixtureWith(t, 5000, createAuditTriggers)
			p := start(t, []string{"DOPPEL_FAILPOINT=" + step}, f.args("--include-triggers")...)
			p.waitLine(t, "failpoint "+step+" reached", 2*time.Minute)
			p.kill(t)
			time.Sleep(500 * time.Millisecond) // the server notices the dead sessions
			f.serving()
			// serving wrote one row of t, which the triggers audit: the oracle gets the same write.
			if _, err := f.db.Exec("UPDATE oracle SET k = k WHERE id = 1"); err != nil {
				t.Fatal(err)
			}
			switch step {
			case "cutover:prepared":
				if f.hasExtra() {
					t.Fatal("swapped although doppel died before the point of no return")
				}
				if got := f.triggersOn("_t_gho"); len(got) != 3 {
					t.Fatalf("the ghost has triggers %v, want the three twins", got)
				}
				out := f.run("--resume", "--include-triggers")
				if !strings.Contains(out, "dropped the triggers an earlier run left on the ghost table") {
					t.Errorf("the resumed run did not drop the twins first:\n%s", out)
				}
				if got, want := f.triggersOn("t"), []string{"t_ad", "t_ai", "t_au"}; !slices.Equal(got, want) {
					t.Errorf("the migrated table has triggers %v, want %v", got, want)
				}
			case "triggers:restore":
				if !f.hasExtra() {
					t.Fatal("not swapped although doppel died after the swap")
				}
				if got, want := f.triggersOn("t"), []string{"t_ad_gho", "t_ai_gho", "t_au_gho"}; !slices.Equal(got, want) {
					t.Errorf("the migrated table has triggers %v, want the twins %v", got, want)
				}
				again := start(t, nil, f.args("--include-triggers")...)
				if err := again.wait(t, time.Minute); err == nil {
					t.Fatal("the next run migrated a table whose triggers have temporary names")
				}
				if !strings.Contains(again.out(), "ends with the --trigger-suffix") || !strings.Contains(again.out(), "LOCK TABLES") {
					t.Errorf("the next run does not say how to name the triggers back:\n%s", again.out())
				}
			}
			f.verify()
			if a, o := f.audit("audit_t"), f.audit("audit_o"); !slices.Equal(a, o) {
				var only []string
				for _, r := range a {
					if !slices.Contains(o, r) {
						only = append(only, "table: "+r)
					}
				}
				for _, r := range o {
					if !slices.Contains(a, r) {
						only = append(only, "oracle: "+r)
					}
				}
				t.Errorf("the audit of the table differs from the oracle's (%d and %d distinct rows): %v", len(a), len(o), only)
			}
		})
	}
}

// createAuditTriggers gives t and the oracle the same three triggers, each writing its own audit.
func createAuditTriggers(t *testing.T, db *sql.DB) {
	for _, q := range []string{
		"CREATE TABLE audit_t (seq INT AUTO_INCREMENT PRIMARY KEY, op CHAR(1), id INT, k INT)",
		"CREATE TABLE audit_o LIKE audit_t",
		"CREATE TRIGGER t_ai AFTER INSERT ON t FOR EACH ROW INSERT INTO audit_t (op, id, k) VALUES ('i', NEW.id, NEW.k)",
		"CREATE TRIGGER t_au AFTER UPDATE ON t FOR EACH ROW INSERT INTO audit_t (op, id, k) VALUES ('u', NEW.id, NEW.k)",
		"CREATE TRIGGER t_ad AFTER DELETE ON t FOR EACH ROW INSERT INTO audit_t (op, id, k) VALUES ('d', OLD.id, OLD.k)",
		"CREATE TRIGGER o_ai AFTER INSERT ON oracle FOR EACH ROW INSERT INTO audit_o (op, id, k) VALUES ('i', NEW.id, NEW.k)",
		"CREATE TRIGGER o_au AFTER UPDATE ON oracle FOR EACH ROW INSERT INTO audit_o (op, id, k) VALUES ('u', NEW.id, NEW.k)",
		"CREATE TRIGGER o_ad AFTER DELETE ON oracle FOR EACH ROW INSERT INTO audit_o (op, id, k) VALUES ('d', OLD.id, OLD.k)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func (f *fixture) triggersOn(table string) []string {
	f.t.Helper()
	return f.strings("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? ORDER BY TRIGGER_NAME", f.schema, table)
}

// audit returns an audit table's rows as a multiset: each distinct row with its count.
func (f *fixture) audit(table string) []string {
	f.t.Helper()
	return f.strings("SELECT CONCAT_WS('|', op, id, IFNULL(k, 'N'), COUNT(*)) AS r FROM " + table + " GROUP BY op, id, k ORDER BY r")
}

func (f *fixture) strings(query string, args ...any) []string {
	f.t.Helper()
	rows, err := f.db.Query(query, args...)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	return out
}
