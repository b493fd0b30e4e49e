package localtests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/loadgen"
)

// TestCutOverUnderHeavyWrites migrates one table several times in a row while many sessions write
// to it as fast as they can, so that many writes queue on the table's lock at every cut-over. Each
// of them must land in the new table: none may run on the old table after the ghost has caught up.
// The load goes on across all the migrations; the oracle gets the same ALTERs at the end.
func TestCutOverUnderHeavyWrites(t *testing.T) {
	const migrations = 8
	bin := buildDoppel(t)
	// The ALTER changes with each migration: f.args is set in the loop.
	f := newFixture("cut-over-under-heavy-writes", "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT NULL, w VARCHAR(20) NULL)", "")
	c := newCase(t, bin, f, 3100)
	c.runCreateSQL()
	c.exec("CREATE TABLE " + c.q(c.oracle()) + " LIKE " + c.q(f.table))
	if err := c.generator(nil, nil).Seed(c.ctx, 2000); err != nil {
		t.Fatal(err)
	}
	load, err := loadgen.New(c.ctx, loadgen.Config{DB: c.primary, Schema: c.schema, Table: f.table, Oracle: c.oracle(), Workers: 16})
	if err != nil {
		t.Fatal(err)
	}
	stop := startLoad(c.ctx, load)
	defer func() { _ = stop() }() // on a t.Fatal below; the load's error is then moot
	c.waitForLoad(load)

	var alters []string
	for i := range migrations {
		alter := fmt.Sprintf("ADD COLUMN c%d INT NULL", i)
		alters = append(alters, alter)
		// On the primary: the replica adds nothing here but time.
		f.args = []string{"--alter=" + alter, "--allow-on-master", "--ok-to-drop-table"}
		res := c.doppel()
		if res.code != 0 {
			t.Fatalf("migration %d exited with %d:\n%s", i+1, res.code, tail(res.output))
		}
	}
	time.Sleep(loadAfter)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	st := load.Stats()
	t.Logf("load: %d committed, %d conflicts, p99 %v", st.Committed, st.Conflicts, st.Percentile(0.99))
	if st.Failed > 0 || st.Divergent > 0 {
		t.Errorf("load: %d transactions failed, %d saw the table and the oracle differ: %s", st.Failed, st.Divergent, strings.Join(st.Errors, " | "))
	}
	c.exec("ALTER TABLE " + c.q(c.oracle()) + " " + strings.Join(alters, ", "))
	if err := loadgen.Compare(c.ctx, c.primary, c.schema, f.table, c.oracle(), []string{"id"}); err != nil {
		t.Errorf("writes were lost across the cut-overs: %v", err)
	}
}
