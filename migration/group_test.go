package migration

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sandbox"
)

// groupTables creates the sysbench-shaped tables names in one schema, each with rows and an
// oracle (name_oracle), installs the metadata_lock_info plugin a group's swap needs on MariaDB,
// and starts the random write load on every table; stop ends it and returns the statistics.
//
// With withFK, child gets a column parent_id referencing parent (ON DELETE SET NULL), set for every
// row, and child_oracle the same referencing parent_oracle (ON UPDATE CASCADE too): the parent's deletes reach both alike.
// The load never writes parent_id.
func groupTables(t *testing.T, rows int, withFK bool, names ...string) (schema string, db *sql.DB, stop func() []loadgen.Stats) {
	t.Helper()
	ctx := context.Background()
	schema = sb.NewDatabase(t)
	var err error
	if db, err = dbconn.Open(sb.Primary.Config(), schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	installLockInfo(t, db)
	var gens []*loadgen.Generator
	for _, name := range names {
		if err := loadgen.CreateSysbench(ctx, db, sb.Flavor.Name(), name, rows); err != nil {
			t.Fatal(err)
		}
		exec(t, db, "CREATE TABLE "+name+"_oracle LIKE "+name, "INSERT INTO "+name+"_oracle SELECT * FROM "+name)
	}
	var columns map[string][]string
	if withFK {
		exec(t, db,
			"ALTER TABLE child ADD COLUMN parent_id INT NULL, ADD CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE SET NULL ON UPDATE CASCADE",
			"ALTER TABLE child_oracle ADD COLUMN parent_id INT NULL, ADD CONSTRAINT fk_parent_oracle FOREIGN KEY (parent_id) REFERENCES parent_oracle (id) ON DELETE SET NULL ON UPDATE CASCADE",
			"UPDATE child SET parent_id = id", "UPDATE child_oracle SET parent_id = id")
		columns = map[string][]string{"child": {"k", "c", "pad"}}
	}
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		gen, err := loadgen.New(ctx, loadgen.Config{DB: db, Schema: schema, Table: name, Oracle: name + "_oracle", Columns: columns[name], Workers: 2, Rate: 150})
		if err != nil {
			t.Fatal(err)
		}
		gens = append(gens, gen)
	}
	loadCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, len(gens))
	for _, g := range gens {
		go func() { done <- g.Run(loadCtx) }()
	}
	stopped := false
	stop = func() []loadgen.Stats {
		if !stopped {
			stopped = true
			cancel()
			for range gens {
				if err := <-done; err != nil {
					t.Errorf("the write load: %v", err)
				}
			}
		}
		var st []loadgen.Stats
		for _, g := range gens {
			st = append(st, g.Stats())
		}
		return st
	}
	t.Cleanup(func() { stop() })
	return schema, db, stop
}

// installLockInfo installs MariaDB's metadata_lock_info plugin, which a group's swap needs.
func installLockInfo(t *testing.T, db *sql.DB) {
	t.Helper()
	if err := sandbox.InstallLockInfo(context.Background(), db); err != nil {
		t.Fatal(err)
	}
}

func groupConfigs(t *testing.T, schema string, alters map[string]string, names ...string) []Config {
	var cfgs []Config
	for _, name := range names {
		c := testConfig(schema, alters[name])
		c.Table = name
		c.DefaultRetries = 10
		c.Logger = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).With(zap.String("table", name))
		cfgs = append(cfgs, c)
	}
	return cfgs
}

// checkLoad checks the load ran cleanly and every table equals its oracle.
func checkLoad(t *testing.T, schema string, db *sql.DB, names []string, stats []loadgen.Stats) {
	t.Helper()
	for i, st := range stats {
		if st.Failed > 0 || st.Divergent > 0 {
			t.Errorf("load on %s: %d transactions failed, %d saw the table and the oracle differ: %s", names[i], st.Failed, st.Divergent, strings.Join(st.Errors, " | "))
		}
		t.Logf("load on %s: %d transactions committed", names[i], st.Committed)
	}
	for _, name := range names {
		if err := loadgen.Compare(context.Background(), db, schema, name+"_oracle", name, []string{"id"}); err != nil {
			t.Errorf("%s differs from its oracle: %v", name, err)
		}
	}
}

// TestGroupUnderLoad migrates a parent and a child table (no foreign key) together under the
// random write load on both: both are swapped in one RENAME, each equal to its oracle after.
func TestGroupUnderLoad(t *testing.T) {
	names := []string{"parent", "child"}
	schema, db, stop := groupTables(t, 20000, false, names...)
	cfgs := groupConfigs(t, schema, map[string]string{
		"parent": "ADD COLUMN version INT NOT NULL DEFAULT 1, ADD INDEX (k)",
		"child":  "ADD COLUMN parent_version INT NULL, MODIFY c VARCHAR(130) NOT NULL DEFAULT ''",
	}, names...)
	time.Sleep(300 * time.Millisecond)
	res, err := RunGroup(context.Background(), cfgs)
	time.Sleep(300 * time.Millisecond)
	stats := stop()
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r == nil || r.CutOver.Blocked <= 0 || r.CutOver.Blocked > 4*time.Second {
			t.Fatalf("result %d: %+v", i, r)
		}
		t.Logf("%s: %d rows copied, %d changes replayed, cut-over blocked the tables %s (attempts %d)",
			names[i], r.RowsCopied, r.ChangesApplied, r.CutOver.Blocked, r.CutOver.Attempts)
	}
	if res[0].CutOver.Blocked != res[1].CutOver.Blocked {
		t.Errorf("the tables were not swapped in one cut-over: %s and %s", res[0].CutOver.Blocked, res[1].CutOver.Blocked)
	}
	if !strings.Contains(showCreate(t, db, "parent"), "`version`") || !strings.Contains(showCreate(t, db, "child"), "`parent_version`") {
		t.Error("the altered tables are not in place")
	}
	checkLoad(t, schema, db, names, stats)
	// The old tables are kept, with their revert records (_T_ghr), as after any swap.
	if got := tableList(t, db); got != "_child_del,_child_ghr,_parent_del,_parent_ghr,child,child_oracle,parent,parent_oracle" {
		t.Errorf("tables %s", got)
	}
}

// TestGroupFailsBeforeRename stops the group's cut-over at each step before the RENAME completes:
// both originals stay in place, unaltered and equal to their oracles; the ghosts are kept for
// --resume, as after any stopped run.
func TestGroupFailsBeforeRename(t *testing.T) {
	for _, step := range []string{"cutover:locked", "cutover:prepared", "cutover:rename-queued", "cutover:released"} {
		t.Run(step, func(t *testing.T) {
			names := []string{"parent", "child"}
			schema, db, stop := groupTables(t, 5000, true, names...)
			cfgs := groupConfigs(t, schema, map[string]string{
				"parent": "ADD COLUMN version INT NOT NULL DEFAULT 1",
				"child":  "ADD COLUMN parent_version INT NULL",
			}, names...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfgs[0].Failpoint = func(s string) {
				if s == step {
					cancel()
				}
			}
			_, err := RunGroup(ctx, cfgs)
			stats := stop()
			if err == nil {
				t.Fatal("the group swapped although it was stopped")
			}
			t.Logf("error: %v", err)
			for _, name := range names {
				if ddl := showCreate(t, db, name); strings.Contains(ddl, "version") {
					t.Errorf("%s was altered:\n%s", name, ddl)
				}
			}
			checkLoad(t, schema, db, names, stats)
			// The kept ghost of the child references the parent again, as the child does.
			refs := foreignKeyRefs(t, db, schema)
			if got := strings.Join(refs, ","); got != "_child_gho->parent,child->parent" {
				t.Errorf("foreign keys %s", got)
			}
			if got := tableList(t, db); got != "_child_ghc,_child_gho,_parent_ghc,_parent_gho,child,child_oracle,parent,parent_oracle" {
				t.Errorf("tables %s", got)
			}
		})
	}
}

// foreignKeyRefs lists the foreign keys of child and _child_gho as "table->referenced", sorted.
func foreignKeyRefs(t *testing.T, db *sql.DB, schema string) []string {
	t.Helper()
	rows, err := db.Query("SELECT TABLE_NAME, REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME IN ('child', '_child_gho')", schema)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var refs []string
	for rows.Next() {
		var tbl, ref string
		if err := rows.Scan(&tbl, &ref); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, tbl+"->"+ref)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(refs)
	return refs
}

// TestGroupForeignKey migrates a parent and its child (child.parent_id references parent.id, ON
// DELETE SET NULL) together under the load on both: after the one RENAME the new child references
// the new parent, the parent's deletes reach it, and both equal their oracles.
func TestGroupForeignKey(t *testing.T) {
	names := []string{"parent", "child"}
	schema, db, stop := groupTables(t, 10000, true, names...)
	cfgs := groupConfigs(t, schema, map[string]string{
		"parent": "ADD COLUMN version INT NOT NULL DEFAULT 1",
		"child":  "ADD COLUMN parent_version INT NULL, ADD INDEX (k, parent_id)",
	}, names...)
	time.Sleep(300 * time.Millisecond)
	res, err := RunGroup(context.Background(), cfgs)
	time.Sleep(300 * time.Millisecond)
	stats := stop()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cut-over blocked the tables %s (attempts %d)", res[0].CutOver.Blocked, res[0].CutOver.Attempts)
	checkLoad(t, schema, db, names, stats)
	var ref string
	if err := db.QueryRow("SELECT REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = 'child'", schema).Scan(&ref); err != nil {
		t.Fatal(err)
	}
	if ref != "parent" {
		t.Errorf("the new child references %s, want parent", ref)
	}
	// The parent's deletes reach the new child.
	var id int
	if err := db.QueryRow("SELECT parent_id FROM child WHERE parent_id IS NOT NULL LIMIT 1").Scan(&id); err != nil {
		t.Fatal(err)
	}
	exec(t, db, fmt.Sprintf("DELETE FROM parent WHERE id = %d", id))
	var left int
	if err := db.QueryRow("SELECT COUNT(*) FROM child WHERE parent_id = ?", id).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("deleting parent %d left %d child rows referencing it", id, left)
	}
	if !strings.Contains(showCreate(t, db, "parent"), "`version`") || !strings.Contains(showCreate(t, db, "child"), "`parent_version`") {
		t.Error("the altered tables are not in place")
	}
}

func TestCheckGroup(t *testing.T) {
	base := testConfig("db", "ADD COLUMN x INT")
	for _, tc := range []struct {
		name string
		edit func(c []Config)
		want string
	}{
		{"one table", func(c []Config) {}, ""},
		{"same table twice", func(c []Config) { c[1].Table = "t" }, "given twice"},
		{"two databases", func(c []Config) { c[1].Database = "other" }, "one database"},
		{"revert", func(c []Config) { c[1].Revert, c[1].OldTable = true, "_t_del" }, "--revert"},
		{"instant", func(c []Config) { c[0].AttemptInstantDDL = true }, "--attempt-instant-ddl"},
		{"no room for the streams' server ids", func(c []Config) { c[0].ServerID, c[1].ServerID = MaxServerID, MaxServerID }, "no room"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base, base
			b.Table = "u"
			cfgs := []Config{a, b}
			tc.edit(cfgs)
			err := checkGroup(cfgs)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
	if err := checkGroup([]Config{base}); err == nil {
		t.Error("a group of one table accepted")
	}
	// Each table's binlog stream gets its own server id: one shared makes the server drop one
	// stream whenever the other connects (error 4052), and they take turns reconnecting.
	a, b, c := base, base, base
	b.Table, c.Table = "u", "v"
	cfgs := []Config{a, b, c}
	if err := checkGroup(cfgs); err != nil {
		t.Fatal(err)
	}
	if got := []uint32{cfgs[0].ServerID, cfgs[1].ServerID, cfgs[2].ServerID}; got[1] != got[0]+1 || got[2] != got[0]+2 {
		t.Errorf("the group's server ids are %v, want consecutive ones", got)
	}
}

// TestGroupResume interrupts a group in the middle of its copies and runs it again with --resume:
// each table continues from its checkpoint, both are swapped together, equal to their oracles.
func TestGroupResume(t *testing.T) {
	names := []string{"parent", "child"}
	schema, db, stop := groupTables(t, 40000, false, names...)
	alters := map[string]string{"parent": "ADD COLUMN version INT NOT NULL DEFAULT 1", "child": "ADD COLUMN parent_version INT NULL"}
	cfgs := groupConfigs(t, schema, alters, names...)
	for i := range cfgs {
		cfgs[i].ChunkSize, cfgs[i].ChunkTarget = 500, 0
	}
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	go func() {
		for ctx.Err() == nil {
			var n int64
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM _child_gho").Scan(&n); err == nil && n > 10000 {
				interrupt()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if _, err := RunGroup(ctx, cfgs); err == nil {
		t.Fatal("the interrupted group swapped")
	}
	cfgs = groupConfigs(t, schema, alters, names...)
	for i := range cfgs {
		cfgs[i].Resume = true
	}
	res, err := RunGroup(context.Background(), cfgs)
	stats := stop()
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.RowsCopied >= 40000 {
			t.Errorf("%s: %d rows copied by the resumed run: it did not continue from its checkpoint", names[i], r.RowsCopied)
		}
		t.Logf("%s: the resumed run copied %d rows", names[i], r.RowsCopied)
	}
	checkLoad(t, schema, db, names, stats)
	if !strings.Contains(showCreate(t, db, "parent"), "`version`") || !strings.Contains(showCreate(t, db, "child"), "`parent_version`") {
		t.Error("the altered tables are not in place")
	}
}
