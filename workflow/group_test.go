package workflow

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sandbox"
)

// TestGroupedOnlineSteps: a migration whose two ALTERs of a parent and its child run online is
// applied as one group (both tables swapped in one RENAME) under the write load on the child, the
// history records both statements online; its down, two online ALTERs again, reverts both as one
// group.
func TestGroupedOnlineSteps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	database, db := sb.NewDB(t,
		"CREATE TABLE parent (id INT NOT NULL PRIMARY KEY, v INT NOT NULL)",
		"CREATE TABLE child (id INT NOT NULL PRIMARY KEY, parent_id INT NULL, note VARCHAR(30) NOT NULL DEFAULT '', "+
			"FOREIGN KEY (parent_id) REFERENCES parent (id))",
		"CREATE TABLE child_oracle LIKE child",
		"INSERT INTO parent SELECT seq, seq FROM seq_1_to_20000",
		"INSERT INTO child SELECT seq, seq, CONCAT('n', seq) FROM seq_1_to_20000",
		"INSERT INTO child_oracle SELECT * FROM child",
	)
	if err := sandbox.InstallLockInfo(ctx, db); err != nil {
		t.Fatal(err)
	}
	// The load never writes parent_id: the oracle has no parent.
	load, err := loadgen.New(ctx, loadgen.Config{DB: db, Schema: database, Table: "child", Oracle: "child_oracle", Columns: []string{"note"}, Workers: 2, Rate: 150})
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
	dir := writeDir(t, map[string]string{
		"0001_expand.up.sql":   "ALTER TABLE parent ADD COLUMN version INT NOT NULL DEFAULT 1, ADD INDEX (v);\nALTER TABLE child ADD COLUMN parent_version INT NULL, ADD INDEX (note);\n",
		"0001_expand.down.sql": "ALTER TABLE child DROP COLUMN parent_version, DROP INDEX note;\nALTER TABLE parent DROP COLUMN version, DROP INDEX v;\n",
	})
	eng := &engine{database: database}
	configure := func(c *Config) { c.Online, c.OnlineThreshold = eng, 1 }
	w, out := open(ctx, t, database, dir, configure)
	p, err := w.PlanUp(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var report strings.Builder
	if err := p.WriteText(&report); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(report.String(), "1 to 2: online ALTERs of different tables, copied side by side and swapped together in one RENAME") {
		t.Errorf("the plan does not say the ALTERs are swapped together:\n%s", report.String())
	}
	if _, err := w.Up(ctx, 0); err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	if got := strings.Join(eng.calls, ", "); got != "group parent,child" {
		t.Errorf("online engine calls: %s, want one group", got)
	}
	if !strings.Contains(out.String(), "2 tables swapped together") {
		t.Errorf("up must say the tables were swapped together:\n%s", out)
	}
	rows, err := w.hist.read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || len(rows[0].Statements) != 2 || rows[0].Statements[0].How != HowOnline || rows[0].Statements[1].How != HowOnline || !rows[0].Success {
		t.Fatalf("history %+v", rows)
	}
	for table, column := range map[string]string{"parent": "version", "child": "parent_version"} {
		var got int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?", database, table, column).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != 1 {
			t.Errorf("%s lacks %s after up", table, column)
		}
	}
	var ref string
	if err := db.QueryRowContext(ctx, "SELECT REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = 'child'", database).Scan(&ref); err != nil {
		t.Fatal(err)
	}
	if ref != "parent" {
		t.Errorf("the new child references %s, want parent", ref)
	}

	w, out = open(ctx, t, database, dir, configure)
	if _, err := w.Down(ctx, 0); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	if got := strings.Join(eng.calls, ", "); got != "group parent,child, group child,parent" {
		t.Errorf("online engine calls: %s, want two groups", got)
	}
	stopLoad()
	if err := <-loadDone; err != nil {
		t.Errorf("the write load: %v", err)
	}
	loadDone <- nil
	if st := load.Stats(); st.Failed > 0 || st.Divergent > 0 {
		t.Errorf("load: %d failed, %d divergent: %s", st.Failed, st.Divergent, strings.Join(st.Errors, " | "))
	}
	if err := loadgen.Compare(ctx, db, database, "child_oracle", "child", []string{"id"}); err != nil {
		t.Errorf("child differs from its oracle: %v", err)
	}
	var cols string
	if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT COALESCE(GROUP_CONCAT(TABLE_NAME, '.', COLUMN_NAME), '') FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s' AND TABLE_NAME IN ('parent', 'child') AND COLUMN_NAME IN ('version', 'parent_version')", database)).Scan(&cols); err != nil {
		t.Fatal(err)
	}
	if cols != "" {
		t.Errorf("added columns left after down: %s", cols)
	}
}
