package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRevertWindowEndToEnd: doppel --revert-window migrates, waits in its revert window, and doppel
// ctl revert swaps the original back; the output gives both cut-overs' blocked time. Then a
// migration kept without a window is reverted later with --revert --old-table.
func TestRevertWindowEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dbName, db := newDatabase(ctx, t,
		"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_3000",
	)
	dir, err := os.MkdirTemp("", "dpl")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	socket := filepath.Join(dir, "s.sock")
	r := sb.Replica.Config()
	base := []string{
		"--host=" + r.Host, fmt.Sprintf("--port=%d", r.Port), "--user=root", "--database=" + dbName, "--table=t",
		"--execute", "--throttle-additional-flag-file=", "--serve-socket-file=" + socket,
	}
	ctl := func(command string) (string, int) {
		var out, errOut bytes.Buffer
		c := runCtl(ctx, []string{"--socket", socket, command}, &out, &errOut)
		return out.String() + errOut.String(), c
	}
	var stdout, stderr lockedBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, append(base, "--alter=ADD COLUMN note VARCHAR(10) NULL", "--revert-window=5m"), &stdout, &stderr)
	}()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if out, c := ctl("sup"); c == 0 && strings.Contains(out, "state revert-window") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no revert window; stderr:\n%s", stderr.String())
		}
	}
	if _, err := db.Exec("UPDATE t SET v = 'in the window' WHERE id = 7"); err != nil {
		t.Fatal(err)
	}
	if out, c := ctl("revert"); c != 0 {
		t.Fatalf("ctl revert: exit %d, %q", c, out)
	}
	if c := <-code; c != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", c, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "reverted in the revert window") || !strings.Contains(out, "at the migration's") {
		t.Errorf("stdout does not report the revert:\n%s", out)
	}
	var v string
	var cols int
	if err := db.QueryRow("SELECT v, (SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't') FROM t WHERE id = 7").Scan(&v, &cols); err != nil || v != "in the window" || cols != 2 {
		t.Errorf("after the revert: v %q, %d columns (%v); want the window's write in the original table", v, cols, err)
	}

	// Later: migrate, write, --revert --old-table.
	var migOut, migErr lockedBuffer
	if c := run(ctx, append(base, "--alter=ADD COLUMN other INT NULL"), &migOut, &migErr); c != 0 {
		t.Fatalf("migration: exit %d; stderr:\n%s", c, migErr.String())
	}
	if _, err := db.Exec("DELETE FROM t WHERE id = 8"); err != nil {
		t.Fatal(err)
	}
	var revOut, revErr lockedBuffer
	if c := run(ctx, append(base, "--revert", "--old-table=_t_del"), &revOut, &revErr); c != 0 {
		t.Fatalf("--revert: exit %d; stderr:\n%s", c, revErr.String())
	}
	if out := revOut.String(); !strings.Contains(out, "reverted `"+dbName+"`.`t`") || !strings.Contains(out, "the migrated table is kept as") {
		t.Errorf("stdout does not report the revert:\n%s", out)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM t WHERE id = 8").Scan(&n); err != nil || n != 0 {
		t.Errorf("the delete made after the migration is lost by the revert: %d %v", n, err)
	}
}
