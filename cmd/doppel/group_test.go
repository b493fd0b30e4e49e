package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/sandbox"
)

// TestGroupCommand migrates two tables with repeated --table/--alter pairs: both are altered and
// swapped in one RENAME, and the command says so.
func TestGroupCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbName, db := newDatabase(ctx, t,
		"CREATE TABLE parent (id INT PRIMARY KEY, v INT)", "CREATE TABLE child (id INT PRIMARY KEY, parent_id INT)",
		"INSERT INTO parent SELECT seq, seq FROM seq_1_to_500", "INSERT INTO child SELECT seq, seq FROM seq_1_to_500")
	if err := sandbox.InstallLockInfo(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	r := sb.Replica.Config()
	args := []string{
		"--host=" + r.Host, fmt.Sprintf("--port=%d", r.Port), "--user=root", "--database=" + dbName,
		"--table=parent", "--alter=ADD COLUMN version INT NOT NULL DEFAULT 1",
		"--table=child", "--alter=ADD COLUMN parent_version INT NULL",
		"--execute", "--throttle-additional-flag-file=", "--ok-to-drop-table",
	}
	var stdout, stderr lockedBuffer
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "2 tables swapped together in one RENAME") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	for table, column := range map[string]string{"parent": "version", "child": "parent_version"} {
		var got int
		if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?", dbName, table, column).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != 1 {
			t.Errorf("%s has no column %s", table, column)
		}
	}
}

func TestGroupFlagsInPairs(t *testing.T) {
	var stdout, stderr lockedBuffer
	code := run(context.Background(), []string{"--host=127.0.0.1", "--database=d", "--table=a", "--alter=ADD COLUMN x INT", "--table=b"}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "2 --table and 1 --alter given") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	fs, o := newFlagSet(&stderr)
	if err := parseFlags(fs, []string{"--database=d", "--table=a", "--alter=ADD COLUMN x INT", "--table=b", "--alter=DROP COLUMN y", "--serve-socket-file=/tmp/s.sock"}); err != nil {
		t.Fatal(err)
	}
	if o.table != "a" || o.alter != "ADD COLUMN x INT" || strings.Join(o.tables, ",") != "a,b" || len(o.alters) != 2 {
		t.Fatalf("options: table %q alter %q tables %q alters %q", o.table, o.alter, o.tables, o.alters)
	}
	cfg, err := o.config(fs)
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := o.groupConfigs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfgs[1].Table != "b" || cfgs[1].Alter != "DROP COLUMN y" || cfgs[0].SocketPath != "/tmp/s.sock" || cfgs[1].SocketPath != "/tmp/s.sock.b" {
		t.Errorf("configs: %+v / %+v", cfgs[0].SocketPath, cfgs[1].SocketPath)
	}
}
